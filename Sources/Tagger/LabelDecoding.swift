import Foundation
import SeqEval

extension LabelTransitions {
    /// The label ids of a sentence's words from their label probabilities ([W, NL] row-major): the best
    /// well-formed sequence by summed log-probability (`viterbi`), or each word's most probable label
    /// (`argmax`). The Tagger and training's evaluation both decode through here.
    public func decode(probabilities: [Double], _ decoding: Decoding) throws -> [Int] {
        switch decoding {
        case .viterbi: try viterbi(probabilities.map { log(max($0, Double.leastNormalMagnitude)) })
        case .argmax: try argmax(probabilities)
        }
    }

    /// Whether a sequence of any length can be decoded: some label may open, close and follow itself (`O`,
    /// or a single-word tag), so Viterbi always finds a well-formed sequence.
    public var decodesEveryLength: Bool {
        (0..<count).contains { canStart[$0] && canEnd[$0] && canFollow[$0 * count + $0] }
    }
}

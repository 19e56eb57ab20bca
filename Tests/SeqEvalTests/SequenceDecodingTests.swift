import Foundation
import SeqEval
import Testing

private func tags(_ text: String) -> [String] { text.split(separator: " ").map(String.init) }

/// The labels of `scheme` for two entity types, `O` first.
private func labels(_ scheme: TaggingScheme, types: [String] = ["A", "B"]) -> [String] {
    let prefixes: [String]
    switch scheme {
    case .iob1, .iob2: prefixes = ["B", "I"]
    case .ioe1, .ioe2: prefixes = ["I", "E"]
    case .iobes: prefixes = ["B", "I", "E", "S"]
    case .bilou: prefixes = ["B", "I", "L", "U"]
    }
    return ["O"] + types.flatMap { type in prefixes.map { "\($0)-\(type)" } }
}

/// Every sequence of `length` ids below `count`, in lexicographic order.
private func allSequences(count: Int, length: Int) -> [[Int]] {
    var result: [[Int]] = [[]]
    for _ in 0..<length { result = result.flatMap { prefix in (0..<count).map { prefix + [$0] } } }
    return result
}

private func total(_ path: [Int], _ scores: [Double], _ n: Int) -> Double {
    path.enumerated().reduce(0) { $0 + scores[$1.offset * n + $1.element] }
}

@Suite("valid-sequence decoding")
struct SequenceDecodingTests {
    /// Well formed means what the scheme's own writer produces: reading the entities back and writing them
    /// again gives the same tags.
    @Test(arguments: TaggingScheme.allCases)
    func transitionsAllowExactlyTheSequencesTheSchemeWrites(scheme: TaggingScheme) throws {
        let names = labels(scheme)
        let transitions = try LabelTransitions(labels: names, scheme: scheme)
        for length in 1...4 {
            for ids in allSequences(count: names.count, length: length) {
                let sequence = ids.map { names[$0] }
                let canonical = convert(sequence, from: scheme, to: scheme) == sequence
                #expect(transitions.isWellFormed(ids) == canonical, "\(scheme): \(sequence)")
            }
        }
    }

    @Test(arguments: TaggingScheme.allCases)
    func viterbiFindsTheBestWellFormedSequenceOnSmallRandomCases(scheme: TaggingScheme) throws {
        let names = labels(scheme)
        let n = names.count
        let transitions = try LabelTransitions(labels: names, scheme: scheme)
        var random = SeededGenerator(state: 42)
        for length in 1...4 {
            let candidates = allSequences(count: n, length: length).filter(transitions.isWellFormed)
            for _ in 0..<25 {
                let scores = (0..<(length * n)).map { _ in log(Double.random(in: 0.001...1, using: &random)) }
                let decoded = try transitions.viterbi(scores)
                #expect(transitions.isWellFormed(decoded), "\(scheme): \(decoded.map { names[$0] })")
                let best = candidates.max { total($0, scores, n) < total($1, scores, n) }!
                #expect(decoded == best, "\(scheme): \(decoded.map { names[$0] }) vs brute force \(best.map { names[$0] })")
            }
        }
    }

    @Test(arguments: TaggingScheme.allCases)
    func viterbiOutputIsAlwaysWellFormedOnLongSequences(scheme: TaggingScheme) throws {
        let names = labels(scheme, types: ["PER", "LOC", "ORG"])
        let transitions = try LabelTransitions(labels: names, scheme: scheme)
        var random = SeededGenerator(state: 7)
        var argmaxIllFormed = 0
        for _ in 0..<50 {
            let length = Int.random(in: 1...40, using: &random)
            let scores = (0..<(length * names.count)).map { _ in log(Double.random(in: 0.001...1, using: &random)) }
            #expect(transitions.isWellFormed(try transitions.viterbi(scores)))
            if !transitions.isWellFormed(try transitions.argmax(scores)) { argmaxIllFormed += 1 }
        }
        #expect(argmaxIllFormed > 0, "the random scores should make argmax go wrong somewhere")
    }

    @Test(arguments: TaggingScheme.allCases)
    func viterbiEqualsArgmaxWhenArgmaxIsWellFormed(scheme: TaggingScheme) throws {
        let names = labels(scheme)
        let n = names.count
        let transitions = try LabelTransitions(labels: names, scheme: scheme)
        var random = SeededGenerator(state: 3)
        var checked = 0
        for _ in 0..<400 {
            let length = Int.random(in: 1...8, using: &random)
            // A peaked distribution per word, so that argmax is often well formed.
            let scores = (0..<(length * n)).map { _ in log(pow(Double.random(in: 0.001...1, using: &random), 6)) }
            let argmax = try transitions.argmax(scores)
            guard transitions.isWellFormed(argmax) else { continue }
            checked += 1
            #expect(try transitions.viterbi(scores) == argmax)
        }
        #expect(checked >= 20, "only \(checked) well-formed argmax sequences were drawn")
    }

    @Test func viterbiRepairsAnInsideAfterOutsideInIOB2() throws {
        let names = ["O", "B-PER", "I-PER"]
        let transitions = try LabelTransitions(labels: names, scheme: .iob2)
        // Word 2 prefers I-PER after a confident O: argmax gives O I-PER, Viterbi a well-formed pair.
        let p: [[Double]] = [[0.9, 0.05, 0.05], [0.1, 0.3, 0.6]]
        let scores = p.flatMap { $0.map(log) }
        #expect(try transitions.argmax(scores) == [0, 2])
        #expect(try transitions.viterbi(scores) == [0, 1])
    }

    @Test func withoutASchemeEverySequenceIsAllowedAndViterbiIsArgmax() throws {
        let transitions = try LabelTransitions(labels: ["NN", "VB", "DT"], scheme: nil)
        #expect(transitions.isWellFormed([2, 0, 1, 1]))
        let scores = [0.1, 0.7, 0.2, 0.5, 0.4, 0.1].map(log)
        #expect(try transitions.viterbi(scores) == transitions.argmax(scores))
    }

    @Test func labelsOutsideTheSchemeAreAnErrorNamingTheLabel() {
        #expect(throws: DecodingError.labelOutsideScheme(label: "S-PER", scheme: .iob2)) {
            try LabelTransitions(labels: ["O", "B-PER", "S-PER"], scheme: .iob2)
        }
    }

    @Test func aLabelSetWithNoWellFormedSequenceIsAnError() throws {
        // IOBES without O or S-: a single word cannot be labelled.
        let transitions = try LabelTransitions(labels: ["B-PER", "E-PER"], scheme: .iobes)
        #expect(throws: DecodingError.self) { try transitions.viterbi([0.5, 0.5].map(log)) }
        #expect(try transitions.viterbi([0.5, 0.5, 0.5, 0.5].map(log)) == [0, 1])
    }

    @Test func scoresThatAreNotWholeRowsAreAnError() throws {
        let transitions = try LabelTransitions(labels: ["O", "B-PER", "I-PER"], scheme: .iob2)
        #expect(throws: DecodingError.scoreShape(values: 4, labelCount: 3)) { try transitions.viterbi([0, 0, 0, 0]) }
        #expect(try transitions.viterbi([]) == [])
    }

    @Test func schemeIsInferredFromTheLabelSet() {
        #expect(TaggingScheme.inferred(labels: ["O", "B-PER", "I-PER", "B-LOC"]) == .iob2)
        #expect(TaggingScheme.inferred(labels: ["O", "I-PER", "I-LOC"]) == .iob1)
        #expect(TaggingScheme.inferred(labels: ["O", "I-PER", "E-PER"]) == .ioe2)
        #expect(TaggingScheme.inferred(labels: ["O", "B-PER", "I-PER", "E-PER", "S-PER"]) == .iobes)
        #expect(TaggingScheme.inferred(labels: ["O", "B-PER", "L-PER", "U-LOC"]) == .bilou)
        #expect(TaggingScheme.inferred(labels: ["O", "B-creative-work", "I-creative-work"]) == .iob2)
        #expect(TaggingScheme.inferred(labels: ["NN", "VB"]) == nil)
        #expect(TaggingScheme.inferred(labels: ["O", "B-PER", "L-PER", "E-PER"]) == nil)
        #expect(TaggingScheme.inferred(labels: ["O"]) == nil)
    }

    @Test func dataWithInsideAfterOutsideIsInferredAsIOB1() {
        let iob1 = [tags("I-ORG O I-MISC O"), tags("I-PER I-PER"), tags("O I-LOC B-LOC")]
        let iob2 = [tags("B-ORG O B-MISC O"), tags("B-PER I-PER")]
        let labels = ["O", "B-LOC", "I-LOC", "B-MISC", "I-MISC", "B-ORG", "I-ORG", "B-PER", "I-PER"]
        #expect(TaggingScheme.inferred(labels: labels, sequences: iob1) == .iob1)
        #expect(TaggingScheme.inferred(labels: labels, sequences: iob2) == .iob2)
        #expect(TaggingScheme.inferred(labels: ["O", "I-PER", "E-PER"], sequences: [tags("E-PER I-PER")]) == .ioe1)
    }
}

import Datasets
import Foundation

/// Per word, the probability of every label, gathered from the sub-words of the windows that own the word and
/// combined as transformers' pipeline combines them (`aggregate_word`):
/// - `first`: the first sub-word's probabilities;
/// - `average`: the mean of the sub-words' probability vectors;
/// - `max`: the vector of the sub-word whose largest probability is highest (the first on a tie).
struct WordScores {
    let labelCount: Int
    let aggregation: Aggregation
    /// Per sentence, [W, NL] row-major: the word's combined probabilities (sums while averaging).
    private(set) var probabilities: [[Double]]
    /// Per sentence, per word: sub-words seen.
    private var pieceCounts: [[Int32]]
    /// Per sentence, per word: the largest probability of the vector kept (for `max`).
    private var peaks: [[Double]]
    private var row: [Double]

    init(wordCounts: [Int], labelCount: Int, aggregation: Aggregation) {
        self.labelCount = labelCount
        self.aggregation = aggregation
        probabilities = wordCounts.map { [Double](repeating: 0, count: $0 * labelCount) }
        pieceCounts = wordCounts.map { [Int32](repeating: 0, count: $0) }
        peaks = aggregation == .max ? wordCounts.map { [Double](repeating: -1, count: $0) } : []
        row = [Double](repeating: 0, count: labelCount)
    }

    /// Takes the logits of `batch` ([T, NL]): every sub-word of a word its sequence owns counts for that word.
    mutating func record(_ batch: PackedBatch, logits: UnsafeBufferPointer<Float>) {
        let n = labelCount
        precondition(logits.count == batch.tokenCount * n, "one row of logits per token")
        for (b, sequence) in batch.sequences.enumerated() {
            let offset = Int(batch.sequenceOffsets[b])
            let s = sequence.sentence
            for (t, word) in sequence.wordIndices.enumerated() {
                guard let word, sequence.ownedWords.contains(word) else { continue }
                softmax(logits, row: offset + t)
                let seen = pieceCounts[s][word]
                pieceCounts[s][word] = seen + 1
                let base = word * n
                switch aggregation {
                case .first:
                    if seen == 0 { probabilities[s].replaceSubrange(base..<(base + n), with: row) }
                case .average:
                    for j in 0..<n { probabilities[s][base + j] += row[j] }
                case .max:
                    let peak = row.max()!
                    if peak > peaks[s][word] {
                        peaks[s][word] = peak
                        probabilities[s].replaceSubrange(base..<(base + n), with: row)
                    }
                }
            }
        }
    }

    /// `row` = softmax of token `token`'s logits, in double precision.
    private mutating func softmax(_ logits: UnsafeBufferPointer<Float>, row token: Int) {
        let n = labelCount, base = token * n
        var top = -Double.infinity
        for j in 0..<n { top = Swift.max(top, Double(logits[base + j])) }
        var sum = 0.0
        for j in 0..<n {
            let e = Foundation.exp(Double(logits[base + j]) - top)
            row[j] = e
            sum += e
        }
        for j in 0..<n { row[j] /= sum }
    }

    /// The combined probabilities of every word of sentence `s`; every word must have been seen.
    func finished(sentence s: Int) -> [Double]? {
        guard !pieceCounts[s].contains(0) else { return nil }
        guard aggregation == .average else { return probabilities[s] }
        var result = probabilities[s]
        for (word, count) in pieceCounts[s].enumerated() {
            for j in 0..<labelCount { result[word * labelCount + j] /= Double(count) }
        }
        return result
    }
}

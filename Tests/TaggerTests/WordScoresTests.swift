import Datasets
import Foundation
import Testing
@testable import Tagger

/// Sub-word aggregation as transformers' `TokenClassificationPipeline.aggregate_word` defines it.
@Suite("sub-word aggregation")
struct WordScoresTests {
    /// One sentence: word 0 is one piece, word 1 three; logits are log-probabilities, so softmax gives them back.
    let pieceProbabilities: [[Double]] = [
        [0.7, 0.2, 0.1],   // word 0
        [0.5, 0.3, 0.2],   // word 1, first piece
        [0.1, 0.8, 0.1],   // word 1, second piece: the highest peak
        [0.2, 0.2, 0.6],   // word 1, third piece
    ]

    private func scores(_ aggregation: Aggregation) throws -> [Double] {
        let encoded = EncodedSentence(pieceIDs: [5, 6, 7, 8], wordStarts: [0, 1, 4])
        let window = SequenceWindow(sentence: 0, window: 0, words: 0..<2, ownedWords: 0..<2, pieces: 0..<4)
        let batch = PackedBatch(windows: [window], encoded: [encoded], clsID: 2, sepID: 3)
        // [CLS] and [SEP] rows are never read: give them a label no word should get.
        let rows = [[0, 0, 50]] + pieceProbabilities.map { $0.map { Float(log($0)) } } + [[0, 0, 50]]
        var scores = WordScores(wordCounts: [2], labelCount: 3, aggregation: aggregation)
        let logits = rows.flatMap { $0 }
        logits.withUnsafeBufferPointer { scores.record(batch, logits: $0) }
        return try #require(scores.finished(sentence: 0))
    }

    private func expectClose(_ a: [Double], _ b: [Double], _ comment: Comment? = nil) {
        #expect(a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) < 1e-6 }, "\(a) vs \(b)")
    }

    @Test func firstTakesTheFirstSubwordsProbabilities() throws {
        expectClose(try scores(.first), [0.7, 0.2, 0.1, 0.5, 0.3, 0.2])
    }

    @Test func averageTakesTheMeanOfTheSubwordsProbabilities() throws {
        expectClose(try scores(.average), [0.7, 0.2, 0.1, 0.8 / 3, 1.3 / 3, 0.9 / 3])
    }

    @Test func maxTakesTheSubwordWithTheHighestProbability() throws {
        expectClose(try scores(.max), [0.7, 0.2, 0.1, 0.1, 0.8, 0.1])
    }

    @Test func aWordNoWindowOwnsIsReportedMissing() {
        let encoded = EncodedSentence(pieceIDs: [5, 6], wordStarts: [0, 1, 2])
        let window = SequenceWindow(sentence: 0, window: 0, words: 0..<2, ownedWords: 0..<1, pieces: 0..<2)
        let batch = PackedBatch(windows: [window], encoded: [encoded], clsID: 2, sepID: 3)
        var scores = WordScores(wordCounts: [2], labelCount: 2, aggregation: .first)
        [Float](repeating: 0, count: 8).withUnsafeBufferPointer { scores.record(batch, logits: $0) }
        #expect(scores.finished(sentence: 0) == nil)
    }
}

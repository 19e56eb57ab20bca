import Foundation
import Testing
@testable import Datasets

@Suite struct CorpusStatisticsTests {
    @Test func lengthDistributionUsesNearestRankPercentilesAndPowerOfTwoBins() throws {
        let distribution = try #require(LengthDistribution(Array(1...100) + [40]))
        #expect(distribution.count == 101)
        #expect(distribution.min == 1 && distribution.max == 100)
        #expect(distribution.median == 50)
        #expect(distribution.p95 == 95)
        #expect(distribution.p99 == 99)
        #expect(distribution.histogram.map(\.lower) == [1, 17, 33, 65])
        #expect(distribution.histogram.map(\.upper) == [16, 32, 64, 128])
        #expect(distribution.histogram.map(\.count) == [16, 16, 33, 36])
        #expect(LengthDistribution([]) == nil)
        #expect(LengthDistribution([7])?.p99 == 7)
    }

    @Test func countsSentencesDocumentsTokensAndEntitiesInDefaultMode() throws {
        let corpus = try readCoNLL("""
            -DOCSTART- O

            EU B-ORG
            rejects O
            German B-MISC
            call I-MISC

            Peter I-PER
            Blackburn I-PER
            x O
            y B-PER

            -DOCSTART- O

            BRUSSELS B-LOC
            """)
        var encoder = chunkingEncoder(pieceLength: 3)
        let encoded = try encoder.encode(corpus)
        let stats = try CorpusStatistics(corpus: corpus, encoded: encoded, windowing: Windowing(maxLength: 8, stride: 1))
        #expect(stats.sentences == 3 && stats.documents == 2 && stats.tokens == 9)
        // "I-PER I-PER" after O starts an entity in default mode, as conlleval does.
        #expect(stats.entities == ["ORG": 1, "MISC": 1, "PER": 2, "LOC": 1])
        #expect(stats.labels?["I-PER"] == 2)
        #expect(stats.sentenceWords.max == 4)
        // Pieces: EU rej ect s Ger man cal l | Pet er Bla ckb urn x y | BRU SSE LS, plus [CLS] and [SEP].
        #expect(stats.sentenceTokens?.max == 10 && stats.sentenceTokens?.min == 5)
        #expect(stats.sentencesOverMaxLength == 2)
        #expect(stats.windows == 5)
        #expect(stats.wordsWithoutPieces == 0)
    }

    @Test func withoutLabelsOrTokenizerOnlyCountsAreGiven() throws {
        let stats = try CorpusStatistics(corpus: readCoNLL("a\nb\n", labelColumn: nil))
        #expect(stats.entities == nil && stats.sentenceTokens == nil && stats.sentencesOverMaxLength == nil)
        let json = String(decoding: try JSONEncoder().encode(stats), as: UTF8.self)
        #expect(json.contains("\"sentence_words\""))
    }
}

@Suite(.enabled(if: conll2003Folder != nil, conll2003Missing))
struct CoNLL2003Tests {
    var folder: URL { conll2003Folder! }

    @Test func trainHasTheKnownSizeAndEntityCounts() throws {
        let corpus = try CoNLLReader(scheme: .iob1).read(contentsOf: folder.appendingPathComponent("train.txt"))
        #expect(corpus.sentences.count == 14_041)
        #expect(corpus.wordCount == 203_621)
        #expect(corpus.documentCount == 946)
        #expect(corpus.columnCount == 4)
        let stats = try CorpusStatistics(corpus: corpus)
        #expect(stats.entities == ["LOC": 7_140, "PER": 6_600, "ORG": 6_321, "MISC": 3_438])
        let labels = try LabelSet(collecting: corpus)
        #expect(labels.labels == ["O", "B-LOC", "I-LOC", "B-MISC", "I-MISC", "B-ORG", "I-ORG", "B-PER", "I-PER"])
    }

    @Test func devAndTestUseOnlyLabelsSeenInTraining() throws {
        let labels = try LabelSet(collecting: CoNLLReader().read(contentsOf: folder.appendingPathComponent("train.txt")))
        for split in ["dev.txt", "test.txt"] {
            try labels.validate(CoNLLReader().read(contentsOf: folder.appendingPathComponent(split)))
        }
    }

    @Test func writingTrainWithPredictionsAndReadingItBackKeepsEverything() throws {
        let original = try CoNLLReader().read(contentsOf: folder.appendingPathComponent("dev.txt"))
        let predicted = try original.labelSequences()
        let written = try CorpusWriter.conllData(original, predictions: predicted)
        let reread = try CoNLLReader(labelColumn: -2).read(data: written, file: "dev-predictions.txt")
        #expect(reread.sentences.map(\.words) == original.sentences.map(\.words))
        #expect(reread.sentences.map(\.labels) == original.sentences.map(\.labels))
        #expect(reread.documentCount == original.documentCount)
        #expect(reread.sentences.map { $0.column(4) } == predicted)
    }

    @Test func everyWordOfTrainIsPredictedExactlyOnceThroughShortWindowsAndBatches() throws {
        let corpus = try CoNLLReader().read(contentsOf: folder.appendingPathComponent("train.txt"))
        var encoder = chunkingEncoder(pieceLength: 4)
        let labels = try LabelSet(collecting: corpus)
        let data = try TokenClassificationDataset(corpus: corpus, encoder: &encoder, clsID: 1, sepID: 2, labels: labels,
                                                  windowing: Windowing(maxLength: 32, stride: 8))
        #expect(data.windows.count > corpus.sentences.count)
        var predictions = data.makePredictions()
        for batch in try data.batches(BatchPlanner(maxTokens: 4096), order: .shuffled(seed: 1, epoch: 0)) {
            #expect(batch.tokenCount <= 4096)
            try predictions.record(batch, tokenLabelIDs: batch.labels.map { max($0, 0) })
        }
        #expect(try predictions.labels(labels) == corpus.labelSequences())
    }
}

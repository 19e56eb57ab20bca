import Testing
@testable import Datasets

@Suite struct SplitMix64Tests {
    @Test func matchesTheReferenceSequence() {
        var zero = SplitMix64(seed: 0)
        #expect([zero.next(), zero.next(), zero.next()] == [0xE220_A839_7B1D_CDAF, 0x6E78_9E6A_A1B9_65F4, 0x06C4_5D18_8009_454F])
        var other = SplitMix64(seed: 1_234_567)
        #expect(other.next() == 0x599E_D017_FB08_FC85)
    }

    @Test func boundedNumbersStayInRangeAndShuffleIsAPermutation() {
        var random = SplitMix64(seed: 3)
        for bound in 1...50 { #expect((0..<20).allSatisfy { _ in (0..<bound).contains(random.next(below: bound)) }) }
        var items = Array(0..<100)
        random.shuffle(&items)
        #expect(items.sorted() == Array(0..<100))
        #expect(items != Array(0..<100))
    }
}

@Suite struct BatchPlannerTests {
    func randomLengths(_ count: Int, seed: UInt64) -> [Int] {
        var random = SplitMix64(seed: seed)
        return (0..<count).map { _ in 3 + random.next(below: 60) }
    }

    @Test func budgetIsNeverExceededAndEverySequenceAppearsOnce() throws {
        for seed in UInt64(0)..<20 {
            let lengths = randomLengths(500, seed: seed)
            var random = SplitMix64(seed: seed &+ 100)
            let planner = try BatchPlanner(maxTokens: 64 + random.next(below: 1000), maxSequences: seed.isMultiple(of: 2) ? nil : 8)
            for order in [BatchOrder.lengthSorted, .shuffled(seed: seed, epoch: 1), .lengthGrouped(seed: seed, epoch: 1)] {
                let batches = try planner.plan(lengths: lengths, order: order)
                #expect(batches.allSatisfy { batch in batch.reduce(0) { $0 + lengths[$1] } <= planner.maxTokens })
                #expect(batches.allSatisfy { !$0.isEmpty && $0.count <= (planner.maxSequences ?? .max) })
                #expect(batches.flatMap { $0 }.sorted() == Array(lengths.indices))
            }
        }
    }

    @Test func lengthGroupedBatchesHoldSequencesOfSimilarLength() throws {
        let lengths = randomLengths(2000, seed: 1)
        let batches = try BatchPlanner(maxTokens: 512).plan(lengths: lengths, order: .lengthGrouped(seed: 1, epoch: 0))
        // Sorted by length before filling, so lengths within a batch span one narrow band.
        let spreads = batches.map { batch in batch.map { lengths[$0] }.max()! - batch.map { lengths[$0] }.min()! }
        #expect(spreads.filter { $0 > 1 }.count <= 60)
        // Greedy filling leaves at most one partly filled batch per length step.
        let used = lengths.reduce(0, +)
        #expect(batches.count * 512 < used * 11 / 10 + 512 * 60)
    }

    @Test func shuffledBatchesMixLengthsAndFillTheBudgetInDrawOrder() throws {
        let lengths = randomLengths(2000, seed: 1)
        let planner = try BatchPlanner(maxTokens: 512)
        let batches = try planner.plan(lengths: lengths, order: .shuffled(seed: 1, epoch: 0))
        // Lengths 3...62 drawn at random: nearly every batch spans most of that range.
        let spreads = batches.map { batch in batch.map { lengths[$0] }.max()! - batch.map { lengths[$0] }.min()! }
        #expect(spreads.filter { $0 >= 30 }.count >= batches.count * 9 / 10)
        // Each batch closed only because the next sequence drawn would not fit.
        for (batch, next) in zip(batches, batches.dropFirst()) {
            #expect(batch.reduce(0) { $0 + lengths[$1] } + lengths[next[0]] > planner.maxTokens)
        }
        // Not grouped: the sequences follow one random permutation, batch after batch.
        let order = batches.flatMap { $0 }
        #expect(order != Array(lengths.indices))
        #expect(zip(order, order.dropFirst()).filter { lengths[$0] <= lengths[$1] }.count < order.count * 6 / 10)
    }

    @Test func theSameSeedAndEpochGiveTheSameBatches() throws {
        let lengths = randomLengths(300, seed: 2)
        let planner = try BatchPlanner(maxTokens: 200)
        #expect(try planner.plan(lengths: lengths, order: .shuffled(seed: 42, epoch: 3))
            == planner.plan(lengths: lengths, order: .shuffled(seed: 42, epoch: 3)))
        #expect(try planner.plan(lengths: lengths, order: .lengthGrouped(seed: 42, epoch: 3))
            == planner.plan(lengths: lengths, order: .lengthGrouped(seed: 42, epoch: 3)))
    }

    @Test func aDifferentSeedOrEpochGivesADifferentOrder() throws {
        let lengths = randomLengths(300, seed: 2)
        let planner = try BatchPlanner(maxTokens: 200)
        let base = try planner.plan(lengths: lengths, order: .shuffled(seed: 42, epoch: 0))
        #expect(try planner.plan(lengths: lengths, order: .shuffled(seed: 43, epoch: 0)) != base)
        #expect(try planner.plan(lengths: lengths, order: .shuffled(seed: 42, epoch: 1)) != base)
        let grouped = try planner.plan(lengths: lengths, order: .lengthGrouped(seed: 42, epoch: 0))
        #expect(try planner.plan(lengths: lengths, order: .lengthGrouped(seed: 43, epoch: 0)) != grouped)
        #expect(try planner.plan(lengths: lengths, order: .lengthGrouped(seed: 42, epoch: 1)) != grouped)
    }

    @Test func evaluationOrderIsLengthSortedAndKeepsCorpusOrderOnTies() throws {
        let lengths = [5, 3, 5, 3, 9, 3]
        let batches = try BatchPlanner(maxTokens: 10).plan(lengths: lengths, order: .lengthSorted)
        #expect(batches == [[1, 3, 5], [0, 2], [4]])
    }

    @Test func maxSequencesClosesABatchBeforeTheBudgetIsFull() throws {
        let batches = try BatchPlanner(maxTokens: 100, maxSequences: 2).plan(lengths: [4, 4, 4, 4, 4], order: .lengthSorted)
        #expect(batches == [[0, 1], [2, 3], [4]])
    }

    @Test func aSequenceLongerThanTheBudgetIsAnError() throws {
        let error = datasetError { _ = try BatchPlanner(maxTokens: 100).plan(lengths: [50, 120], order: .lengthSorted) }
        #expect(error == .sequenceExceedsBudget(tokens: 120, maxTokens: 100))
        #expect(datasetError { _ = try BatchPlanner(maxTokens: 0) } != nil)
        #expect(datasetError { _ = try BatchPlanner(maxTokens: 10, maxSequences: 0) } != nil)
    }
}

@Suite struct PackedBatchTests {
    /// Two sentences: "EU rejects German" (pieces 1, 2, 1) and "Peter Blackburn" (1, 3).
    func dataset(maxLength: Int = 512, stride: Int? = nil, labelAll: Bool = false) throws -> TokenClassificationDataset {
        let corpus = try readCoNLL("EU B-ORG\nrejects O\nGerman B-MISC\n\nPeter B-PER\nBlackburn I-PER\n")
        var encoder = SentenceEncoder(unknownID: 100) { word in
            switch word {
            case "rejects": return [11, 12]
            case "Blackburn": return [21, 22, 23]
            default: return [Int32(word.count)]
            }
        }
        let labels = LabelSet(collecting: try corpus.labelSequences())
        return try TokenClassificationDataset(corpus: corpus, encoder: &encoder, clsID: 101, sepID: 102, labels: labels,
                                              labelAllSubwords: labelAll, windowing: Windowing(maxLength: maxLength, stride: stride))
    }

    @Test func packsSequencesEndToEndWithPositionsOffsetsAndLabels() throws {
        let data = try dataset()
        // Labels: O=0, B-MISC=1, B-ORG=2, B-PER=3, I-PER=4.
        let batch = data.batch([1, 0])
        #expect(batch.inputIDs == [101, 5, 21, 22, 23, 102, 101, 2, 11, 12, 6, 102])
        #expect(batch.positionIDs == [0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5])
        #expect(batch.sequenceOffsets == [0, 6, 12])
        #expect(batch.labels == [-100, 3, 4, -100, -100, -100, -100, 2, 0, -100, 1, -100])
        #expect(batch.sequences.map(\.sentence) == [1, 0])
        #expect(batch.sequences[0].wordIndices == [nil, 0, 1, 1, 1, nil])
        #expect(batch.tokenCount == 12)
        #expect(batch.maxSequenceLength == 6)
        #expect(batch.wordTokens == [WordToken(sentence: 1, word: 0, token: 1), WordToken(sentence: 1, word: 1, token: 2),
                                     WordToken(sentence: 0, word: 0, token: 7), WordToken(sentence: 0, word: 1, token: 8),
                                     WordToken(sentence: 0, word: 2, token: 10)])
    }

    @Test func labellingAllSubwordsScoresContinuationPieces() throws {
        let batch = try dataset(labelAll: true).batch([1])
        #expect(batch.labels == [-100, 3, 4, 4, 4, -100])
    }

    @Test func wordsOwnedByAnotherWindowAreNotScored() throws {
        // maxLength 5 leaves 3 pieces per window: "EU rejects" | "rejects German" …
        let data = try dataset(maxLength: 5, stride: 2)
        #expect(data.windows.filter { $0.sentence == 0 }.map(\.words) == [0..<2, 1..<3])
        let batch = data.batch([0, 1])
        let first = data.windows[0], second = data.windows[1]
        #expect(first.ownedWords == 0..<2 && second.ownedWords == 2..<3)
        #expect(batch.labels == [-100, 2, 0, -100, -100, -100, -100, -100, 1, -100])
    }

    @Test func predictionsMapBackToEveryWordOnceFromTokenIDsOrLogits() throws {
        let data = try dataset(maxLength: 5, stride: 2)
        let batches = try data.batches(BatchPlanner(maxTokens: 12), order: .shuffled(seed: 9, epoch: 0))
        var fromIDs = data.makePredictions()
        var fromLogits = data.makePredictions()
        let labels = try LabelSet(["O", "B-MISC", "B-ORG", "B-PER", "I-PER"])
        #expect(datasetError { _ = try fromIDs.labels(labels) } == .incompletePredictions(missing: 5))
        for batch in batches {
            // Predict, for every token, the label its gold says (or O where unscored), so a correct
            // mapping reproduces the gold labels.
            let ids = batch.labels.map { $0 < 0 ? Int32(0) : $0 }
            try fromIDs.record(batch, tokenLabelIDs: ids)
            let logits = ids.flatMap { id in (0..<5).map { Float($0 == Int(id) ? 2 : -1) } }
            try fromLogits.record(batch, logits: logits, labelCount: 5)
        }
        #expect(fromIDs.isComplete)
        #expect(try fromIDs.labels(labels) == data.corpus.labelSequences())
        #expect(fromLogits == fromIDs)
    }

    @Test func predictionsOfTheWrongShapeAreRejected() throws {
        let data = try dataset()
        let batch = data.batch([0])
        var predictions = data.makePredictions()
        #expect(datasetError { try predictions.record(batch, tokenLabelIDs: [0]) }
            == .predictionShape(expected: 6, found: 1, what: "token predictions"))
        #expect(datasetError { try predictions.record(batch, logits: [0, 1], labelCount: 5) }
            == .predictionShape(expected: 30, found: 2, what: "logits"))
        try predictions.record(batch, tokenLabelIDs: [Int32](repeating: 9, count: 6))
        try predictions.record(data.batch([1]), tokenLabelIDs: [Int32](repeating: 0, count: 6))
        #expect(datasetError { _ = try predictions.labels(try LabelSet(["O"])) } == .labelIDOutOfRange(id: 9, labelCount: 1))
    }

    @Test func logitsTiesGoToTheFirstMaximum() throws {
        let data = try dataset()
        let batch = data.batch([1])
        var predictions = data.makePredictions()
        try predictions.record(batch, logits: [Float](repeating: 0.5, count: 6 * 3), labelCount: 3)
        #expect(predictions.labelIDs[1] == [0, 0])
    }
}

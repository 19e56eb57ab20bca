import Testing
@testable import Datasets
import Tokenizer

/// Document context: sentences fed with whole words of their neighbours in the same document, only the
/// sentence itself labelled and predicted.
@Suite struct ContextTests {
    /// A corpus from piece counts: `documents[d][s][w]` is the piece count of word `w` of sentence `s` of
    /// document `d`. Piece ids say where a piece comes from (sentence × 1000 + piece), so a packed sequence
    /// can be read back into the sentences it was made from; word `w` of sentence `s` has label `(s + w) % 5`.
    struct Fixture {
        var corpus: Corpus
        var encoded: [EncodedSentence]

        init(_ documents: [[[Int]]]) {
            var sentences: [Sentence] = []
            var encoded: [EncodedSentence] = []
            for (d, document) in documents.enumerated() {
                for pieceCounts in document {
                    let index = sentences.count
                    var starts: [Int32] = [0]
                    for count in pieceCounts { starts.append(starts.last! + Int32(count)) }
                    let pieceIDs = (0..<Int(starts.last!)).map { Int32(index * 1000 + $0) }
                    let wordLabels = pieceCounts.indices.map { Int32((index + $0) % 5) }
                    var sentence = EncodedSentence(pieceIDs: pieceIDs, wordStarts: starts)
                    sentence.pieceLabels = alignLabels(wordIDs: sentence.pieceWords, wordLabels: wordLabels)
                    encoded.append(sentence)
                    sentences.append(Sentence(words: pieceCounts.indices.map { "s\(index)w\($0)" },
                                              labels: wordLabels.map { "L\($0)" }, document: d, line: 1 + index * 20))
                }
            }
            corpus = Corpus(file: "docs.txt", sentences: sentences, documentCount: documents.count)
            self.encoded = encoded
        }

        func dataset(_ windowing: Windowing) throws -> TokenClassificationDataset {
            TokenClassificationDataset(corpus: corpus, encoded: encoded,
                                       windows: try windowing.windows(of: encoded, corpus: corpus), clsID: -1, sepID: -2)
        }
    }

    /// A random corpus of several documents of several sentences, with words of 1...`maxPieces` pieces.
    static func randomFixture(_ random: inout SplitMix64, maxPieces: Int) -> Fixture {
        let documents = (0..<(1 + random.next(below: 4))).map { _ in
            (0..<(1 + random.next(below: 6))).map { _ in
                (0..<(1 + random.next(below: 14))).map { _ in 1 + random.next(below: maxPieces) }
            }
        }
        return Fixture(documents)
    }

    // MARK: - Worked examples

    /// Document 0: three sentences of word pieces [1, 2], [1, 1, 1], [2, 1]; document 1: [1, 1].
    let small = Fixture([[[1, 2], [1, 1, 1], [2, 1]], [[1, 1]]])

    @Test func aSentenceIsFedWithTheNearestWholeWordsOfItsNeighbours() throws {
        let data = try small.dataset(Windowing(maxLength: 20, context: 2))
        let middle = try #require(data.windows.first { $0.sentence == 1 })
        // Left: the last word of sentence 0 has 2 pieces; right: the first word of sentence 2 has 2 pieces.
        #expect(middle.leftContext == [ContextSpan(sentence: 0, words: 1..<2, pieces: 1..<3)])
        #expect(middle.rightContext == [ContextSpan(sentence: 2, words: 0..<1, pieces: 0..<2)])
        #expect(middle.tokenCount == 3 + 2 + 2 + 2)

        let batch = data.batch([1])
        #expect(batch.inputIDs == [-1, 1, 2, 1000, 1001, 1002, 2000, 2001, -2])
        #expect(batch.positionIDs == Array(0..<9))
        #expect(batch.sequences[0].wordIndices == [nil, nil, nil, 0, 1, 2, nil, nil, nil])
        // Labels (s + w) % 5 of sentence 1's words only.
        #expect(batch.labels == [-100, -100, -100, 1, 2, 3, -100, -100, -100])
        #expect(batch.wordTokens == [WordToken(sentence: 1, word: 0, token: 3), WordToken(sentence: 1, word: 1, token: 4),
                                     WordToken(sentence: 1, word: 2, token: 5)])
    }

    @Test func contextStopsAtTheFirstWordThatDoesNotFitAndSpansSeveralSentences() throws {
        // Budget 3: left of sentence 2 are the words of sentence 1 (1 piece each), right of sentence 0 is
        // sentence 1's three words; sentence 2's first word has 2 pieces, which do not fit after them.
        let data = try small.dataset(Windowing(maxLength: 20, context: 3))
        #expect(data.windows[2].leftContext == [ContextSpan(sentence: 1, words: 0..<3, pieces: 0..<3)])
        #expect(data.windows[0].rightContext == [ContextSpan(sentence: 1, words: 0..<3, pieces: 0..<3)])
        // Budget 6 reaches past sentence 1 into the sentence beyond it, up to the document's edge.
        let wide = try small.dataset(Windowing(maxLength: 30, context: 6))
        #expect(wide.windows[2].leftContext == [ContextSpan(sentence: 0, words: 0..<2, pieces: 0..<3),
                                                ContextSpan(sentence: 1, words: 0..<3, pieces: 0..<3)])
        #expect(wide.windows[0].rightContext == [ContextSpan(sentence: 1, words: 0..<3, pieces: 0..<3),
                                                 ContextSpan(sentence: 2, words: 0..<2, pieces: 0..<3)])
        // Budget 5: after sentence 1, the 2-piece first word of sentence 2 fits, its 1-piece second word not.
        let five = try small.dataset(Windowing(maxLength: 30, context: 5))
        #expect(five.windows[0].rightContext == [ContextSpan(sentence: 1, words: 0..<3, pieces: 0..<3),
                                                 ContextSpan(sentence: 2, words: 0..<1, pieces: 0..<2)])
        // Left of sentence 2 with budget 5: sentence 1 (3), then sentence 0's 2-piece last word; its first word
        // (1 piece) no longer fits.
        #expect(five.windows[2].leftContext == [ContextSpan(sentence: 0, words: 1..<2, pieces: 1..<3),
                                                ContextSpan(sentence: 1, words: 0..<3, pieces: 0..<3)])
        #expect(wide.batch([2]).inputIDs == [-1, 0, 1, 2, 1000, 1001, 1002, 2000, 2001, 2002, -2])
        // A 2-piece nearest word and a budget of 1: no context at all rather than a gap.
        let narrow = try small.dataset(Windowing(maxLength: 20, context: 1))
        #expect(narrow.windows[1].leftContext.isEmpty)
        #expect(narrow.windows[1].rightContext.isEmpty)
    }

    @Test func contextNeverCrossesADocumentBoundary() throws {
        let data = try small.dataset(Windowing(maxLength: 40, context: 10))
        // Sentence 2 ends document 0 and sentence 3 begins document 1.
        #expect(data.windows[2].rightContext.isEmpty)
        #expect(data.windows[3].leftContext.isEmpty)
        #expect(data.windows[3].rightContext.isEmpty)
        #expect(data.windows[0].leftContext.isEmpty)
    }

    @Test func whenBothSidesWantMoreThanTheRoomEachGetsHalf() throws {
        // maxLength 9 leaves 7 pieces; sentence 1 has 3, so 4 are left for context wanting 4 a side.
        let fixture = Fixture([[[1, 1, 1, 1], [1, 1, 1], [1, 1, 1, 1]]])
        let data = try fixture.dataset(Windowing(maxLength: 9, context: 4))
        #expect(data.windows[1].leftContext == [ContextSpan(sentence: 0, words: 2..<4, pieces: 2..<4)])
        #expect(data.windows[1].rightContext == [ContextSpan(sentence: 2, words: 0..<2, pieces: 0..<2)])
        #expect(data.windows[1].tokenCount == 9)
        // Sentence 0 has nothing on its left, so its right side takes all the room (7 − 4 = 3 pieces).
        #expect(data.windows[0].leftContext.isEmpty)
        #expect(data.windows[0].rightContext == [ContextSpan(sentence: 1, words: 0..<3, pieces: 0..<3)])

        // A side that needs less than half leaves the rest to the other.
        let uneven = Fixture([[[1], [1, 1, 1], [1, 1, 1, 1]]])
        let unevenData = try uneven.dataset(Windowing(maxLength: 9, context: 4))
        #expect(unevenData.windows[1].leftContext.map(\.pieces.count) == [1])
        #expect(unevenData.windows[1].rightContext.map(\.pieces.count) == [3])
    }

    @Test func aWindowedSentenceTakesContextOnlyAtItsEndsAsRoomAllows() throws {
        // Sentence 1 has 8 one-piece words; maxLength 9 leaves 7 pieces a window, stride 2.
        let fixture = Fixture([[[1, 1, 1], Array(repeating: 1, count: 8), [1, 1, 1]]])
        let data = try fixture.dataset(Windowing(maxLength: 9, stride: 2, context: 3))
        let windows = data.windows.filter { $0.sentence == 1 }
        // Windows 0..<7 and 5..<8: the first has no room left, the last has 4 (3 of them used).
        #expect(windows.map(\.words) == [0..<7, 5..<8])
        #expect(windows[0].leftContext.isEmpty && windows[0].rightContext.isEmpty)
        #expect(windows[1].leftContext.isEmpty)
        #expect(windows[1].rightContext == [ContextSpan(sentence: 2, words: 0..<3, pieces: 0..<3)])
        #expect(windows.allSatisfy { $0.tokenCount <= 9 })
        // The neighbours, which fit whole, take the windowed sentence's pieces as their context.
        #expect(data.windows[0].rightContext == [ContextSpan(sentence: 1, words: 0..<3, pieces: 0..<3)])
        #expect(data.windows.last!.leftContext == [ContextSpan(sentence: 1, words: 5..<8, pieces: 5..<8)])
    }

    @Test func aNegativeContextIsRejected() throws {
        let error = datasetError { _ = try Windowing(maxLength: 16, context: -1) }
        #expect(error?.description.contains("the context -1 must be at least 0") == true)
        #expect(try Windowing(maxLength: 16).context == 0)
    }

    // MARK: - Random corpora

    /// The sentences and pieces a packed sequence is made of, read back from the piece ids.
    func origins(_ batch: PackedBatch, sequence b: Int) -> [(sentence: Int, piece: Int)] {
        let tokens = batch.inputIDs[Int(batch.sequenceOffsets[b]) + 1 ..< Int(batch.sequenceOffsets[b + 1]) - 1]
        return tokens.map { (Int($0) / 1000, Int($0) % 1000) }
    }

    @Test func randomCorporaKeepEveryContextRule() throws {
        var random = SplitMix64(seed: 11)
        for _ in 0..<300 {
            let maxLength = 6 + random.next(below: 40)
            let windowing = try Windowing(maxLength: maxLength, stride: random.next(below: maxLength - 2),
                                          context: random.next(below: 24))
            let fixture = Self.randomFixture(&random, maxPieces: min(4, maxLength - 2))
            let data = try fixture.dataset(windowing)
            let batches = try data.batches(BatchPlanner(maxTokens: maxLength * 3), order: .shuffled(seed: 5, epoch: 1))
            var predicted = Set<[Int]>()
            for batch in batches {
                #expect(batch.tokenCount <= maxLength * 3)
                for (b, sequence) in batch.sequences.enumerated() {
                    let start = Int(batch.sequenceOffsets[b]), end = Int(batch.sequenceOffsets[b + 1])
                    #expect(end - start <= maxLength, "never longer than the maximum length")
                    #expect(batch.inputIDs[start] == -1 && batch.inputIDs[end - 1] == -2)
                    #expect(batch.positionIDs[start..<end].elementsEqual(0..<Int32(end - start)))

                    // The pieces read as one contiguous run of the document, in reading order.
                    let origin = origins(batch, sequence: b)
                    let document = fixture.corpus.sentences[sequence.sentence].document
                    for (previous, next) in zip(origin, origin.dropFirst()) {
                        let follows = next.sentence == previous.sentence ? next.piece == previous.piece + 1
                            : next.sentence == previous.sentence + 1 && next.piece == 0
                                && previous.piece == fixture.encoded[previous.sentence].pieceCount - 1
                        #expect(follows, "context is contiguous with its sentence")
                    }
                    #expect(origin.allSatisfy { fixture.corpus.sentences[$0.sentence].document == document },
                            "context never crosses a document boundary")
                    // Whole words: the context starts at a word start and ends at a word end.
                    if let first = origin.first, first.sentence != sequence.sentence {
                        #expect(fixture.encoded[first.sentence].wordStarts.contains(Int32(first.piece)))
                    }
                    if let last = origin.last, last.sentence != sequence.sentence {
                        #expect(fixture.encoded[last.sentence].wordStarts.contains(Int32(last.piece + 1)))
                    }
                    let left = origin.prefix { $0.sentence < sequence.sentence }.count
                    let right = origin.reversed().prefix { $0.sentence > sequence.sentence }.count
                    #expect(left <= windowing.context && right <= windowing.context)

                    // Only the sentence's own owned words are labelled, each on its first piece with its gold label.
                    for t in start..<end {
                        let word = sequence.wordIndices[t - start]
                        let id = batch.inputIDs[t]
                        if word == nil { #expect(batch.labels[t] == ignoredLabelID) }
                        if let word {
                            #expect(Int(id) / 1000 == sequence.sentence, "a word index only on the sentence's own pieces")
                            let owned = sequence.ownedWords.contains(word)
                            let firstPiece = Int(fixture.encoded[sequence.sentence].wordStarts[word]) == Int(id) % 1000
                            #expect(batch.labels[t] == (owned && firstPiece ? Int32((sequence.sentence + word) % 5) : ignoredLabelID))
                        } else if t > start && t < end - 1 {
                            #expect(Int(id) / 1000 != sequence.sentence, "only context has no word index")
                        }
                    }
                }
                for target in batch.wordTokens { #expect(predicted.insert([target.sentence, target.word]).inserted) }
            }
            #expect(predicted.count == fixture.corpus.wordCount, "every word predicted exactly once")
        }
    }

    @Test func contextFillsTheRoomASentenceLeaves() throws {
        // Where a whole sentence fits with room for both sides, each side is as long as whole words allow:
        // it reaches the document's edge or the next word would pass the budget.
        var random = SplitMix64(seed: 12)
        for _ in 0..<200 {
            let context = 1 + random.next(below: 12)
            let windowing = try Windowing(maxLength: 64, context: context)
            let fixture = Self.randomFixture(&random, maxPieces: 3)
            for window in try fixture.dataset(windowing).windows where window.pieces.count + 2 * context <= 62 {
                let sentence = window.sentence, document = fixture.corpus.sentences[sentence].document
                // The word before the left context, if the document has one.
                var before: (sentence: Int, word: Int)?
                if let first = window.leftContext.first {
                    before = first.words.lowerBound > 0 ? (first.sentence, first.words.lowerBound - 1)
                        : first.sentence > 0 && fixture.corpus.sentences[first.sentence - 1].document == document
                        ? (first.sentence - 1, fixture.encoded[first.sentence - 1].wordCount - 1) : nil
                } else if sentence > 0 && fixture.corpus.sentences[sentence - 1].document == document {
                    before = (sentence - 1, fixture.encoded[sentence - 1].wordCount - 1)
                }
                if let before {
                    let pieces = fixture.encoded[before.sentence].pieces(ofWord: before.word).count
                    #expect(window.leftContextPieceCount + pieces > context)
                }
                var after: (sentence: Int, word: Int)?
                if let last = window.rightContext.last {
                    after = last.words.upperBound < fixture.encoded[last.sentence].wordCount ? (last.sentence, last.words.upperBound)
                        : last.sentence + 1 < fixture.encoded.count && fixture.corpus.sentences[last.sentence + 1].document == document
                        ? (last.sentence + 1, 0) : nil
                } else if sentence + 1 < fixture.encoded.count && fixture.corpus.sentences[sentence + 1].document == document {
                    after = (sentence + 1, 0)
                }
                if let after {
                    let pieces = fixture.encoded[after.sentence].pieces(ofWord: after.word).count
                    #expect(window.rightContextPieceCount + pieces > context)
                }
            }
        }
    }

    @Test func removingTheContextGivesExactlyTheBatchesWithout() throws {
        // The centre of every sequence, labels and owned words included, is what it is without context.
        var random = SplitMix64(seed: 13)
        for _ in 0..<100 {
            let maxLength = 6 + random.next(below: 30)
            let stride = random.next(below: maxLength - 2)
            let fixture = Self.randomFixture(&random, maxPieces: min(3, maxLength - 2))
            let plain = try fixture.dataset(Windowing(maxLength: maxLength, stride: stride))
            let withContext = try fixture.dataset(Windowing(maxLength: maxLength, stride: stride, context: 1 + random.next(below: 16)))
            try #require(plain.windows.count == withContext.windows.count)
            for (a, b) in zip(plain.windows, withContext.windows) {
                #expect(a.sentence == b.sentence && a.words == b.words && a.ownedWords == b.ownedWords && a.pieces == b.pieces)
                var stripped = b
                stripped.leftContext = []
                stripped.rightContext = []
                #expect(stripped == a)
            }
        }
    }

    @Test func contextZeroGivesTodaysBatches() throws {
        var random = SplitMix64(seed: 14)
        for _ in 0..<100 {
            let maxLength = 6 + random.next(below: 30)
            let stride = random.next(below: maxLength - 2)
            let fixture = Self.randomFixture(&random, maxPieces: min(3, maxLength - 2))
            let windowing = try Windowing(maxLength: maxLength, stride: stride)
            #expect(try Windowing(maxLength: maxLength, stride: stride, context: 0) == windowing)
            let data = try fixture.dataset(windowing)
            // The windows of each sentence on its own, as before context existed.
            let alone = try fixture.corpus.sentences.indices.flatMap { index in
                try windowing.windows(of: fixture.encoded[index], sentence: fixture.corpus.sentences[index], index: index,
                                      file: fixture.corpus.file)
            }
            #expect(data.windows == alone)
            #expect(data.windowLengths == alone.map { $0.pieces.count + 2 })
            for batch in try data.batches(BatchPlanner(maxTokens: 64), order: .lengthSorted) {
                for (b, sequence) in batch.sequences.enumerated() {
                    let start = Int(batch.sequenceOffsets[b]), end = Int(batch.sequenceOffsets[b + 1])
                    #expect(origins(batch, sequence: b).allSatisfy { $0.sentence == sequence.sentence })
                    #expect(sequence.wordIndices.dropFirst().dropLast().allSatisfy { $0 != nil })
                    #expect(end - start == sequence.wordIndices.count)
                }
            }
        }
        // A document per sentence leaves no neighbours, so any context gives the same batches as none.
        let isolated = Fixture([[[1, 2]], [[3, 1, 1]], [[2]]])
        let none = try isolated.dataset(Windowing(maxLength: 12))
        let some = try isolated.dataset(Windowing(maxLength: 12, context: 8))
        #expect(try none.batches(BatchPlanner(maxTokens: 40), order: .shuffled(seed: 1, epoch: 0))
            == some.batches(BatchPlanner(maxTokens: 40), order: .shuffled(seed: 1, epoch: 0)))
    }

    @Test func predictionsWithContextReproduceTheGoldLabels() throws {
        var random = SplitMix64(seed: 15)
        for _ in 0..<50 {
            let fixture = Self.randomFixture(&random, maxPieces: 3)
            let data = try fixture.dataset(Windowing(maxLength: 10 + random.next(below: 20), context: 1 + random.next(below: 10)))
            var predictions = data.makePredictions()
            for batch in try data.batches(BatchPlanner(maxTokens: 64), order: .shuffled(seed: 2, epoch: 0)) {
                // Predict every token's gold label (0 where unscored): a correct mapping gives back the gold.
                try predictions.record(batch, tokenLabelIDs: batch.labels.map { $0 < 0 ? 0 : $0 })
            }
            let labels = try LabelSet((0..<5).map { "L\($0)" })
            #expect(try predictions.labels(labels) == fixture.corpus.labelSequences())
        }
    }
}

/// Document context on CoNLL-2003 train with the default encoder's tokenizer: what each setting costs an
/// epoch in tokens, and the rules held on a real corpus (946 documents, 14,041 sentences).
@Suite(.enabled(if: conll2003Folder != nil && defaultModelFolder != nil, "needs CoNLL-2003 and models/all-MiniLM-L6-v2"))
struct CoNLL2003ContextTests {
    struct Expected: Sendable, CustomTestStringConvertible {
        var context: Int
        /// Tokens of one epoch ([CLS] and [SEP] included), the longest input, and batches of ≤ 640 tokens
        /// drawn at random and grouped by length.
        var tokens: Int, longest: Int, batches: Int, groupedBatches: Int
        var testDescription: String { "context \(context)" }
    }

    /// Train read and encoded once for every case.
    static let train: Result<(Corpus, [EncodedSentence]), any Error> = Result {
        let corpus = try CoNLLReader().read(contentsOf: conll2003Folder!.appendingPathComponent("train.txt"))
        var encoder = SentenceEncoder(tokenizer: try BertTokenizer(directory: defaultModelFolder!))
        return (corpus, try encoder.encode(corpus, labels: try LabelSet(collecting: corpus)))
    }

    @Test(arguments: [
        Expected(context: 0, tokens: 280_125, longest: 164, batches: 447, groupedBatches: 448),
        Expected(context: 32, tokens: 1_051_785, longest: 228, batches: 1_751, groupedBatches: 1_750),
        Expected(context: 64, tokens: 1_718_538, longest: 292, batches: 2_989, groupedBatches: 3_010),
        Expected(context: 128, tokens: 2_772_412, longest: 418, batches: 5_231, groupedBatches: 5_110),
    ])
    func trainTokensPerEpoch(expected: Expected) throws {
        let (corpus, encoded) = try Self.train.get()
        let windowing = try Windowing(maxLength: 512, context: expected.context)
        let data = TokenClassificationDataset(corpus: corpus, encoded: encoded,
                                              windows: try windowing.windows(of: encoded, corpus: corpus), clsID: 101, sepID: 102)
        let lengths = data.windowLengths
        #expect(data.windows.count == 14_041, "no train sentence needs windows at 512")
        #expect(lengths.reduce(0, +) == expected.tokens)
        #expect(lengths.max() == expected.longest)
        let shuffledCount = try data.plan(BatchPlanner(maxTokens: 640), order: .shuffled(seed: 42, epoch: 0)).count
        #expect(shuffledCount == expected.batches)
        #expect(try data.plan(BatchPlanner(maxTokens: 640), order: .lengthGrouped(seed: 42, epoch: 0)).count == expected.groupedBatches)
        for window in data.windows {
            let document = corpus.sentences[window.sentence].document
            let spans = window.leftContext + window.rightContext
            #expect(spans.allSatisfy { corpus.sentences[$0.sentence].document == document })
            #expect(window.leftContextPieceCount <= expected.context && window.rightContextPieceCount <= expected.context)
            #expect(window.ownedWords == 0..<corpus.sentences[window.sentence].words.count)
        }
    }
}

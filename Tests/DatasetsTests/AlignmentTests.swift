import Testing
@testable import Datasets

@Suite struct AlignmentTests {
    @Test func firstPieceCarriesTheLabelAndTheRestAreIgnored() {
        // [CLS] EU rej ##ects German [SEP]
        let aligned = alignLabels(wordIDs: [nil, 0, 1, 1, 2, nil], wordLabels: [3, 0, 7])
        #expect(aligned == [-100, 3, 0, -100, 7, -100])
    }

    @Test func labellingAllSubwordsMapsContinuationPieces() {
        let labels = try! LabelSet(["O", "B-PER", "I-PER", "S-LOC", "I-LOC"])
        let aligned = alignLabels(wordIDs: [nil, 0, 0, 0, 1, 1, 2, 2, nil], wordLabels: [1, 3, 0], labelAllSubwords: true,
                                  continuation: { labels.continuationIDs[Int($0)] })
        #expect(aligned == [-100, 1, 2, 2, 3, 4, 0, 0, -100])
    }

    @Test func consecutiveWordsWithTheSameLabelEachGetTheirOwnFirstPiece() {
        #expect(alignLabels(wordIDs: [0, 1, 1, 2], wordLabels: [2, 2, 2]) == [2, 2, -100, 2])
    }

    @Test func encodesSplitWordsWithWordStartsAndPieceWords() throws {
        var encoder = chunkingEncoder(pieceLength: 3)
        let sentence = Sentence(words: ["EU", "rejects", "German"], labels: ["B-ORG", "O", "B-MISC"])
        let labels = try LabelSet(["O", "B-MISC", "B-ORG"])
        let encoded = try encoder.encode(sentence, labels: labels)
        #expect(encoded.wordStarts == [0, 1, 4, 6])
        #expect(encoded.pieceCount == 6)
        #expect(encoded.pieceWords == [0, 1, 1, 1, 2, 2])
        #expect(encoded.pieceLabels == [2, 0, -100, -100, 1, -100])
        #expect(encoded.pieces(ofWord: 1) == 1..<4)
        #expect(encoded.emptyWordCount == 0)
    }

    @Test func aWordWithoutPiecesIsFedAsOneUnknownPieceAndCounted() throws {
        var encoder = chunkingEncoder(pieceLength: 3, empty: ["\u{200B}", "\u{0007}"], unknownID: 100)
        let sentence = Sentence(words: ["a", "\u{200B}", "bb", "\u{0007}", "\u{200B}"], labels: ["O", "B-PER", "O", "O", "O"])
        let encoded = try encoder.encode(sentence, labels: try LabelSet(["O", "B-PER"]))
        #expect(encoded.wordCount == 5)
        #expect(encoded.pieceCount == 5)
        #expect(encoded.pieceIDs[1] == 100 && encoded.pieceIDs[3] == 100 && encoded.pieceIDs[4] == 100)
        #expect(encoded.pieceLabels == [0, 1, 0, 0, 0])
        #expect(encoded.emptyWordCount == 3)
        #expect(encoder.emptyWords == ["\u{200B}": 2, "\u{0007}": 1])
    }

    @Test func labelAllSubwordsTurnsBeginningsIntoInsides() throws {
        var encoder = chunkingEncoder(pieceLength: 2)
        let sentence = Sentence(words: ["Blackburn", "x"], labels: ["B-PER", "O"])
        let labels = try LabelSet(["O", "B-PER", "I-PER"])
        let encoded = try encoder.encode(sentence, labels: labels, labelAllSubwords: true)
        #expect(encoded.pieceLabels == [1, 2, 2, 2, 2, 0])
    }

    @Test func eachDistinctWordIsTokenizedOnce() throws {
        final class Counter: @unchecked Sendable { var calls = 0 }
        let counter = Counter()
        var encoder = SentenceEncoder(unknownID: 1) { word in
            counter.calls += 1
            return [Int32(word.count)]
        }
        _ = try encoder.encode(Sentence(words: ["the", "cat", "the", "the", "hat"]))
        _ = try encoder.encode(Sentence(words: ["the", "cat"]))
        #expect(counter.calls == 3)
    }

    @Test func anUnknownLabelWhileEncodingNamesFileAndLine() throws {
        var encoder = chunkingEncoder()
        let corpus = try readCoNLL("a O\n\nb O\nc B-LOC\n", file: "dev.txt")
        let error = datasetError { _ = try encoder.encode(corpus, labels: try LabelSet(["O"])) }
        #expect(error == .unknownLabel(label: "B-LOC", file: "dev.txt", line: 4, known: ["O"]))
    }

    @Test func withoutALabelSetNoLabelsAreAligned() throws {
        var encoder = chunkingEncoder()
        #expect(try encoder.encode(Sentence(words: ["abcdef"], labels: ["O"])).pieceLabels == nil)
    }
}

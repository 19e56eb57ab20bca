import Foundation
import Testing
@testable import Datasets

@Suite struct CoNLLReaderTests {
    static let sample = """
        -DOCSTART- -X- -X- O

        EU NNP B-NP B-ORG
        rejects VBZ B-VP O
        German JJ B-NP B-MISC

        Peter NNP B-NP B-PER
        Blackburn NNP I-NP I-PER

        -DOCSTART- -X- -X- O

        BRUSSELS NNP B-NP B-LOC

        """

    @Test func readsSentencesDocumentsAndFirstLines() throws {
        let corpus = try readCoNLL(Self.sample)
        #expect(corpus.sentences.map(\.words) == [["EU", "rejects", "German"], ["Peter", "Blackburn"], ["BRUSSELS"]])
        #expect(corpus.sentences.map(\.labels) == [["B-ORG", "O", "B-MISC"], ["B-PER", "I-PER"], ["B-LOC"]])
        #expect(corpus.sentences.map(\.document) == [0, 0, 1])
        #expect(corpus.sentences.map(\.line) == [3, 7, 12])
        #expect(corpus.documentCount == 2)
        #expect(corpus.columnCount == 4)
        #expect(corpus.separator == .whitespace)
        #expect(corpus.wordCount == 6)
        #expect(corpus.sentences[0].column(1) == ["NNP", "VBZ", "JJ"])
        #expect(corpus.sentences[1].line(ofWord: 1) == 8)
    }

    @Test func keepsTheLayoutOfDocumentAndBlankLines() throws {
        let corpus = try readCoNLL(Self.sample)
        #expect(corpus.layout == [.documentStart("-DOCSTART- -X- -X- O"), .blankLine, .sentence(0), .blankLine, .sentence(1),
                                  .blankLine, .documentStart("-DOCSTART- -X- -X- O"), .blankLine, .sentence(2)])
    }

    @Test func acceptsCRLFTrailingSpacesMissingFinalNewlineAndBlankRuns() throws {
        let messy = "a X B-PER  \r\nb X O\t\r\n\r\n\r\n   \r\n\n\nc X O\r\nd X B-LOC"
        let corpus = try readCoNLL(messy)
        #expect(corpus.sentences.map(\.words) == [["a", "b"], ["c", "d"]])
        #expect(corpus.sentences.map(\.labels) == [["B-PER", "O"], ["O", "B-LOC"]])
        #expect(corpus.sentences.map(\.line) == [1, 8])
        #expect(corpus.documentCount == 1)
    }

    @Test func collapsesRunsOfSpacesBetweenColumns() throws {
        let corpus = try readCoNLL("  a    X   B-PER\nb X O\n")
        #expect(corpus.separator == .whitespace)
        #expect(corpus.sentences[0].columns == ["a", "X", "B-PER", "b", "X", "O"])
    }

    @Test func whenTheFirstTokenLineHasNoTabTabsAlsoSeparateColumns() throws {
        let corpus = try readCoNLL("a X O\nb\tX \t O\n")
        #expect(corpus.separator == .whitespace)
        #expect(corpus.sentences[0].columns == ["a", "X", "O", "b", "X", "O"])
    }

    @Test func tabSeparatedColumnsMayContainSpaces() throws {
        let corpus = try readCoNLL("New York\tNNP\tB-LOC\nis\tVBZ\tO\n\nhi there\tUH\tO\n")
        #expect(corpus.separator == .tab)
        #expect(corpus.sentences.map(\.words) == [["New York", "is"], ["hi there"]])
        #expect(corpus.sentences[0].labels == ["B-LOC", "O"])
    }

    @Test func choosesTokenAndLabelColumnsByIndexFromEitherEnd() throws {
        let corpus = try readCoNLL(Self.sample, tokenColumn: 0, labelColumn: 1)
        #expect(corpus.sentences[0].labels == ["NNP", "VBZ", "JJ"])
        let chunks = try readCoNLL(Self.sample, tokenColumn: -4, labelColumn: -2)
        #expect(chunks.sentences[0].words == ["EU", "rejects", "German"])
        #expect(chunks.sentences[0].labels == ["B-NP", "B-VP", "B-NP"])
    }

    @Test func readsWordsOnlyWithoutALabelColumn() throws {
        let corpus = try readCoNLL("EU\nrejects\n\nPeter\n", labelColumn: nil)
        #expect(corpus.sentences.map(\.words) == [["EU", "rejects"], ["Peter"]])
        #expect(corpus.sentences.allSatisfy { $0.labels == nil })
        #expect(corpus.columnCount == 1)
    }

    @Test func sentencesBeforeTheFirstDocumentStartFormTheirOwnDocument() throws {
        let corpus = try readCoNLL("a O\n\n-DOCSTART- O\n\nb O\n\n-DOCSTART- O\nc O\n")
        #expect(corpus.sentences.map(\.document) == [0, 1, 2])
        #expect(corpus.documentCount == 3)
    }

    @Test func aDocumentStartEndsTheSentenceBeforeIt() throws {
        let corpus = try readCoNLL("a O\nb O\n-DOCSTART- -X- O\nc O\n")
        #expect(corpus.sentences.map(\.words) == [["a", "b"], ["c"]])
        #expect(corpus.sentences.map(\.document) == [0, 1])
    }

    @Test func aWordThatMerelyStartsLikeDocstartIsAWord() throws {
        let corpus = try readCoNLL("-DOCSTART-x O\n")
        #expect(corpus.sentences.map(\.words) == [["-DOCSTART-x"]])
    }

    @Test func skipsAByteOrderMark() throws {
        let corpus = try CoNLLReader().read(data: Data([0xEF, 0xBB, 0xBF]) + Data("a O\n".utf8), file: "bom.txt")
        #expect(corpus.sentences[0].words == ["a"])
    }

    @Test func readsNonASCIIWords() throws {
        let corpus = try readCoNLL("Zürich B-LOC\n東京 B-LOC\n😀 O\n")
        #expect(corpus.sentences[0].words == ["Zürich", "東京", "😀"])
    }

    @Test func validatesTagsAgainstAScheme() throws {
        _ = try readCoNLL(Self.sample, scheme: .iob2)
        let error = datasetError { _ = try readCoNLL("a B-PER\nb X-PER\n", file: "tags.txt", scheme: .iob2) }
        #expect(error == .invalidTag(file: "tags.txt", line: 2, tag: "X-PER", scheme: "IOB2"))
        #expect(error?.description.hasPrefix("tags.txt:2: \"X-PER\" is not a valid IOB2 tag") == true)
        let bilou = datasetError { _ = try readCoNLL("a U-PER\nb S-PER\n", file: "tags.txt", scheme: .bilou) }
        #expect(bilou == .invalidTag(file: "tags.txt", line: 2, tag: "S-PER", scheme: "BILOU"))
    }

    @Test func readsAFileFromDisk() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("train.txt")
        try Data(Self.sample.utf8).write(to: url)
        let corpus = try CoNLLReader().read(contentsOf: url)
        #expect(corpus.file == url.path)
        #expect(corpus.sentences.count == 3)
    }
}

@Suite struct CoNLLReaderErrorTests {
    @Test func wrongColumnCountNamesFileLineAndTheFirstTokenLine() throws {
        let text = "-DOCSTART- -X- O\n\na X B-PER\nb X O\n\nc O\n"
        let error = datasetError { _ = try readCoNLL(text, file: "bad.txt") }
        #expect(error == .columnCount(file: "bad.txt", line: 6, found: 2, expected: 3, firstTokenLine: 3))
        let message = error?.description ?? ""
        #expect(message.hasPrefix("bad.txt:6: found 2 columns, expected 3 like the first token line (line 3)."))
    }

    @Test func invalidUTF8NamesTheLineOfTheFirstBadByte() throws {
        var data = Data("a O\nb O\n\nc".utf8)
        data.append(0xE9)  // "é" in Latin-1
        data.append(contentsOf: Array(" O\nd\u{FF} O\n".utf8))
        let error = datasetError { _ = try CoNLLReader().read(data: data, file: "latin1.txt") }
        #expect(error == .invalidUTF8(file: "latin1.txt", line: 4))
        #expect(error?.description.contains("latin1.txt:4: invalid UTF-8") == true)
    }

    @Test(arguments: [
        [0xC0, 0x80],              // overlong NUL
        [0xED, 0xA0, 0x80],        // UTF-16 surrogate
        [0xF4, 0x90, 0x80, 0x80],  // above U+10FFFF
        [0xE2, 0x82],              // truncated at the end
        [0x80],                    // stray continuation byte
    ] as [[UInt8]])
    func rejectsEveryKindOfIllFormedUTF8(bytes: [UInt8]) throws {
        let error = datasetError { _ = try CoNLLReader().read(data: Data("a O\n".utf8) + Data(bytes), file: "x.txt") }
        #expect(error == .invalidUTF8(file: "x.txt", line: 2))
    }

    @Test func acceptsWellFormedMultiByteSequences() throws {
        let bytes: [UInt8] = [0xC3, 0xA9, 0xE2, 0x82, 0xAC, 0xF0, 0x9F, 0x98, 0x80, 0xED, 0x9F, 0xBF, 0xF4, 0x8F, 0xBF, 0xBF]
        bytes.withUnsafeBufferPointer { #expect(firstInvalidUTF8Offset($0) == nil) }
    }

    @Test(arguments: ["", "\n\n  \n", "-DOCSTART- -X- O\n\n-DOCSTART- -X- O\n"])
    func aFileWithoutSentencesIsAnError(text: String) throws {
        let error = datasetError { _ = try readCoNLL(text, file: "empty.txt") }
        #expect(error == .noSentences(file: "empty.txt"))
        #expect(error?.description.hasPrefix("empty.txt: no sentences found.") == true)
    }

    @Test func aColumnBeyondTheFileIsAnErrorAtTheFirstTokenLine() throws {
        let error = datasetError { _ = try readCoNLL("\n\na O\n", file: "two.txt", labelColumn: 5) }
        #expect(error == .columnOutOfRange(file: "two.txt", line: 3, column: 5, columnCount: 2, role: "label"))
        #expect(error?.description.contains("two.txt:3: the label column 5 does not exist; token lines have 2 columns") == true)
        let negative = datasetError { _ = try readCoNLL("a O\n", file: "two.txt", tokenColumn: -3) }
        #expect(negative == .columnOutOfRange(file: "two.txt", line: 1, column: -3, columnCount: 2, role: "token"))
    }

    @Test func aOneColumnFileReadForLabelsIsAnErrorInsteadOfLabellingWordsWithThemselves() throws {
        let error = datasetError { _ = try readCoNLL("EU\nrejects\n", file: "raw.txt") }
        #expect(error == .labelColumnIsTokenColumn(file: "raw.txt", line: 1, column: 0, columnCount: 1))
        #expect(error?.description.hasPrefix("raw.txt:1: the label column is column 0, the token column itself") == true)
    }

    @Test func aMissingFileIsAnErrorNamingIt() throws {
        let error = datasetError { _ = try CoNLLReader().read(contentsOf: URL(fileURLWithPath: "/nonexistent/train.txt")) }
        guard case let .unreadable(file, _) = error else {
            Issue.record("expected .unreadable, got \(String(describing: error))")
            return
        }
        #expect(file == "/nonexistent/train.txt")
        #expect(error?.description.hasPrefix("/nonexistent/train.txt: cannot read the file") == true)
    }
}

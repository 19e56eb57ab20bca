import Foundation
import Testing
@testable import Datasets

/// Corpora as they come from the web and from Windows editors: read as Flair's ColumnCorpus reads them
/// where that is well defined, otherwise an error that shows the invisible characters escaped.
@Suite struct DirtyCoNLLTests {
    /// The message of the error reading `text` throws, which must name the file and line.
    static func message(_ text: String, line: Int, sourceLocation: SourceLocation = #_sourceLocation) -> String {
        guard let error = datasetError({ _ = try readCoNLL(text, file: "dirty.txt") }, sourceLocation: sourceLocation) else { return "" }
        #expect(error.description.hasPrefix("dirty.txt:\(line): "), "\(error)", sourceLocation: sourceLocation)
        return error.description
    }

    @Test func aByteOrderMarkAtTheStartOfTheFileIsSkipped() throws {
        let corpus = try readCoNLL("\u{FEFF}-DOCSTART- -X- O\n\nEU NNP B-ORG\n")
        #expect(corpus.documentCount == 1)
        #expect(corpus.sentences.map(\.words) == [["EU"]])
    }

    @Test func aByteOrderMarkAtTheStartOfAJoinedFileIsSkipped() throws {
        // `cat a.txt b.txt` where b.txt was saved with a BOM.
        let corpus = try readCoNLL("EU NNP B-ORG\n\n\u{FEFF}-DOCSTART- -X- O\n\nPeter NNP B-PER\n")
        #expect(corpus.sentences.map(\.words) == [["EU"], ["Peter"]])
        #expect(corpus.documentCount == 2)
        let firstWord = try readCoNLL("EU NNP B-ORG\n\n\u{FEFF}Peter NNP B-PER\n")
        #expect(firstWord.sentences.map(\.words) == [["EU"], ["Peter"]])
    }

    @Test func aByteOrderMarkAloneOnALineIsABlankLine() throws {
        let corpus = try readCoNLL("EU NNP B-ORG\n\u{FEFF}\nPeter NNP B-PER\n")
        #expect(corpus.sentences.map(\.words) == [["EU"], ["Peter"]])
        #expect(corpus.sentences.map(\.line) == [1, 3])
    }

    @Test func aLineOfZeroWidthCharactersThatLooksBlankIsAnErrorShowingThem() {
        let message = Self.message("EU NNP B-ORG\n\u{200B}\nPeter NNP B-PER\n", line: 2)
        #expect(message.contains("looks blank but holds invisible characters: \"\\u{200B}\""), "\(message)")
        let joiner = Self.message("EU NNP B-ORG\n \u{2060}\u{200D} \n", line: 2)
        #expect(joiner.contains("\" \\u{2060}\\u{200D}\""), "\(joiner)")
    }

    @Test func zeroWidthCharactersInsideAWordStayInIt() throws {
        let corpus = try readCoNLL("Pe\u{200B}ter NNP B-PER\n\u{200B} XX O\n")
        #expect(corpus.sentences[0].words == ["Pe\u{200B}ter", "\u{200B}"])
    }

    @Test func aLabelHoldingAZeroWidthCharacterIsAnErrorShowingIt() {
        let message = Self.message("EU NNP B-ORG\nPeter NNP B-PER\u{200B}\n", line: 2)
        #expect(message.contains("the label \"B-PER\\u{200B}\" holds invisible characters"), "\(message)")
    }

    @Test func nonBreakingSpacesSeparateColumnsAndALineOfThemIsBlank() throws {
        // Flair splits columns on \s+ and ends a sentence on a line for which str.isspace() holds.
        let corpus = try readCoNLL("EU\u{A0}NNP B-ORG\u{A0}\n\u{A0}\u{3000}\nPeter NNP\u{2009}B-PER\n")
        #expect(corpus.sentences.map(\.words) == [["EU"], ["Peter"]])
        #expect(corpus.sentences.map(\.labels) == [["B-ORG"], ["B-PER"]])
    }

    @Test func aNonBreakingSpaceInsideAWordIsAColumnCountErrorShowingIt() {
        let message = Self.message("EU NNP B-ORG\nNew\u{A0}York NNP B-LOC\n", line: 2)
        #expect(message.contains("found 4 columns, expected 3"), "\(message)")
        #expect(message.contains("\"New\\u{A0}York NNP B-LOC\""), "\(message)")
    }

    @Test func aSpaceSeparatedLineInATabSeparatedFileIsAnErrorNamingTheTabs() {
        let message = Self.message("EU\tNNP\tB-ORG\nrejects VBZ O\n", line: 2)
        #expect(message.contains("separates columns with tabs (from line 1) but this line has none"), "\(message)")
        #expect(message.contains("\"rejects VBZ O\""), "\(message)")
    }

    @Test func windowsLineEndsAreReadAndALoneCarriageReturnIsAnError() throws {
        let corpus = try readCoNLL("EU NNP B-ORG\r\n\r\nPeter NNP B-PER\r\n")
        #expect(corpus.sentences.map(\.labels) == [["B-ORG"], ["B-PER"]])
        let message = Self.message("EU NNP B-ORG\rPeter NNP B-PER\n", line: 1)
        #expect(message.contains("carriage return (\\r) inside the line"), "\(message)")
        #expect(message.contains("\"EU NNP B-ORG\\rPeter NNP B-PER\""), "\(message)")
    }
}

@Suite struct DirtyJSONLinesTests {
    func read(_ text: String) throws -> Corpus { try JSONLinesReader().read(data: Data(text.utf8), file: "dirty.jsonl") }

    @Test func aByteOrderMarkAtTheStartOfAnyLineIsSkipped() throws {
        let corpus = try read("\u{FEFF}{\"tokens\": [\"EU\"], \"tags\": [\"B-ORG\"]}\n\u{FEFF}{\"tokens\": [\"Peter\"], \"tags\": [\"B-PER\"]}\n")
        #expect(corpus.sentences.map(\.words) == [["EU"], ["Peter"]])
    }

    @Test func aLineOfUnicodeSpacesIsBlankAndALineOfZeroWidthCharactersAnError() throws {
        let corpus = try read("{\"tokens\": [\"EU\"], \"tags\": [\"B-ORG\"]}\n\u{A0}\u{3000}\n")
        #expect(corpus.sentences.count == 1)
        let error = datasetError { _ = try read("{\"tokens\": [\"EU\"], \"tags\": [\"B-ORG\"]}\n\u{200B}\n") }
        #expect(error?.description.hasPrefix("dirty.jsonl:2: the line looks blank but holds invisible characters: \"\\u{200B}\"") == true,
                "\(String(describing: error))")
    }

    @Test func aTagHoldingAZeroWidthCharacterIsAnErrorShowingIt() {
        let error = datasetError { _ = try read("{\"tokens\": [\"EU\"], \"tags\": [\"B-ORG\\u200b\"]}\n") }
        #expect(error?.description.contains("dirty.jsonl:1") == true)
        #expect(error?.description.contains("\"B-ORG\\u{200B}\" holds invisible characters") == true, "\(String(describing: error))")
    }
}

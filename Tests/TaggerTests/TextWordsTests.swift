import Foundation
import Testing
import Tokenizer
@testable import Tagger

@Suite("raw text into words")
struct TextWordsTests {
    let tokenizer: BertTokenizer

    init() throws {
        let model = try TaggerTestModels.tiny()
        tokenizer = try BertTokenizer(directory: model)
        try? FileManager.default.removeItem(at: model)
    }

    private func words(_ text: String) -> [String] {
        let split = TextWords(text, tokenizer: tokenizer)
        return split.spans.map { split.text($0) }
    }

    @Test func wordsFollowBertsPreTokenizerSplittingWhitespaceAndPunctuation() {
        #expect(words("Don Quixote's café, in  La\tMancha!") == ["Don", "Quixote", "'", "s", "café", ",", "in", "La", "Mancha", "!"])
        #expect(words("a-b (c)...") == ["a", "-", "b", "(", "c", ")", ".", ".", "."])
    }

    @Test func everyCJKIdeographIsAWordOfItsOwn() {
        #expect(words("東京 is in 日本。") == ["東", "京", "is", "in", "日", "本", "。"])
    }

    @Test func offsetsCountUnicodeScalarsAsPythonIndexesStrings() {
        // "😀" is one scalar (two UTF-16 units, four UTF-8 bytes); "é" precomposed is one scalar.
        let split = TextWords("😀 café Zürich", tokenizer: tokenizer)
        #expect(split.spans == [0..<1, 2..<6, 7..<13])
    }

    @Test func spansKeepMarksTheNormalizerStripsWithTheirWord() {
        // e + COMBINING ACUTE, heart + VARIATION SELECTOR-16, a ZWJ family, a thumb with a skin tone.
        let text = "Cafe\u{301} ❤\u{FE0F} 👨\u{200D}👩\u{200D}👧 👍🏽 done"
        #expect(words(text) == ["Cafe\u{301}", "❤\u{FE0F}", "👨\u{200D}👩\u{200D}👧", "👍🏽", "done"])
        let split = TextWords(text, tokenizer: tokenizer)
        #expect(split.spans == [0..<5, 6..<8, 9..<14, 15..<17, 18..<22])
    }

    @Test func aWordAttachedToPunctuationByACombiningMarkDoesNotOverlapItsNeighbour() {
        // "!" then a combining mark, then a letter: the mark belongs to the "!" character.
        let text = "a!\u{301}b"
        let split = TextWords(text, tokenizer: tokenizer)
        #expect(split.spans == [0..<1, 1..<3, 3..<4])
        #expect(words(text) == ["a", "!\u{301}", "b"])
    }

    @Test func blankTextHasNoWords() {
        #expect(words("") == [])
        #expect(words(" \t\n ") == [])
        #expect(TextWords("  ", tokenizer: tokenizer).encoded.wordCount == 0)
    }

    @Test func piecesAreGroupedByWordAsTheTokenizerSplitsTheText() {
        let split = TextWords("Quixote went", tokenizer: tokenizer)
        let ids = tokenizer.encode("Quixote went", addSpecialTokens: false).ids
        #expect(split.encoded.pieceIDs == ids)
        #expect(split.encoded.wordStarts == [0, 3, 4])
    }
}

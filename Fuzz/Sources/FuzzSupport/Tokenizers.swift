import Foundation
import Tokenizer

/// A small vocabulary with the pieces WordPiece meets: special tokens, whole words, `##` continuations,
/// accented and CJK characters, digits and punctuation.
public let sampleVocabulary: String = {
    var tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tokens += ["the", "hello", "world", "un", "##able", "##ing", "##s", "play", "café", "cafe", "new", "york",
               "é", "##é", "ü", "日", "本", "語", "ß", "σ", "##σ", "123", "##45"]
    tokens += "abcdefghijklmnopqrstuvwxyz0123456789".map { String($0) }
    tokens += "abcdefghijklmnopqrstuvwxyz0123456789".map { "##" + String($0) }
    tokens += ".,;:!?'\"()[]{}-_/\\@#$%^&*+=<>|~`".map { String($0) }
    return tokens.joined(separator: "\n") + "\n"
}()

/// Strings that reach the normalizer's and WordPiece's branches: accents, CJK, controls, added tokens.
public let sampleTexts = [
    "Hello, world! Unplayable cafés in New York.",
    "[CLS] a [MASK] b [SEP]",
    "日本語 テキスト\u{00A0}with\u{200B}zero\u{FEFF}width \u{0301}marks",
    "ǅungla ΣΟΦΙΑ straße İstanbul \u{0000}\u{FFFD}\t\r\n",
    String(repeating: "a", count: 150),
]

/// What every encoding must satisfy: parallel arrays, ids the tokenizer knows, offsets inside the text
/// and in order, word ids rising.
public func checkEncoding(_ encoding: Encoding, of text: String, by tokenizer: BertTokenizer) {
    let count = encoding.ids.count
    require(encoding.tokens.count == count && encoding.offsets.count == count && encoding.wordIDs.count == count,
            "encoding arrays differ in length")
    let scalars = text.unicodeScalars.count
    var lastStart = 0
    var lastWord = -1
    for i in 0..<count {
        let id = encoding.ids[i]
        require(id >= 0 && Int(id) < tokenizer.vocabularySize, "id \(id) outside the vocabulary of \(tokenizer.vocabularySize)")
        let range = encoding.offsets[i]
        require(range.lowerBound >= 0 && range.upperBound <= scalars, "offsets \(range) outside \(scalars) scalars")
        guard let word = encoding.wordIDs[i] else { continue }
        require(range.lowerBound >= lastStart, "offsets go back: \(range) after a token at \(lastStart)")
        require(word >= lastWord, "word ids go back: \(word) after \(lastWord)")
        lastStart = range.lowerBound
        lastWord = word
    }
}

/// Encodes the sample texts (and their words) with a tokenizer that loaded, checking every encoding.
public func exercise(_ tokenizer: BertTokenizer) {
    for text in sampleTexts {
        checkEncoding(tokenizer.encode(text), of: text, by: tokenizer)
        _ = tokenizer.encode(words: text.split(separator: " ").map(String.init))
    }
    for id in [tokenizer.clsID, tokenizer.sepID, tokenizer.padID, tokenizer.unkID] {
        require(id >= 0 && Int(id) < tokenizer.vocabularySize, "special id \(id) outside the vocabulary")
    }
}

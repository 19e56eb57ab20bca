import Foundation
import FuzzSupport
import Tokenizer

/// The tokenizer on arbitrary bytes. The first byte picks the normalizer (lowercase, strip accents, clean
/// text, Chinese characters); the rest is the text, decoded as `predict` decodes a line (invalid UTF-8
/// becomes U+FFFD), then encoded whole and as pre-split words.
private let tokenizers: [BertTokenizer] = (0..<16).map { bits in
    let configuration = BertTokenizerConfiguration(cleanText: bits & 4 != 0, handleChineseChars: bits & 8 != 0,
                                                   stripAccents: bits & 2 != 0, lowercase: bits & 1 != 0)
    return try! BertTokenizer(vocabTXT: Data(sampleVocabulary.utf8), path: "sample vocab.txt", configuration: configuration)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTokenizerText(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 1 else { return 0 }
    let tokenizer = tokenizers[Int(data[0] & 15)]
    let text = String(decoding: UnsafeBufferPointer(start: data + 1, count: size - 1), as: UTF8.self)
    let encoding = tokenizer.encode(text)
    checkEncoding(encoding, of: text, by: tokenizer)
    require(encoding.ids.first == tokenizer.clsID && encoding.ids.last == tokenizer.sepID, "[CLS] ... [SEP] missing")
    let words = text.split(whereSeparator: { $0 == " " }).map(String.init)
    let byWords = tokenizer.encode(words: words, addSpecialTokens: false)
    for (i, word) in byWords.wordIDs.enumerated() {
        guard let word else { continue }
        require(word >= 0 && word < words.count, "word id \(word) of \(words.count) words")
        require(byWords.offsets[i].upperBound <= words[word].unicodeScalars.count, "offsets past word \(word)")
    }
    return 0
}

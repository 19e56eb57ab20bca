import Foundation

/// BertNormalizer, WordPiece and special-token settings: what tokenizer.json's `normalizer`,
/// `model` and `post_processor` say, or what tokenizer_config.json says beside a vocab.txt.
public struct BertTokenizerConfiguration: Sendable, Equatable {
    /// Drop U+0000, U+FFFD and control/format/private-use characters; turn whitespace into spaces.
    public var cleanText: Bool
    /// Make every CJK ideograph a word of its own.
    public var handleChineseChars: Bool
    /// NFD, then drop nonspacing marks; `nil` means: do it exactly when `lowercase` is on.
    public var stripAccents: Bool?
    public var lowercase: Bool
    public var unknownToken: String
    public var classifierToken: String
    public var separatorToken: String
    public var paddingToken: String
    public var maskToken: String
    public var continuingSubwordPrefix: String
    /// Longer words (in normalized scalars) become one unknown token, as in WordPiece.
    public var maxInputCharsPerWord: Int

    public init(
        cleanText: Bool = true,
        handleChineseChars: Bool = true,
        stripAccents: Bool? = nil,
        lowercase: Bool = true,
        unknownToken: String = "[UNK]",
        classifierToken: String = "[CLS]",
        separatorToken: String = "[SEP]",
        paddingToken: String = "[PAD]",
        maskToken: String = "[MASK]",
        continuingSubwordPrefix: String = "##",
        maxInputCharsPerWord: Int = 100
    ) {
        self.cleanText = cleanText
        self.handleChineseChars = handleChineseChars
        self.stripAccents = stripAccents
        self.lowercase = lowercase
        self.unknownToken = unknownToken
        self.classifierToken = classifierToken
        self.separatorToken = separatorToken
        self.paddingToken = paddingToken
        self.maskToken = maskToken
        self.continuingSubwordPrefix = continuingSubwordPrefix
        self.maxInputCharsPerWord = maxInputCharsPerWord
    }

    /// What `BertTokenizerFast.from_pretrained` derives from a tokenizer_config.json's bytes (`do_lower_case`,
    /// `strip_accents`, `tokenize_chinese_chars` and the special tokens); `path` names them in errors.
    public init(tokenizerConfig data: Data, path: String) throws {
        self = try TokenizerFiles.configuration(tokenizerConfig: data, path: path)
    }

    /// Whether accents are stripped once `nil` is resolved.
    public var stripsAccents: Bool { stripAccents ?? lowercase }
}

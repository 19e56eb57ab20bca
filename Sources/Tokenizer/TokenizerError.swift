import Foundation

/// Why a tokenizer could not be loaded; each case names the file and what to do about it.
public enum TokenizerError: Error, CustomStringConvertible, Equatable {
    /// Neither tokenizer.json nor vocab.txt in the model directory.
    case noTokenizerFiles(directory: String)
    case unreadableFile(path: String, reason: String)
    case invalidJSON(path: String, reason: String)
    /// A key is missing or has the wrong type; `keyPath` is dotted, as in `model.vocab`.
    case invalidValue(path: String, keyPath: String, expected: String)
    /// A component this tokenizer does not implement (it ports BERT's WordPiece pipeline only).
    case unsupported(path: String, keyPath: String, found: String, supported: String)
    /// A special token the configuration names is absent from the vocabulary.
    case missingToken(path: String, token: String, role: String)
    case emptyVocabulary(path: String)

    public var description: String {
        switch self {
        case .noTokenizerFiles(let directory):
            return "\(directory): no tokenizer.json and no vocab.txt; point --model at a HuggingFace BERT model directory "
                + "(for the default encoder run Scripts/setup.sh)."
        case .unreadableFile(let path, let reason):
            return "\(path): cannot read the file (\(reason)); check that it exists and is readable."
        case .invalidJSON(let path, let reason):
            return "\(path): not valid JSON (\(reason)); re-download the file or re-save it from HuggingFace."
        case .invalidValue(let path, let keyPath, let expected):
            return "\(path): key `\(keyPath)` must be \(expected)."
        case .unsupported(let path, let keyPath, let found, let supported):
            return "\(path): `\(keyPath)` is \(found), which this tokenizer does not implement; supported: \(supported). "
                + "Use a BERT-style (WordPiece) model."
        case .missingToken(let path, let token, let role):
            return "\(path): the \(role) token \"\(token)\" is not in the vocabulary; name a token the vocabulary has "
                + "(tokenizer_config.json or tokenizer.json) or fix the vocabulary."
        case .emptyVocabulary(let path):
            return "\(path): the vocabulary is empty; re-download the model files."
        }
    }
}

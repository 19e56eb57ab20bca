/// Why gold and predicted tags could not be scored. Sentence and token indexes count from 0, in
/// the order the sentences were given.
public enum SeqEvalError: Error, Equatable, CustomStringConvertible {
    /// Which of the two inputs a problem is in.
    public enum Side: String, Sendable {
        case gold, predicted
    }

    case sentenceCountMismatch(gold: Int, predicted: Int)
    case sentenceLengthMismatch(sentence: Int, gold: Int, predicted: Int)
    case emptyTag(side: Side, sentence: Int, token: Int)
    /// In strict mode: the tag's first character is not one of the scheme's prefixes.
    case invalidTag(String, scheme: TaggingScheme, side: Side, sentence: Int, token: Int)
    /// There are no tokens at all, so token accuracy is undefined.
    case noTokens

    public var description: String {
        switch self {
        case let .sentenceCountMismatch(gold, predicted):
            "gold has \(gold) sentence\(gold == 1 ? "" : "s") but predictions have \(predicted); score predictions made for exactly the gold sentences"
        case let .sentenceLengthMismatch(sentence, gold, predicted):
            "sentence \(sentence) has \(gold) gold tag\(gold == 1 ? "" : "s") but \(predicted) predicted tag\(predicted == 1 ? "" : "s"); every token needs one tag on each side"
        case let .emptyTag(side, sentence, token):
            "\(side.rawValue) tag \(token) of sentence \(sentence) is empty; use O for tokens outside entities"
        case let .invalidTag(tag, scheme, side, sentence, token):
            "\(side.rawValue) tag '\(tag)' (token \(token) of sentence \(sentence)) does not start with a prefix of \(scheme.rawValue) "
                + "(\(scheme.prefixes.sorted().joined(separator: ", "))); choose the scheme the tags are written in, or use the default mode"
        case .noTokens:
            "there are no tokens to score"
        }
    }
}

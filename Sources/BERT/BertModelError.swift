/// Problems with a batch handed to the model, each naming the offending position and how to fix it.
public enum BertModelError: Error, CustomStringConvertible, Equatable {
    case batchTooLarge(tokens: Int, planned: Int)
    case lengthMismatch(what: String, expected: Int, found: Int)
    case invalidSequenceOffsets(reason: String)
    case sequenceTooLong(sequence: Int, length: Int, limit: Int)
    case idOutOfRange(what: String, token: Int, value: Int32, limit: Int)
    case labelOutOfRange(token: Int, value: Int32, numLabels: Int)

    public var description: String {
        switch self {
        case let .batchTooLarge(tokens, planned):
            return "batch of \(tokens) tokens exceeds the \(planned) the model was planned for; "
                + "make batches smaller or create the model with a larger maxTokens"
        case let .lengthMismatch(what, expected, found):
            return "\(what) has \(found) entries but the batch has \(expected) tokens; pass one per token"
        case let .invalidSequenceOffsets(reason):
            return "invalid sequenceOffsets: \(reason); they must start at 0, never decrease, and end at the token count"
        case let .sequenceTooLong(sequence, length, limit):
            return "sequence \(sequence) has \(length) tokens but at most \(limit) fit "
                + "(max_position_embeddings and the planned token budget); split or truncate it"
        case let .idOutOfRange(what, token, value, limit):
            return "\(what) at token \(token) is \(value), outside 0..<\(limit); check the tokenizer matches the model"
        case let .labelOutOfRange(token, value, numLabels):
            return "label at token \(token) is \(value), outside 0..<\(numLabels) and not -100 (ignored); "
                + "check the label set matches the model's id2label"
        }
    }
}

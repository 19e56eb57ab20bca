import Foundation

/// Everything a user can get wrong in a corpus, a label file or the batching options.
///
/// Each case carries where the problem is (file, 1-based line, key) so that `description`
/// can say what was found, what was expected and how to fix it in one message.
public enum DatasetError: Error, Equatable, Sendable {
    /// The file could not be opened or read.
    case unreadable(file: String, reason: String)
    /// The file holds no sentence at all (empty, only blank lines or only `-DOCSTART-` lines).
    case noSentences(file: String)
    /// The bytes at `line` are not valid UTF-8.
    case invalidUTF8(file: String, line: Int)
    /// A token line has a different number of columns than the file's first token line.
    case columnCount(file: String, line: Int, found: Int, expected: Int, firstTokenLine: Int)
    /// A line that reads otherwise than it looks: invisible characters where the line seems blank or inside a
    /// label, a carriage return inside a line, a space-separated line in a tab-separated file. `shown` is
    /// the line with those characters escaped (`\u{FEFF}`), since they cannot be seen in an editor.
    case invisibleCharacters(file: String, line: Int, problem: String, shown: String, fix: String)
    /// The requested column does not exist in a file with `columnCount` columns.
    case columnOutOfRange(file: String, line: Int, column: Int, columnCount: Int, role: String)
    /// The label column resolves to the token column (typically: a one-column file read for labels).
    case labelColumnIsTokenColumn(file: String, line: Int, column: Int, columnCount: Int)
    /// A label is not a valid tag of the scheme the caller asked for.
    case invalidTag(file: String, line: Int, tag: String, scheme: String)
    /// A JSON Lines record is not valid JSON or has a key of the wrong shape.
    case invalidJSON(file: String, line: Int, key: String?, problem: String)
    /// An integer tag in a JSON Lines record has no entry in the label list.
    case tagIndexOutOfRange(file: String, line: Int, key: String, index: Int, labelCount: Int)
    /// The file's content is not in the format it is read as (JSON Lines read as CoNLL, or the reverse).
    case formatMismatch(file: String, line: Int, readAs: String, found: String, fix: String)
    /// A gold column that holds no tags (typically the words of a file with one tag column).
    case notATagColumn(file: String, column: Int, role: String, problem: String, fix: String)
    /// A `--label-names` value that cannot be used.
    case invalidLabelNames(source: String, problem: String)
    /// A label met in data is not in the label set (usually: seen in dev/test but never in training).
    case unknownLabel(label: String, file: String, line: Int, known: [String])
    /// A label file could not be decoded.
    case invalidLabelFile(file: String, problem: String)
    /// One word needs more pieces than fit in a window of `maxLength` tokens.
    case wordTooLong(file: String, line: Int, word: String, pieces: Int, maxLength: Int)
    /// Window or batching options that cannot work together.
    case invalidOptions(String)
    /// A sequence is longer than the batch token budget, so no batch can hold it.
    case sequenceExceedsBudget(tokens: Int, maxTokens: Int)
    /// Predictions handed back for a batch do not match its shape.
    case predictionShape(expected: Int, found: Int, what: String)
    /// Some words never received a prediction (not every batch of the pass was recorded).
    case incompletePredictions(missing: Int)
    /// A predicted label id has no label (the model's head and the label set disagree).
    case labelIDOutOfRange(id: Int, labelCount: Int)
    /// A model's `config.json` lacks a usable value for `key`.
    case invalidModelConfig(file: String, key: String, problem: String)
    /// The output file could not be written.
    case unwritable(file: String, reason: String)
}

extension DatasetError: CustomStringConvertible, LocalizedError {
    public var description: String {
        switch self {
        case let .unreadable(file, reason):
            return "\(file): cannot read the file (\(reason)). Check the path and its permissions."
        case let .noSentences(file):
            return "\(file): no sentences found. Expected token lines (one token per line, columns separated by spaces or tabs) "
                + "with blank lines between sentences; the file is empty or holds only blank and -DOCSTART- lines."
        case let .invalidUTF8(file, line):
            return "\(file):\(line): invalid UTF-8. Expected UTF-8 text; convert the file, e.g. `iconv -f LATIN1 -t UTF-8`."
        case let .invisibleCharacters(file, line, problem, shown, fix):
            return "\(file):\(line): \(problem): \(shown). \(fix)"
        case let .columnCount(file, line, found, expected, first):
            return "\(file):\(line): found \(found) column\(found == 1 ? "" : "s"), expected \(expected) like the first token line (line \(first)). "
                + "Every token line needs the same columns; fix the line or remove stray spaces inside a column."
        case let .columnOutOfRange(file, line, column, count, role):
            return "\(file):\(line): the \(role) column \(column) does not exist; token lines have \(count) column\(count == 1 ? "" : "s") "
                + "(valid indices 0..<\(count), or -\(count)...-1 counting from the end)."
        case let .labelColumnIsTokenColumn(file, line, column, count):
            return "\(file):\(line): the label column is column \(column), the token column itself; token lines have \(count) column\(count == 1 ? "" : "s"). "
                + "Choose the label column, or read the file without labels to tag it."
        case let .invalidTag(file, line, tag, scheme):
            return "\(file):\(line): \"\(tag)\" is not a valid \(scheme) tag. Expected O or a prefix of the scheme followed by a type (e.g. B-PER); "
                + "choose the scheme the file uses, or convert its tags."
        case let .invalidJSON(file, line, key, problem):
            if let key {
                return "\(file):\(line): key \"\(key)\": \(problem)."
            }
            return "\(file):\(line): \(problem). Expected one JSON object a line, like {\"tokens\": [\"EU\", \"rejects\"], \"tags\": [\"B-ORG\", \"O\"]}."
        case let .tagIndexOutOfRange(file, line, key, index, count):
            return "\(file):\(line): key \"\(key)\": tag index \(index) has no label; the label list has \(count) entr\(count == 1 ? "y" : "ies") "
                + "(0..<\(count)). Pass the label list the integers were made with (--label-names)."
        case let .formatMismatch(file, line, readAs, found, fix):
            return "\(file):\(line): read as \(readAs), but found \(found); \(fix)."
        case let .notATagColumn(file, column, role, problem, fix):
            return "\(file): the \(role) column \(column) does not hold tags: \(problem). \(fix)"
        case let .invalidLabelNames(source, problem):
            return "--label-names \(source): \(problem). Give a file (a JSON array, {\"labels\": [...]}, a config.json with id2label, "
                + "or one label a line) or the labels separated by commas, in the order of the integer tags (O,B-PER,I-PER,...)."
        case let .unknownLabel(label, file, line, known):
            return "\(file):\(line): label \"\(label)\" is not in the label set (\(known.joined(separator: ", "))). "
                + "It never occurs in the training data; add it to the training data or correct the label."
        case let .invalidLabelFile(file, problem):
            return "\(file): not a label file: \(problem). Expected a JSON array of labels, or an object {\"labels\": [...]}."
        case let .wordTooLong(file, line, word, pieces, maxLength):
            return "\(file):\(line): the word \"\(word.prefix(40))\(word.count > 40 ? "…" : "")\" has \(pieces) sub-word pieces, more than fit in a "
                + "sequence of \(maxLength) tokens with [CLS] and [SEP]. Raise the maximum length or split the word."
        case let .invalidOptions(message):
            return message
        case let .sequenceExceedsBudget(tokens, maxTokens):
            return "a sequence of \(tokens) tokens does not fit in a batch of at most \(maxTokens) tokens; "
                + "raise the token budget to at least the maximum sequence length."
        case let .predictionShape(expected, found, what):
            return "predictions do not match the batch: expected \(expected) \(what), found \(found)."
        case let .incompletePredictions(missing):
            return "\(missing) word\(missing == 1 ? " has" : "s have") no prediction; record every batch of the pass before reading the labels."
        case let .labelIDOutOfRange(id, count):
            return "predicted label id \(id) is outside the label set of \(count) labels; the model's classifier and the label set disagree."
        case let .invalidModelConfig(file, key, problem):
            return "\(file): key \"\(key)\": \(problem). Point --model at a HuggingFace model folder, or give the length with --max-length."
        case let .unwritable(file, reason):
            return "\(file): cannot write the file (\(reason)). Check that the folder exists and is writable."
        }
    }

    public var errorDescription: String? { description }
}

/// Problems a user can meet when loading a model to tag with or tagging text, each saying what to do about it.
public enum TaggerError: Error, CustomStringConvertible, Equatable {
    case missingModelDirectory(path: String)
    /// The model's tagging settings file cannot be read or holds a bad value.
    case invalidSettings(file: String, key: String?, problem: String)
    /// The model's labels do not fit the scheme its settings name.
    case labelsOutsideScheme(file: String, problem: String)
    /// The directory's weights have no token classifier (a pretrained encoder, not a fine-tuned tagger).
    case noClassifier(path: String)
    case invalidOption(String)
    /// One word of text `text` (0-based) has more pieces than fit in a window.
    case wordTooLong(text: Int, start: Int, word: String, pieces: Int, maxLength: Int)
    /// A word got no prediction: a windowing defect, never a property of the input.
    case unpredictedWords(sentence: Int)

    public var description: String {
        switch self {
        case let .missingModelDirectory(path):
            return "\(path): model directory not found. Pass a HuggingFace BERT token-classification directory "
                + "(config.json with id2label, model.safetensors, tokenizer.json or vocab.txt), such as the best/ folder "
                + "of a `bert-tagger train` run."
        case let .invalidSettings(file, key, problem):
            let problem = problem.hasSuffix(".") ? String(problem.dropLast()) : problem
            return "\(file): \(key.map { "key \"\($0)\": " } ?? "")\(problem). Fix the value, or delete the file to tag with the defaults."
        case let .labelsOutsideScheme(file, problem):
            return "\(file): \(problem)"
        case let .noClassifier(path):
            return "\(path): no classifier (classifier.weight, classifier.bias): this is a pretrained encoder, not a tagger. "
                + "Fine-tune it first (`bert-tagger train --model DIR ...`) and tag with the run's best/ folder."
        case let .invalidOption(message):
            return "invalid option: \(message)."
        case let .wordTooLong(text, start, word, pieces, maxLength):
            return "text \(text + 1), offset \(start): the word \"\(word.prefix(40))\(word.count > 40 ? "…" : "")\" has \(pieces) sub-word pieces, "
                + "more than fit in a window of \(maxLength) tokens with [CLS] and [SEP]; raise max_length in the model's tagging.json or split the word."
        case let .unpredictedWords(sentence):
            return "internal error: some words of input \(sentence) got no prediction from any window; please report it with the input."
        }
    }
}

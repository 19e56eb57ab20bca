import Foundation

/// Problems a user can meet when training or predicting, each saying what to do about it.
public enum TrainingError: Error, CustomStringConvertible, Equatable {
    case cannotWrite(path: String, reason: String)
    case invalidOption(String)
    case missingFile(path: String, what: String, fix: String)
    case unreadableData(path: String, what: String, reason: String)
    /// `outsideAvailable`: the training labels have `O`, so `--unseen-labels outside` can map to it.
    case unseenLabels(file: String, labels: [(label: String, line: Int)], outsideAvailable: Bool = true)
    case outputHoldsAnotherRun(path: String)
    case nothingToResume(path: String)
    case resumeMismatch(path: String, field: String, saved: String, given: String)
    case emptyData(file: String)
    case nonFiniteLoss(step: Int)
    /// A metrics CSV whose header is not the columns this version logs (a run started by another version).
    case metricsColumnsDiffer(path: String, found: [String], expected: [String])

    public static func == (a: TrainingError, b: TrainingError) -> Bool { a.description == b.description }

    public var description: String {
        switch self {
        case let .cannotWrite(path, reason):
            return "\(path): cannot write (\(reason)). Check that the output directory is writable and the disk has space."
        case let .invalidOption(message):
            return "invalid option: \(message)."
        case let .missingFile(path, what, fix):
            return "\(path): \(what) not found. \(fix)"
        case let .unreadableData(path, what, reason):
            return "\(path): cannot read the \(what) (\(reason)). Check the path."
        case let .unseenLabels(file, labels, outsideAvailable):
            let list = labels.prefix(5).map { "\"\($0.label)\" (line \($0.line))" }.joined(separator: ", ")
            return "\(file): labels the training data never uses: \(list)\(labels.count > 5 ? " and \(labels.count - 5) more" : ""). "
                + "The model cannot predict them; fix the file, train on data that has them (check --label-column or --tag-field), "
                + (outsideAvailable ? "or pass --unseen-labels outside (score them as O) or --unseen-labels skip (leave their sentences out)."
                                    : "or pass --unseen-labels skip (leave their sentences out).")
        case let .outputHoldsAnotherRun(path):
            return "\(path) already holds a run. Pass --resume to continue it, or choose another --output."
        case let .nothingToResume(path):
            return "\(path): no resumable state (last/trainer_state.json) to continue from. Start without --resume."
        case let .resumeMismatch(path, field, saved, given):
            let option = Self.commandLineOption(forKey: field)
            return "\(path): the run was started with \(option) \(saved) (\(field) in options.json), but this command gives \(option) \(given). "
                + "Resume with the same options, or start a new run in another --output."
        case let .emptyData(file):
            return "\(file): no sentences to train or evaluate on."
        case let .nonFiniteLoss(step):
            return "the training loss became infinite or NaN at step \(step). Lower --lr or keep --max-grad-norm on."
        case let .metricsColumnsDiffer(path, found, expected):
            let jsonl = (path as NSString).deletingPathExtension + ".jsonl"
            return "\(path): the header is \"\(found.joined(separator: ","))\" but the run logs \"\(expected.joined(separator: ","))\";"
                + " rows cannot be added under it. Move the file aside (the same rows are in \(jsonl)) and run again;"
                + " a new \((path as NSString).lastPathComponent) is started."
        }
    }
}

extension TrainingError {
    /// The `train` option an options.json key is given by: `learningRate` is `--lr`, the others are their
    /// key in kebab case (`batchTokens` is `--batch-tokens`).
    static func commandLineOption(forKey key: String) -> String {
        if key == "learningRate" { return "--lr" }
        return "--" + key.map { $0.isUppercase ? "-" + $0.lowercased() : String($0) }.joined()
    }
}

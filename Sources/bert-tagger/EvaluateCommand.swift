import ArgumentParser
import Datasets
import Foundation
import SeqEval

/// `bert-tagger evaluate FILE`: seqeval's classification report (or per-tag scores for labels that are
/// not a BIO-style scheme) for a file that holds gold and predicted tags side by side (as `predict` and
/// training write them), in CoNLL columns or JSON Lines.
struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Score predicted tags against gold tags, exactly as seqeval 1.2.2 (entities) or scikit-learn (per tag) does.",
        discussion: """
            Columns are counted from 0; negative numbers count from the end (-1 is the last column). \
            By default the second-to-last column holds the gold tags and the last the predictions. \
            A JSON Lines file (by its extension, or --input-format jsonl) has the columns tokens, tags \
            (--tag-field) and predictions (--prediction-field), as `predict` writes them. \
            Prints seqeval's classification_report, or with --json its output_dict form plus token accuracy. \
            Labels that are not a BIO-style scheme (POS tags such as NNP) are scored per tag, as \
            scikit-learn's classification_report, and the report says so (--scoring chooses).
            """
    )

    enum Mode: String, ExpressibleByArgument, CaseIterable {
        /// conlleval-compatible: an I- tag after O starts an entity.
        case `default`
        /// Only entities well formed in the chosen scheme count.
        case strict
    }

    enum ScoringChoice: String, ExpressibleByArgument, CaseIterable {
        case auto, entities, tags
    }

    @Argument(help: "CoNLL file with gold and predicted tag columns, or JSON Lines with tags and predictions.")
    var file: String

    @OptionGroup var corpusFormat: CorpusFormatOptions

    @Option(name: .customLong("prediction-field"), help: ArgumentHelp("JSON Lines key of the predicted tags (default: predictions); CoNLL files use --pred-column.", valueName: "NAME"))
    var predictionField: String?

    @Option(help: "entities (seqeval), tags (per tag, scikit-learn), or auto: entities when every label is O or B-/I-/E-/S-/L-/U-TYPE, tags otherwise.")
    var scoring: ScoringChoice = .auto

    @Option(name: .customLong("gold-column"), parsing: .unconditional,
            help: "Column of the gold tags (0-based; negative counts from the end). Default: -2, the second-to-last.")
    var goldColumn: Int?

    @Option(name: .customLong("pred-column"), parsing: .unconditional,
            help: "Column of the predicted tags (0-based; negative counts from the end). Default: -1, the last.")
    var predColumn: Int?

    @Option(help: "default (conlleval-compatible) or strict (entities must be well formed in --scheme).")
    var mode: Mode = .default

    @Option(help: "Tagging scheme for --mode strict: \(TaggingScheme.allCases.map(\.rawValue).joined(separator: ", ")).",
            transform: { text in
                guard let scheme = TaggingScheme(rawValue: text.uppercased()) else {
                    throw ValidationError("unknown scheme '\(text)'; choose one of \(TaggingScheme.allCases.map(\.rawValue).joined(separator: ", ")).")
                }
                return scheme
            })
    var scheme: TaggingScheme?

    @Option(help: "Digits after the decimal point in the text report.")
    var digits: Int = 2

    @Flag(help: "Print JSON (seqeval's output_dict=True, plus \"accuracy\", and \"scoring\": \"tags\" for per-tag scores) instead of the text report.")
    var json = false

    func validate() throws {
        if mode == .strict && scheme == nil {
            throw ValidationError("--mode strict needs --scheme (for example --scheme IOB2).")
        }
        if mode == .default && scheme != nil {
            throw ValidationError("--scheme applies only with --mode strict; add --mode strict or drop --scheme.")
        }
        if mode == .strict && scoring == .tags {
            throw ValidationError("--mode strict reads entities; it cannot go with --scoring tags.")
        }
        if digits < 0 {
            throw ValidationError("--digits must be 0 or more.")
        }
    }

    func run() throws {
        let reading = try corpusFormat.reading(labelColumn: nil, extraFields: [])
        let corpus: Corpus
        if reading.format(of: file) == .jsonl {
            var withPredictions = try corpusFormat.reading(labelColumn: -1, extraFields: [predictionField ?? "predictions"])
            withPredictions.format = .jsonl
            corpus = try withPredictions.read(file)
        } else {
            if let predictionField {
                throw CommandError("--prediction-field \(predictionField) names a JSON Lines key, but \(file) is read as CoNLL, "
                    + "whose predicted tags are a column: use --pred-column N (or --input-format jsonl for a JSON Lines file).")
            }
            corpus = try reading.read(file)
        }
        let gold = try corpus.resolveColumn(goldColumn ?? -2, role: "gold")
        let predicted = try corpus.resolveColumn(predColumn ?? -1, role: "predicted")
        let goldTags = corpus.sentences.map { $0.column(gold) }
        let predictedTags = corpus.sentences.map { $0.column(predicted) }
        try Self.checkTagColumns(gold: goldTags, predicted: predictedTags, goldColumn: gold, predictedColumn: predicted,
                                 columnsChosen: goldColumn != nil || predColumn != nil, file: corpus.file)

        let chosen: Scoring
        switch scoring {
        case .entities: chosen = .entities
        case .tags: chosen = .tags
        case .auto: chosen = mode == .strict ? .entities : Scoring(labels: Set(goldTags.joined()).union(predictedTags.joined()))
        }
        let report: ClassificationReport
        do {
            if chosen == .tags {
                report = try tagClassificationReport(gold: goldTags, predicted: predictedTags)
            } else {
                report = try classificationReport(gold: goldTags, predicted: predictedTags, mode: scheme.map { .strict($0) } ?? .default)
            }
        } catch let error as SeqEvalError {
            throw ScoringFailure(description: Self.locate(error, in: corpus))
        }
        if json {
            print(String(decoding: try report.jsonData(prettyPrinted: true), as: UTF8.self))
        } else {
            if chosen == .tags { print(chosen.heading + "\n") }
            print(report.formatted(digits: digits))
            if chosen == .tags { print(String(format: "accuracy %.\(digits)f", report.accuracy)) }
        }
    }

    /// Refuses a gold or predicted column that holds no tags, most often the words of a file with a
    /// single tag column (what `predict` writes for a corpus without labels), which would otherwise be
    /// scored as hundreds of entity types.
    ///
    /// When either column's values are mostly scheme tags (O, B-PER, ...), the other's must be too. For
    /// labels that are not a scheme (POS tags) a weak model may predict few of the gold tags, so only the
    /// default columns are checked there, and the gold column is refused only when it looks like words:
    /// most of its values never predicted, and it is the first column (where words are) or holds more
    /// than 100 distinct values. Columns given by hand are taken as they are.
    static func checkTagColumns(gold: [[String]], predicted: [[String]], goldColumn: Int, predictedColumn: Int,
                                columnsChosen: Bool, file: String) throws {
        let goldValues = Array(gold.joined()), predictedValues = Array(predicted.joined())
        guard !goldValues.isEmpty else { return }
        func schemeShare(_ values: [String]) -> Double {
            Double(values.lazy.filter(Scoring.isSchemeLabel).count) / Double(values.count)
        }
        func share(_ values: [String], in others: Set<String>) -> Double {
            Double(values.lazy.filter { others.contains($0) }.count) / Double(values.count)
        }
        func examples(_ values: [String], _ isTag: (String) -> Bool) -> String {
            var seen: [String] = []
            for value in values where !isTag(value) && !seen.contains(value) {
                seen.append(value)
                if seen.count == 3 { break }
            }
            return seen.map { "\"\($0)\"" }.joined(separator: ", ")
        }
        func percent(_ fraction: Double) -> String { "\(Int((100 * fraction).rounded()))%" }
        let fix = "A file with words and one tag column (what predict writes for a corpus without labels) has no gold tags to score: "
            + "tag a corpus that has its gold labels, or choose the columns with --gold-column and --pred-column."
        let goldScheme = schemeShare(goldValues), predictedScheme = schemeShare(predictedValues)
        if goldScheme >= 0.5 || predictedScheme >= 0.5 {
            for (values, share, column, role) in [(goldValues, goldScheme, goldColumn, "gold"), (predictedValues, predictedScheme, predictedColumn, "predicted")]
            where share < 0.5 {
                throw DatasetError.notATagColumn(
                    file: file, column: column, role: role,
                    problem: "\(percent(1 - share)) of its values are not tags like O or B-PER (e.g. \(examples(values, Scoring.isSchemeLabel))), "
                        + "while the other column's are",
                    fix: role == "gold" ? fix
                        : "The two columns hold different kinds of labels: choose the gold column that matches the predictions with "
                          + "--gold-column (e.g. --gold-column 1 for the POS tags of a CoNLL-2003 file).")
            }
            return
        }
        guard !columnsChosen else { return }
        let predictedSet = Set(predictedValues)
        let inPredicted = share(goldValues, in: predictedSet)
        let distinct = Set(goldValues).count
        if inPredicted < 0.5 && (goldColumn == 0 || distinct > 100) {
            throw DatasetError.notATagColumn(
                file: file, column: goldColumn, role: "gold",
                problem: "\(percent(1 - inPredicted)) of its values never occur in the predicted column \(predictedColumn) "
                    + "(e.g. \(examples(goldValues, { predictedSet.contains($0) }))), and "
                    + (goldColumn == 0 ? "it is the first column, where the words are" : "its \(distinct) distinct values look like words"),
                fix: fix)
        }
    }

    /// A scoring error restated with the file and line it comes from.
    struct ScoringFailure: Error, CustomStringConvertible {
        var description: String
    }

    /// The scorer counts sentences and tokens from 0; a user wants the file's line.
    static func locate(_ error: SeqEvalError, in corpus: Corpus) -> String {
        switch error {
        case let .emptyTag(_, sentence, token), let .invalidTag(_, _, _, sentence, token):
            return "\(corpus.file):\(corpus.sentences[sentence].line(ofWord: token)): \(error)"
        default:
            return "\(corpus.file): \(error)"
        }
    }
}

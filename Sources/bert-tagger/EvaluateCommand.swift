import ArgumentParser
import Datasets
import Foundation
import SeqEval

/// `bert-tagger evaluate FILE`: seqeval's classification report for a CoNLL file that holds gold
/// and predicted tags side by side (as `predict` and training write them).
struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Score predicted tags against gold tags in a CoNLL file, exactly as seqeval 1.2.2 does.",
        discussion: """
            Columns are counted from 0; negative numbers count from the end (-1 is the last column). \
            By default the second-to-last column holds the gold tags and the last the predictions. \
            Prints seqeval's classification_report, or with --json its output_dict form plus token accuracy.
            """
    )

    enum Mode: String, ExpressibleByArgument, CaseIterable {
        /// conlleval-compatible: an I- tag after O starts an entity.
        case `default`
        /// Only entities well formed in the chosen scheme count.
        case strict
    }

    @Argument(help: "CoNLL file with gold and predicted tag columns.")
    var file: String

    @Option(name: .customLong("gold-column"), parsing: .unconditional,
            help: "Column of the gold tags (0-based; negative counts from the end).")
    var goldColumn: Int = -2

    @Option(name: .customLong("pred-column"), parsing: .unconditional,
            help: "Column of the predicted tags (0-based; negative counts from the end).")
    var predColumn: Int = -1

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

    @Flag(help: "Print JSON (seqeval's output_dict=True, plus \"accuracy\") instead of the text report.")
    var json = false

    func validate() throws {
        if mode == .strict && scheme == nil {
            throw ValidationError("--mode strict needs --scheme (for example --scheme IOB2).")
        }
        if mode == .default && scheme != nil {
            throw ValidationError("--scheme applies only with --mode strict; add --mode strict or drop --scheme.")
        }
        if digits < 0 {
            throw ValidationError("--digits must be 0 or more.")
        }
    }

    func run() throws {
        let corpus = try CoNLLReader(tokenColumn: 0, labelColumn: nil).read(contentsOf: URL(fileURLWithPath: file))
        let gold = try corpus.resolveColumn(goldColumn, role: "gold")
        let predicted = try corpus.resolveColumn(predColumn, role: "predicted")
        let evaluationMode: EvaluationMode = scheme.map { .strict($0) } ?? .default

        let report: ClassificationReport
        do {
            report = try classificationReport(gold: corpus.sentences.map { $0.column(gold) },
                                              predicted: corpus.sentences.map { $0.column(predicted) },
                                              mode: evaluationMode)
        } catch let error as SeqEvalError {
            throw ScoringFailure(description: Self.locate(error, in: corpus))
        }
        if json {
            print(String(decoding: try report.jsonData(prettyPrinted: true), as: UTF8.self))
        } else {
            print(report.formatted(digits: digits))
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

import ArgumentParser
import Datasets
import Foundation
import Tokenizer
import Training

/// `bert-tagger data`: looking at corpora before training on them.
struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Inspect corpora.",
        subcommands: [Stats.self]
    )

    /// `bert-tagger data stats FILE`.
    struct Stats: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "stats",
            abstract: "Count sentences, documents, tokens and entities (or tags) of a corpus, and its sub-word lengths for a model.",
            discussion: """
                Reads CoNLL columns or JSON Lines (by the file's extension, or --input-format). Entities are \
                counted as seqeval's default mode reads them; labels that are not a BIO-style scheme (POS tags \
                such as NNP) are counted per tag instead. With --model, every sentence is \
                tokenized with the model's tokenizer: the lengths are in tokens as the model sees them \
                ([CLS] and [SEP] included), and sentences longer than the maximum length are the ones \
                that get split into overlapping windows.
                """
        )

        @Argument(help: "Corpus: CoNLL columns (one token a line, blank lines between sentences) or JSON Lines.")
        var file: String

        @OptionGroup var corpusFormat: CorpusFormatOptions

        @Option(help: "Model folder whose tokenizer measures sub-word lengths (tokenizer.json or vocab.txt, and config.json).")
        var model: String?

        @Option(name: .customLong("label-column"), parsing: .unconditional,
                help: "CoNLL column of the labels (0-based; negative counts from the end). Ignored for one-column files.")
        var labelColumn: Int = -1

        @Option(name: .customLong("max-length"),
                help: "Longest sequence in tokens, [CLS] and [SEP] included (default: the model's max_position_embeddings).")
        var maxLength: Int?

        @Flag(help: "Print the statistics as JSON.")
        var json = false

        func validate() throws {
            if maxLength != nil && model == nil {
                throw ValidationError("--max-length counts sub-word tokens, so it needs --model.")
            }
            if let maxLength, maxLength < 3 {
                throw ValidationError("--max-length must be at least 3 ([CLS], one token, [SEP]).")
            }
        }

        func run() throws {
            let reading = try corpusFormat.reading(labelColumn: nil, tagsOptional: true)
            if reading.format(of: file) == .jsonl && labelColumn != -1 {
                throw CommandError("--label-column chooses a CoNLL column; \(file) is read as JSON Lines, whose tags are chosen by key with --tag-field.")
            }
            var corpus = try reading.read(file)
            if reading.format(of: file) == .conll && corpus.columnCount > 1 {
                let column = try corpus.resolveColumn(labelColumn, role: "label")
                for index in corpus.sentences.indices {
                    corpus.sentences[index].labels = corpus.sentences[index].column(column)
                }
            }

            var encoded: [EncodedSentence]?
            var windowing: Windowing?
            if let model {
                let directory = URL(fileURLWithPath: model)
                let limit = try maximumSequenceLength(modelDirectory: directory, checking: maxLength)
                let tokenizer = try BertTokenizer(directory: directory)
                windowing = try Windowing(maxLength: maxLength ?? limit)
                var encoder = SentenceEncoder(tokenizer: tokenizer)
                encoded = try encoder.encode(corpus)
            }
            let statistics = try CorpusStatistics(corpus: corpus, encoded: encoded, windowing: windowing)

            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                print(String(decoding: try encoder.encode(statistics), as: UTF8.self))
            } else {
                print(Self.report(statistics, model: model), terminator: "")
            }
        }

        static func report(_ stats: CorpusStatistics, model: String?) -> String {
            var text = "\(stats.file)\n"
            func row(_ name: String, _ value: String) { text += "  " + name.padding(toLength: 28, withPad: " ", startingAt: 0) + value + "\n" }
            func summary(_ d: LengthDistribution) -> String {
                "min \(d.min), median \(d.median), p95 \(d.p95), p99 \(d.p99), max \(d.max), mean \(String(format: "%.1f", d.mean))"
            }
            row("sentences", String(stats.sentences))
            row("documents", String(stats.documents))
            row("tokens", String(stats.tokens))
            row("words per sentence", summary(stats.sentenceWords))

            if let entities = stats.entities {
                text += "\nentities (seqeval default mode)\n"
                let types = entities.keys.sorted { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }
                for type in types { row(type, String(entities[type]!)) }
                row("total", String(entities.values.reduce(0, +)))
            } else if stats.scoring == .tags, let labels = stats.labels {
                text += "\ntags (not a BIO-style scheme: counted and scored per tag)\n"
                let names = labels.keys.sorted { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }
                for name in names { row(name, String(labels[name]!)) }
                row("total", String(labels.values.reduce(0, +)))
            }

            if let tokens = stats.sentenceTokens, let model {
                text += "\nsub-word tokens per sentence, [CLS] and [SEP] included (\(model))\n"
                row("lengths", summary(tokens))
                let widest = tokens.histogram.map(\.count).max() ?? 1
                for bin in tokens.histogram {
                    let bar = String(repeating: "#", count: bin.count == 0 ? 0 : max(1, bin.count * 40 / max(widest, 1)))
                    row("\(bin.lower)-\(bin.upper)", String(bin.count).padding(toLength: 8, withPad: " ", startingAt: 0) + bar)
                }
                if let empty = stats.wordsWithoutPieces { row("words without pieces", "\(empty) (each fed as one [UNK])") }
                if let over = stats.sentencesOverMaxLength, let maxLength = stats.maxLength, let windows = stats.windows {
                    row("over \(maxLength) tokens", "\(over) sentence\(over == 1 ? "" : "s") (\(counted(windows, "model input")) after splitting into windows)")
                }
            }
            return text
        }
    }
}

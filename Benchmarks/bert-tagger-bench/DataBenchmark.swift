import ArgumentParser
import Datasets
import Dispatch
import Foundation
import Tokenizer

/// Seconds the data path takes on CoNLL-2003 train: reading, tokenizing and aligning, windowing
/// and batching.
struct DataBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Seconds to read CoNLL-2003 train, tokenize and align it, and window and batch it (build with -c release).")

    @Option(help: "Folder holding train.txt.")
    var corpus = "data/conll2003"

    @Option(help: "Model folder whose tokenizer and max_position_embeddings are used.")
    var model = "models/all-MiniLM-L6-v2"

    @Option(help: "Token budget per batch.")
    var batchTokens = 4096

    @Option(help: "Timed repetitions of each stage; the fastest is reported.")
    var repeats = 3

    func validate() throws {
        guard repeats >= 1 else { throw ValidationError("--repeats must be at least 1") }
    }

    func run() throws {
        try printMachineHeader()
        let trainURL = URL(fileURLWithPath: corpus).appendingPathComponent("train.txt")
        guard FileManager.default.fileExists(atPath: trainURL.path) else {
            throw ValidationError("\(trainURL.path) not found; pass --corpus with the folder that holds CoNLL-2003's train.txt.")
        }
        let modelURL = URL(fileURLWithPath: model)
        let tokenizer = try BertTokenizer(directory: modelURL)
        let windowing = try Windowing(maxLength: try maximumSequenceLength(modelDirectory: modelURL))
        let planner = try BatchPlanner(maxTokens: batchTokens)

        // Each stage runs `repeats` times from scratch (a fresh word cache included) and keeps the fastest.
        var corpus: Corpus!
        let read = try fastest { corpus = try CoNLLReader().read(contentsOf: trainURL) }
        let labels = try LabelSet(collecting: corpus)

        var encoded: [EncodedSentence] = []
        var encoder = SentenceEncoder(tokenizer: tokenizer)
        let align = try fastest {
            encoder = SentenceEncoder(tokenizer: tokenizer)
            encoded = try encoder.encode(corpus, labels: labels)
        }

        var batches: [PackedBatch] = []
        var windows: [SequenceWindow] = []
        let batch = try fastest {
            windows = try windowing.windows(of: encoded, corpus: corpus)
            let data = TokenClassificationDataset(corpus: corpus, encoded: encoded, windows: windows,
                                                  clsID: tokenizer.clsID, sepID: tokenizer.sepID)
            batches = try data.batches(planner, order: .shuffled(seed: 1, epoch: 0))
        }

        let pieces = encoded.reduce(0) { $0 + $1.pieceCount }
        let packed = batches.reduce(0) { $0 + $1.tokenCount }
        let padded = batches.reduce(0) { $0 + $1.maxSequenceLength * $1.sequenceCount }
        print("data benchmark: \(trainURL.path), tokenizer \(model), best of \(repeats)")
        print("  \(corpus.sentences.count) sentences, \(corpus.wordCount) words, \(pieces) pieces, "
              + "\(windows.count) windows (max length \(windowing.maxLength)), \(batches.count) batches of ≤ \(batchTokens) tokens")
        print(String(format: "  padding a padded layout would add: %.1f%%", 100 * Double(padded - packed) / Double(packed)))
        print(String(format: "  read              %.3f s", read))
        print(String(format: "  tokenize + align  %.3f s  (%.0f words/s)", align, Double(corpus.wordCount) / align))
        print(String(format: "  window + batch    %.3f s", batch))
        print(String(format: "  total             %.3f s", read + align + batch))
    }

    private func fastest(_ body: () throws -> Void) throws -> Double {
        var best = Double.infinity
        for _ in 0..<repeats {
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return best
    }
}

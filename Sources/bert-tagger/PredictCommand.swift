import ArgumentParser
import BERT
import Datasets
import Foundation
import Tagger
import Tensors
import Training

/// `bert-tagger predict`: tag a corpus with a token-classification model directory.
struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Tag a CoNLL or JSONL corpus with a token-classification model (ours, or one saved by transformers).",
        discussion: """
            CoNLL output is the input with a predicted-label column appended (document and blank lines kept), \
            so a file with gold labels can be scored with `bert-tagger evaluate OUTPUT`. JSONL input has one \
            {"tokens": [...]} object a line; JSONL output adds "predictions".
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable { case conll, jsonl }

    @Option(help: "Token-classification model directory (config.json with id2label, model.safetensors, tokenizer files).")
    var model: String
    @Option(help: "Corpus to tag.") var input: String
    @Option(help: "Input format: conll or jsonl. Default: jsonl for .jsonl files, conll otherwise.")
    var inputFormat: Format?
    @Option(help: "Output format: conll or jsonl. Default: the input's.") var format: Format?
    @Option(help: "Where to write the tagged corpus (written atomically).") var output: String
    @Option(parsing: .unconditional, help: "CoNLL column of the words.") var tokenColumn = 0
    @Option(help: "Longest model input in sub-words; longer sentences are windowed. Default: the model's maximum.")
    var maxLength: Int?
    @Option(help: "Sub-words shared by neighbouring windows of an over-long sentence.") var stride: Int?
    @Option(help: ArgumentHelp("Feed each sentence with up to N sub-words of the sentences around it in the same document (CoNLL: between -DOCSTART- lines; JSONL: the neighbouring lines) as context. The model does not record it: give the --context it was trained with (its run's options.json).",
                               valueName: "N"))
    var context = 0
    @Option(help: "Real tokens per batch.") var batchTokens = 4096
    @Option(help: "Threads. Default: all cores.") var threads: Int?
    @Option(help: "Number format of the encoder's matrix products: fp32, bf16, or auto (bf16 on CPUs with AMX, else fp32).")
    var precision: PrecisionChoice = .auto

    func validate() throws {
        if batchTokens <= 2 { throw ValidationError("--batch-tokens must exceed 2.") }
        if let maxLength, maxLength < 3 { throw ValidationError("--max-length must be at least 3.") }
        if let threads, threads <= 0 { throw ValidationError("--threads must be positive.") }
        if context < 0 { throw ValidationError("--context must not be negative (0 turns it off).") }
    }

    func run() throws {
        let threadCount = threads ?? ProcessInfo.processInfo.activeProcessorCount
        try ComputeLibraries.load()
        Parallel.setThreadCount(threadCount)
        FileHandle.standardError.write(Data("compute: \(ComputeLibraries.summary); matrix products in \(precision.resolved)\n".utf8))
        let inputURL = URL(fileURLWithPath: input)
        guard FileManager.default.fileExists(atPath: input) else {
            throw ValidationError("\(input): no such file; --input must name the corpus to tag.")
        }
        let inFormat = inputFormat ?? (inputURL.pathExtension.lowercased() == "jsonl" ? .jsonl : .conll)
        let corpus: Corpus
        switch inFormat {
        case .conll: corpus = try CoNLLReader(tokenColumn: tokenColumn, labelColumn: nil).read(contentsOf: inputURL)
        case .jsonl: corpus = try JSONLinesReader(tagsKey: nil).read(contentsOf: inputURL)
        }
        let classifier = try TokenClassifier(directory: URL(fileURLWithPath: model),
                                             maxTokens: max(batchTokens, maxLength ?? 0), seed: 0,
                                             precision: precision.resolved, purpose: .inference)
        let limit = min(maxLength ?? classifier.maxLength, classifier.maxLength, batchTokens)
        let dataset = try classifier.dataset(corpus, labelled: false, windowing: try Windowing(maxLength: limit, stride: stride, context: context))
        let batches = try dataset.batches(try BatchPlanner(maxTokens: batchTokens), order: .lengthSorted)
        let started = Date()
        let progress = ProgressReporter(label: "tagging", total: batches.count)
        let (predictions, _) = try classifier.predict(dataset, batches: batches, progress: progress)
        let seconds = Date().timeIntervalSince(started)
        let outputURL = URL(fileURLWithPath: output)
        switch format ?? inFormat {
        case .conll: try CorpusWriter.writeCoNLL(corpus, predictions: predictions, to: outputURL)
        case .jsonl: try CorpusWriter.writeJSONLines(corpus, predictions: predictions, to: outputURL)
        }
        FileHandle.standardError.write(Data(String(format: "tagged %d sentences (%d words) in %.2f s → %@\n",
                                                   corpus.sentences.count, corpus.wordCount, seconds, output).utf8))
    }
}

import ArgumentParser
import BERT
import Datasets
import FileIO
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
            {"tokens": [...]} object a line, with its gold tags ("tags", "ner_tags" or --tag-field) when it has \
            them; JSONL output keeps the tokens and the gold tags (as strings) and adds "predictions", so it \
            can be scored too.
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable { case conll, jsonl }

    @Option(help: "Token-classification model directory (config.json with id2label, model.safetensors, tokenizer files).")
    var model: String
    @Option(help: "Corpus to tag.") var input: String
    @Option(help: "Input format: conll or jsonl. Default: jsonl for .jsonl, .ndjson and .json files, conll otherwise.")
    var inputFormat: Format?
    @Option(help: "Output format: conll or jsonl. Default: the input's.") var format: Format?
    @Option(help: "Where to write the tagged corpus: a file is replaced atomically (through a symbolic link, its target); a device or FIFO is written as a stream; - (or /dev/stdout) is standard output. Never the --input file.")
    var output: String
    @Option(parsing: .unconditional, help: "CoNLL column of the words.") var tokenColumn = 0
    /// The gold tags of JSON Lines input, kept in the output.
    @OptionGroup var goldTags: JSONLinesTagOptions
    @Option(help: "Longest model input in sub-words; longer sentences are windowed. Default: the model's max_position_embeddings (at most --batch-tokens); more is an error.")
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
        if batchTokens > TrainingOptions.maxBatchTokens {
            throw ValidationError("--batch-tokens must be at most \(TrainingOptions.maxBatchTokens) (activations are planned for a full batch).")
        }
        if let maxLength, maxLength < 3 { throw ValidationError("--max-length must be at least 3.") }
        if let threads, threads <= 0 || threads > TrainingOptions.maxThreads {
            throw ValidationError("--threads must be between 1 and \(TrainingOptions.maxThreads).")
        }
        if context < 0 { throw ValidationError("--context must not be negative (0 turns it off).") }
        if let stride, stride < 0 { throw ValidationError("--stride must not be negative.") }
        if let maxLength, maxLength > batchTokens {
            throw ValidationError("--max-length (\(maxLength)) exceeds --batch-tokens (\(batchTokens)): a full-length window must fit in a batch; raise --batch-tokens or lower --max-length.")
        }
    }

    /// The files and the model's length limit, checked before any model loads.
    func checkPaths() throws {
        guard FileManager.default.fileExists(atPath: input) else {
            throw CommandError("--input \(input): no such file; --input must name the corpus to tag.")
        }
        if let problem = problemWithPath(input) {
            throw CommandError("--input \(input): \(problem); --input must name the corpus to tag.")
        }
        try OutputFile.refuseOverwriting(input: input, inputOption: "--input", output: output, outputOption: "--output")
        try OutputFile.checkWritable(output)
        // From config.json alone. (A model folder without one is reported by the loader, with what it should hold.)
        let modelDirectory = URL(fileURLWithPath: model)
        guard FileManager.default.fileExists(atPath: modelDirectory.appendingPathComponent("config.json").path) else { return }
        let limit = try maximumSequenceLength(modelDirectory: modelDirectory, checking: maxLength)
        _ = try Windowing(maxLength: min(maxLength ?? limit, limit, batchTokens), stride: stride, context: context)
    }

    func run() throws {
        try checkPaths()
        let threadCount = threads ?? ProcessInfo.processInfo.activeProcessorCount
        try ComputeLibraries.load()
        Parallel.setThreadCount(threadCount)
        FileHandle.standardError.write(Data("compute: \(ComputeLibraries.summary); matrix products in \(precision.resolved)\n".utf8))
        let inFormat = inputFormat ?? (CorpusFormat(path: input) == .jsonl ? .jsonl : .conll)
        // CoNLL keeps every column; JSON Lines keeps its gold tags when it has them, so the output can be scored.
        let corpus = try CorpusReading(format: inFormat == .jsonl ? .jsonl : .conll, tokenColumn: tokenColumn, labelColumn: nil,
                                       tagField: goldTags.tagField, tagsOptional: true, labelNames: try goldTags.resolvedLabelNames())
            .read(input)
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
        let tagged: Data
        switch format ?? inFormat {
        case .conll: tagged = try CorpusWriter.conllData(corpus, predictions: predictions)
        case .jsonl: tagged = try CorpusWriter.jsonLinesData(corpus, predictions: predictions)
        }
        // The path as given: `-` is standard output.
        try OutputFile.write(tagged, to: output)
        FileHandle.standardError.write(Data(String(format: "tagged %@ (%@) in %.2f s → %@\n",
                                                   counted(corpus.sentences.count, "sentence"), counted(corpus.wordCount, "word"),
                                                   seconds, output == "-" ? "standard output" : output).utf8))
    }
}

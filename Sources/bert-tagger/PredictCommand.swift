import ArgumentParser
import BERT
import Datasets
import FileIO
import Foundation
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
            can be scored too. CoNLL input written as JSONL keeps its last column (or --label-column) as the gold tags.
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
    @Option(name: .customLong("label-column"), parsing: .unconditional,
            help: "CoNLL input written as JSON Lines (--format jsonl): the column of the gold tags kept as \"tags\" (negative counts from the end). Default: the last, when the file has more than one column.")
    var labelColumn: Int?
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
        if let labelColumn, inputFormatChosen != .conll || outputFormatChosen != .jsonl {
            throw CommandError("--label-column \(labelColumn) chooses the gold column of CoNLL input written as JSON Lines; "
                + (inputFormatChosen == .jsonl ? "\(input) is read as JSON Lines, whose gold tags are chosen by key with --tag-field."
                                               : "CoNLL output keeps every column as it is. Leave it out, or add --format jsonl."))
        }
        try OutputFile.refuseOverwriting(input: input, inputOption: "--input", output: output, outputOption: "--output")
        try OutputFile.checkWritable(output)
        // From config.json alone. (A model folder without one is reported by the loader, with what it should hold.)
        let modelDirectory = URL(fileURLWithPath: model)
        guard FileManager.default.fileExists(atPath: modelDirectory.appendingPathComponent("config.json").path) else { return }
        let limit = try maximumSequenceLength(modelDirectory: modelDirectory, checking: maxLength)
        _ = try Windowing(maxLength: min(maxLength ?? limit, limit, batchTokens), stride: stride, context: context)
    }

    var inputFormatChosen: Format { inputFormat ?? (CorpusFormat(path: input) == .jsonl ? .jsonl : .conll) }
    var outputFormatChosen: Format { format ?? inputFormatChosen }

    /// CoNLL read for tagging keeps every column and no labels; written as JSON Lines, its gold tags (the
    /// last column, as `evaluate` reads CoNLL, or `labelColumn`) become "tags", so the output can be scored.
    static func withGoldTags(_ corpus: Corpus, labelColumn: Int?, tokenColumn: Int) throws -> Corpus {
        guard corpus.columnCount > 1 || labelColumn != nil else { return corpus }
        let column = try corpus.resolveColumn(labelColumn ?? -1, role: "gold")
        if labelColumn == nil, column == (try corpus.resolveColumn(tokenColumn, role: "token")) { return corpus }
        var tagged = corpus
        for index in tagged.sentences.indices { tagged.sentences[index].labels = tagged.sentences[index].column(column) }
        return tagged
    }

    func run() throws {
        try checkPaths()
        let threadCount = threads ?? ProcessInfo.processInfo.activeProcessorCount
        try ComputeLibraries.load()
        Parallel.setThreadCount(threadCount)
        FileHandle.standardError.write(Data("compute: \(ComputeLibraries.summary); matrix products in \(precision.resolved)\n".utf8))
        let inFormat = inputFormatChosen
        // CoNLL keeps every column; JSON Lines keeps its gold tags when it has them, so the output can be scored.
        let corpus = try CorpusReading(format: inFormat == .jsonl ? .jsonl : .conll, tokenColumn: tokenColumn, labelColumn: nil,
                                       tagField: goldTags.tagField, tagsOptional: true, labelNames: try goldTags.resolvedLabelNames())
            .read(input)
        // Before the model loads: a --label-column the file does not have is told at once.
        let jsonLinesCorpus = inFormat == .conll && outputFormatChosen == .jsonl
            ? try Self.withGoldTags(corpus, labelColumn: labelColumn, tokenColumn: tokenColumn) : corpus
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
        switch outputFormatChosen {
        case .conll: tagged = try CorpusWriter.conllData(corpus, predictions: predictions)
        case .jsonl: tagged = try CorpusWriter.jsonLinesData(jsonLinesCorpus, predictions: predictions)
        }
        // The path as given: `-` is standard output.
        try OutputFile.write(tagged, to: output)
        FileHandle.standardError.write(Data(String(format: "tagged %@ (%@) in %.2f s → %@\n",
                                                   counted(corpus.sentences.count, "sentence"), counted(corpus.wordCount, "word"),
                                                   seconds, output == "-" ? "standard output" : output).utf8))
    }
}

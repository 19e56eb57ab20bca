import ArgumentParser
import DataParallel
import BERT
import Datasets
import FileIO
import Foundation
import Tagger
import Tensors
import Training

/// `bert-tagger predict`: tag raw text, or a CoNLL or JSONL corpus, with a token-classification model directory.
struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Tag raw text, or a CoNLL or JSONL corpus, with a token-classification model (ours, or one saved by transformers).",
        discussion: """
            Reads standard input and writes standard output unless --input / --output name files, so it works in a \
            pipe: echo "My name is Don Quixote ." | bert-tagger predict --model runs/conll/best

            Text input is one document a line. JSONL output (the default for text) is one object per input line, in \
            order: {"text": ..., "entities": [{"type", "start", "end", "text", "score"}]}, offsets counting Unicode \
            scalars as Python indexes a str (text[start:end] is the entity); a blank line gives no entities. CoNLL \
            output of text is each line's words with their predicted labels, a blank line after each input line.

            CoNLL input gives the input with a predicted-label column appended (document and blank lines kept), so a \
            file with gold labels can be scored with `bert-tagger evaluate OUTPUT`. JSONL input has one \
            {"tokens": [...]} object a line, with its gold tags ("tags", "ner_tags" or --tag-field) when it has \
            them; JSONL output of it keeps the tokens and the gold tags (as strings) and adds "predictions", so it \
            can be scored too. CoNLL input written as JSONL keeps its last column (or --label-column) as the gold tags.

            HTML output is one self-contained page (no scripts, nothing fetched) with the entities of every text \
            or sentence highlighted by type and a legend of the types.

            Document context, maximum length, stride, decoding and aggregation come from the model's tagging.json \
            (written by `train`; defaults for a directory without one); the options below override them.
            """
    )

    enum InputFormat: String, ExpressibleByArgument, CaseIterable { case text, conll, jsonl }
    enum OutputFormat: String, ExpressibleByArgument, CaseIterable { case jsonl, conll, html }

    @Option(help: "Token-classification model directory (config.json with id2label, model.safetensors, tokenizer files).")
    var model: String
    @Option(help: "Input to tag; - (the default) is standard input.") var input = "-"
    @Option(help: "Input format: text (one document a line), conll or jsonl (pre-split words). Default: text for standard input; for a file, jsonl for .jsonl, .ndjson and .json, conll for .conll, .conllu, .iob, .bio, .tsv and the like, else (.txt, as CoNLL-2003's files are named) conll if it opens with -DOCSTART- or its first lines end in tags (O, B-PER, ...), are one word each or hold tabs, and text otherwise; stderr says which.")
    var inputFormat: InputFormat?
    @Option(help: "Output format: jsonl, conll or html. Default: jsonl for text, the input's format otherwise.") var format: OutputFormat?
    @Option(help: "Where to write the result: a file is replaced atomically (through a symbolic link, its target); a device or FIFO is written as a stream; - (the default, or /dev/stdout) is standard output. Never the --input file.")
    var output = "-"
    @Option(help: "How word labels are chosen: viterbi (the best well-formed label sequence) or argmax (each word's most probable label). Default: the model's tagging.json, else viterbi.")
    var decoding: Decoding?
    @Option(help: "How a word's sub-word scores are combined: first, average or max. Default: the model's tagging.json, else first.")
    var aggregation: Aggregation?
    @Option(help: ArgumentHelp("Longest line of text input, in bytes; a longer line is an error naming it.", valueName: "BYTES"))
    var maxLineBytes = 1_000_000
    @Option(parsing: .unconditional, help: "CoNLL column of the words.") var tokenColumn = 0
    @Option(name: .customLong("label-column"), parsing: .unconditional,
            help: "CoNLL input written as JSON Lines (--format jsonl): the column of the gold tags kept as \"tags\" (negative counts from the end). Default: the last, when the file has more than one column.")
    var labelColumn: Int?
    /// The gold tags of JSON Lines input, kept in the output.
    @OptionGroup var goldTags: JSONLinesTagOptions
    @Option(help: "Longest model input in sub-words; longer inputs are windowed. Default: the model's tagging.json, else its max_position_embeddings (at most --batch-tokens); more is an error.")
    var maxLength: Int?
    @Option(help: "Sub-words shared by neighbouring windows of an over-long input. Default: the model's tagging.json, else a quarter of the length, at most 128.")
    var stride: Int?
    @Option(help: ArgumentHelp("Feed each sentence of a CoNLL or JSONL input with up to N sub-words of the sentences around it in the same document (CoNLL: between -DOCSTART- lines; JSONL: the neighbouring lines) as context. Default: the model's tagging.json, which records the context it was trained with; give the --context it was trained with for a model without one.",
                               valueName: "N"))
    var context: Int?
    @Option(help: "Real tokens per batch.") var batchTokens = 4096
    @Option(help: "Threads. Default: all cores (under mpirun, shared between the ranks of a host, which tag shards of --input).") var threads: Int?
    @Option(help: "Number format of the encoder's matrix products: fp32, bf16, int8 (8-bit inputs quantized per token and per output channel, fastest where oneDNN has AMX or AVX512-VNNI; slightly different tags), or auto (bf16 on CPUs with AMX and on AMD CPUs with AVX512-BF16, else fp32).")
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
        if let context, context < 0 { throw ValidationError("--context must not be negative (0 turns it off).") }
        if let stride, stride < 0 { throw ValidationError("--stride must not be negative.") }
        if let maxLength, maxLength > batchTokens {
            throw ValidationError("--max-length (\(maxLength)) exceeds --batch-tokens (\(batchTokens)): a full-length window must fit in a batch; raise --batch-tokens or lower --max-length.")
        }
        if maxLineBytes < 1 { throw ValidationError("--max-line-bytes must be at least 1.") }
    }

    var readsStandardInput: Bool { input == "-" || input == "/dev/stdin" }

    /// The input's format: as given, else from the file name, else (a `.txt` file, say) from its content;
    /// standard input is text. `data` is the input's bytes.
    func resolvedInputFormat(data: Data) -> (format: InputFormat, guessed: Bool) {
        if let inputFormat { return (inputFormat, false) }
        if readsStandardInput { return (.text, false) }
        if CorpusFormat(path: input) == .jsonl { return (.jsonl, false) }
        if InputFormatGuess.conllExtensions.contains(URL(fileURLWithPath: input).pathExtension.lowercased()) { return (.conll, false) }
        return (InputFormatGuess.looksLikeCoNLL(data) ? .conll : .text, true)
    }

    /// The files and the model's length limit, checked before any model loads.
    func checkPaths() throws {
        if !readsStandardInput {
            guard FileManager.default.fileExists(atPath: input) else {
                throw CommandError("--input \(input): no such file; --input must name the text or corpus to tag (or - for standard input).")
            }
            if let problem = problemWithPath(input) {
                throw CommandError("--input \(input): \(problem); --input must name the text or corpus to tag (or - for standard input).")
            }
            try OutputFile.refuseOverwriting(input: input, inputOption: "--input", output: output, outputOption: "--output")
        }
        try OutputFile.checkWritable(output)
        // From config.json alone. (A model folder without one is reported by the loader, with what it should hold.)
        let modelDirectory = URL(fileURLWithPath: model)
        guard FileManager.default.fileExists(atPath: modelDirectory.appendingPathComponent("config.json").path) else { return }
        let limit = try maximumSequenceLength(modelDirectory: modelDirectory, checking: maxLength)
        if maxLength != nil || stride != nil {
            _ = try Windowing(maxLength: min(maxLength ?? limit, limit, batchTokens), stride: stride, context: context ?? 0)
        }
    }

    /// The model's tagging settings with the options given on the command line in their place.
    func settings(modelDirectory: URL,
                  note: (String) -> Void = { FileHandle.standardError.write(Data($0.utf8)) }) throws -> TaggingSettings {
        var settings = try TaggingSettings.load(from: modelDirectory)
        if let context { settings.context = context }
        if let maxLength {
            settings.maxLength = maxLength
            // A saved stride is for the saved length: one that leaves no room in the shorter windows asked for gives way
            // to the default (a quarter of the length), rather than failing on a file the user did not write.
            if stride == nil, let saved = settings.stride, saved >= maxLength - 2 {
                note("the stride \(saved) of \(TaggingSettings.fileName) does not fit windows of --max-length \(maxLength); using the default (give --stride to choose)\n")
                settings.stride = nil
            }
        }
        if let stride { settings.stride = stride }
        if let decoding { settings.decoding = decoding }
        if let aggregation { settings.aggregation = aggregation }
        return settings
    }

    func run() throws {
        try runAsRank { world in try run(world) }
    }

    /// Under `mpirun -np N` the ranks tag contiguous shards of the input and rank 0 writes the output, in
    /// input order, as one process would.
    func run(_ world: any Communicator) throws {
        // Rank 0 alone speaks.
        let note: (String) -> Void = world.isRoot ? { FileHandle.standardError.write(Data($0.utf8)) } : { _ in }
        if world.size > 1 && readsStandardInput {
            throw CommandError("under mpirun only rank 0 reads standard input: give --input FILE, a file every rank can read.")
        }
        try checkPaths()
        let inputName = readsStandardInput ? "standard input" : input
        // Read (and check) the input before the model loads: a bad line is reported at once.
        let inputData: Data
        if readsStandardInput {
            if isatty(STDIN_FILENO) != 0 {
                FileHandle.standardError.write(Data("reading \(inputFormat?.rawValue ?? "text") from the terminal until end of input (Ctrl-D); give --input FILE to tag a file\n".utf8))
            }
            inputData = FileHandle.standardInput.readDataToEndOfFile()
        } else {
            inputData = try Data(contentsOf: URL(fileURLWithPath: input))
        }
        let (inFormat, guessed) = resolvedInputFormat(data: inputData)
        if guessed {
            note(inFormat == .text
                ? "reading \(input) as raw text, one document a line (from its content; --input-format conll or jsonl for pre-split words)\n"
                : "reading \(input) as CoNLL (from its content; --input-format text for raw text)\n")
        }
        if inFormat == .text {
            // Options of pre-split corpora would be silently ignored on text.
            let corpusOptions = [(tokenColumn != 0, "--token-column"), (goldTags.tagField != nil, "--tag-field"),
                                 (goldTags.labelNames != nil, "--label-names")].filter(\.0).map(\.1)
            if !corpusOptions.isEmpty {
                throw CommandError("\(corpusOptions.joined(separator: ", ")) \(corpusOptions.count == 1 ? "applies" : "apply") to CoNLL or JSONL input, "
                    + "but \(inputName) is read as raw text; give --input-format conll or jsonl, or leave \(corpusOptions.count == 1 ? "it" : "them") out.")
            }
        }
        let outFormat = format ?? (inFormat == .conll ? .conll : .jsonl)
        if let labelColumn, inFormat != .conll || outFormat != .jsonl {
            throw CommandError("--label-column \(labelColumn) chooses the gold column of CoNLL input written as JSON Lines; "
                + (inFormat == .jsonl ? "\(inputName) is read as JSON Lines, whose gold tags are chosen by key with --tag-field."
                   : inFormat == .text ? "\(inputName) is read as raw text; give --input-format conll."
                   : "CoNLL output keeps every column as it is. Leave it out, or add --format jsonl."))
        }
        let lines = inFormat == .text ? try TextLines.split(inputData, file: inputName, maxLineBytes: maxLineBytes) : []
        let corpus: Corpus?
        if inFormat == .text {
            corpus = nil
        } else {
            // CoNLL keeps every column; JSON Lines keeps its gold tags when it has them, so the output can be scored.
            let reading = CorpusReading(format: inFormat == .jsonl ? .jsonl : .conll, tokenColumn: tokenColumn, labelColumn: nil,
                                        tagField: goldTags.tagField, tagsOptional: true, labelNames: try goldTags.resolvedLabelNames())
            corpus = try reading.read(data: inputData, file: inputName)
        }
        // Before the model loads: a --label-column the file does not have is told at once.
        let jsonLinesCorpus = try corpus.map { corpus in
            inFormat == .conll && outFormat == .jsonl
                ? try Self.withGoldTags(corpus, labelColumn: labelColumn, tokenColumn: tokenColumn) : corpus
        }

        let threadCount = threads ?? defaultThreadCount()
        try ComputeLibraries.load()
        Parallel.setThreadCount(threadCount)
        note("compute: \(ComputeLibraries.summary); matrix products in \(precision.resolved)"
             + (world.size > 1 ? "; \(world.size) ranks, \(threadCount) thread\(threadCount == 1 ? "" : "s") each" : "") + "\n")
        let modelDirectory = URL(fileURLWithPath: model)
        let tagger = try Tagger(directory: modelDirectory, settings: try settings(modelDirectory: modelDirectory, note: note),
                                precision: precision, batchTokens: max(batchTokens, maxLength ?? 0), concurrency: 1)

        let started = Date()
        let summary: String
        if let corpus {
            guard let tagged = try tagCorpus(corpus, with: tagger, world: world, note: note) else { return }
            let predictions = tagged.map { $0.words.map(\.label) }
            let data: Data
            switch outFormat {
            case .conll: data = try CorpusWriter.conllData(corpus, predictions: predictions)
            case .jsonl: data = try CorpusWriter.jsonLinesData(jsonLinesCorpus ?? corpus, predictions: predictions)
            case .html: data = Data(EntityHTML.page(tagged, title: "Entities in \(inputName)").utf8)
            }
            // The path as given: `-` is standard output.
            try OutputFile.write(data, to: output)
            summary = "\(counted(corpus.sentences.count, "sentence")) (\(counted(corpus.wordCount, "word")))"
        } else {
            guard let entityCount = try tagLines(lines, file: inputName, with: tagger, format: outFormat, world: world, note: note) else { return }
            summary = "\(counted(lines.count, "line")) (\(counted(entityCount, "entity", plural: "entities")))"
        }
        let seconds = Date().timeIntervalSince(started)
        FileHandle.standardError.write(Data(String(format: "tagged %@ in %.2f s → %@\n", summary, seconds,
                                                   output == "-" ? "standard output" : output).utf8))
    }

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

    /// Sentences or lines tagged per call at most: progress shows on long inputs.
    static let sentencesPerChunk = 512

    /// The runs of items (sentences or lines) the tagger is called with: about one batch of tokens each
    /// (`tokens` estimates an item's), at most `sentencesPerChunk` items, ending only before an item where
    /// `mayEndBefore` allows. They depend on the input alone, never on the rank count, so that under MPI every
    /// batch is the batch one process runs and the output is byte for byte the same; and an input of a few
    /// batches still gives every rank some.
    static func chunks(count: Int, batchTokens: Int, tokens: (Int) -> Int,
                       mayEndBefore: (Int) -> Bool = { _ in true }) -> [Range<Int>] {
        var chunks: [Range<Int>] = []
        var start = 0, running = 0
        for index in 0 ..< count {
            let cost = tokens(index)
            if index > start && (index - start >= sentencesPerChunk || running + cost > batchTokens) && mayEndBefore(index) {
                chunks.append(start ..< index)
                start = index
                running = 0
            }
            running += cost
        }
        if start < count { chunks.append(start ..< count) }
        return chunks
    }

    /// A sentence's tokens, roughly: one a word, with [CLS] and [SEP].
    static func estimatedTokens(_ sentence: Sentence) -> Int { sentence.words.count + 2 }

    /// A line's tokens, roughly: one per four bytes, with [CLS] and [SEP].
    static func estimatedTokens(_ line: String) -> Int { line.utf8.count / 4 + 2 }

    /// Tags a corpus a chunk of sentences at a time (whole documents when there is context, so that it never crosses
    /// a chunk), with progress on long inputs.
    /// Under MPI each rank tags a contiguous run of the chunks, balanced by tokens, and rank 0 gathers the results in
    /// order; the other ranks get nil.
    func tagCorpus(_ corpus: Corpus, with tagger: Tagger, world: any Communicator = SingleProcess(),
                   note: (String) -> Void = { _ in }) throws -> [TaggedText]? {
        // Without context sentences are tagged alone and a chunk may end anywhere; with it, only between documents.
        let alone = tagger.settings.context == 0
        let chunks = Self.chunks(count: corpus.sentences.count, batchTokens: tagger.batchTokens,
                                 tokens: { Self.estimatedTokens(corpus.sentences[$0]) },
                                 mayEndBefore: { alone || corpus.sentences[$0].document != corpus.sentences[$0 - 1].document })
        let mine = Self.share(of: chunks, world: world, unit: "sentences", note: note) { chunk in
            corpus.sentences[chunk].reduce(0) { $0 + Self.estimatedTokens($1) }
        }
        let progress = chunks.count > 1 && world.isRoot ? ProgressReporter(label: "tagging", total: mine.last?.upperBound ?? 0) : nil
        var tagged: [TaggedText] = []
        // Tagging its share is this rank's own work: a failure there is its to tell.
        try world.alone {
            for chunk in mine {
                let part = Corpus(file: corpus.file, sentences: Array(corpus.sentences[chunk]))
                tagged += try tagger.tag(corpus: part)
                progress?.update(chunk.upperBound)
            }
        }
        return try Self.gather(tagged, world: world)
    }

    /// This rank's chunks: a contiguous run of them, balanced by `cost` (all of them alone). Under MPI `note` gets
    /// every rank's count of items (`unit`), the same on every rank.
    static func share(of chunks: [Range<Int>], world: any Communicator, unit: String, note: (String) -> Void,
                      cost: (Range<Int>) -> Int) -> ArraySlice<Range<Int>> {
        guard world.size > 1 else { return chunks[...] }
        let parts = Shards.contiguous(costs: chunks.map(cost), parts: world.size)
        note("\(unit) per rank: " + parts.map { chunks[$0].reduce(0) { $0 + $1.count }.description }.joined(separator: ", ") + "\n")
        return chunks[parts[world.rank]]
    }

    /// Every rank's tagged texts, in rank order, at rank 0 (binary property lists keep every probability's bits);
    /// nil on the other ranks.
    static func gather(_ tagged: [TaggedText], world: any Communicator) throws -> [TaggedText]? {
        guard world.size > 1 else { return tagged }
        let encoder = PropertyListEncoder()
        encoder.outputFormat = .binary
        guard let parts = try world.gather(Array(try encoder.encode(tagged)), root: 0) else { return nil }
        return try parts.flatMap { try PropertyListDecoder().decode([TaggedText].self, from: Data($0)) }
    }

    /// Tags text lines in chunks and streams each chunk's results to the output (HTML, one page, at the end);
    /// returns the number of entities found.
    /// Under MPI each rank tags a contiguous run of the chunks and rank 0 writes them all, in order; the other
    /// ranks write nothing and get nil.
    func tagLines(_ lines: [String], file: String, with tagger: Tagger, format: OutputFormat,
                  world: any Communicator = SingleProcess(), note: (String) -> Void = { _ in }) throws -> Int? {
        let chunks = Self.chunks(count: lines.count, batchTokens: tagger.batchTokens, tokens: { Self.estimatedTokens(lines[$0]) })
        func tag(_ chunk: Range<Int>) throws -> [TaggedText] {
            do {
                return try tagger.tag(texts: Array(lines[chunk]))
            } catch let TaggerError.wordTooLong(text, start, word, pieces, maxLength) {
                throw CommandError("\(file):\(chunk.lowerBound + text + 1): the word \"\(word.prefix(40))\(word.count > 40 ? "…" : "")\" "
                    + "at offset \(start) has \(pieces) sub-word pieces, more than fit in a window of \(maxLength) tokens with [CLS] and [SEP]; "
                    + "split the word, or raise --max-length (up to the model's max_position_embeddings).")
            }
        }
        // Under MPI the ranks tag their chunks first; rank 0 then writes every chunk in order.
        var gathered: [[TaggedText]]?
        if world.size > 1 {
            let mine = Self.share(of: chunks, world: world, unit: "lines", note: note) { chunk in
                lines[chunk].reduce(0) { $0 + Self.estimatedTokens($1) }
            }
            let progress = chunks.count > 1 && world.isRoot ? ProgressReporter(label: "tagging", total: mine.last?.upperBound ?? 0) : nil
            var tagged: [TaggedText] = []
            try world.alone {
                for chunk in mine {
                    tagged += try tag(chunk)
                    progress?.update(chunk.upperBound)
                }
            }
            guard let all = try Self.gather(tagged, world: world) else { return nil }
            gathered = chunks.map { Array(all[$0]) }
        }
        let progress = chunks.count > 1 && gathered == nil ? ProgressReporter(label: "tagging", total: lines.count) : nil
        var entityCount = 0
        var page: [TaggedText] = []
        try OutputFile.write(to: output) { sink in
            for (index, chunk) in chunks.enumerated() {
                let tagged = try gathered?[index] ?? tag(chunk)
                entityCount += tagged.reduce(0) { $0 + $1.entities.count }
                switch format {
                case .jsonl:
                    try sink.write(tagged.map { EntityJSON.line($0) + "\n" }.joined())
                case .conll:
                    try sink.write(tagged.map { text in text.words.map { "\($0.text) \($0.label)\n" }.joined() + "\n" }.joined())
                case .html:
                    page += tagged
                }
                progress?.update(chunk.upperBound)
            }
            if format == .html { try sink.write(EntityHTML.page(page, title: "Entities in \(file)")) }
        }
        return entityCount
    }
}

extension Decoding: ExpressibleByArgument {}
extension Aggregation: ExpressibleByArgument {}

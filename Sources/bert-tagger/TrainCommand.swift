import ArgumentParser
import DataParallel
import Datasets
import Foundation
import Tagger
import Tensors
import Training

/// `bert-tagger train`: fine-tune a BERT encoder for token classification and keep the best model.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Fine-tune a BERT encoder for token classification, validating every epoch and keeping the best model.",
        discussion: """
            With no --train/--dev, trains on CoNLL-2003 NER from \(defaultDataDirectory)/{train,dev,test}.txt \
            (`bash Scripts/setup.sh` links ../shared/data/conll2003 there). Ctrl-C saves a resumable state and \
            prints the command that continues it: `train --resume RUN_DIR`, which reads the run's options.json \
            (options given with it must agree, except --threads, --allreduce, --log-every and --save-every). \
            Under `mpirun -np N` the ranks train data-parallel: --batch-tokens stays the budget of a whole step, \
            split between the ranks by tokens, and rank 0 alone writes the run directory. \
            Columns count from 0; negative numbers count from the end, so --label-column 1 trains CoNLL-2003's \
            POS tags and 2 its chunk tags.
            """
    )

    static let defaultDataDirectory = "data/conll2003"

    @Option(help: "HuggingFace BERT directory (config.json, model.safetensors, tokenizer files).")
    var model = "models/all-MiniLM-L6-v2"
    @Option(help: "Training data, CoNLL columns or JSON Lines (see --input-format). Default: \(defaultDataDirectory)/train.txt.")
    var train: String?
    @Option(help: "Dev data scored after every epoch. Default: \(defaultDataDirectory)/dev.txt.")
    var dev: String?
    @Option(help: "Test data scored with the best model at the end. Default: \(defaultDataDirectory)/test.txt when --train is not given.")
    var test: String?
    @Option(help: "Run directory. Default: runs/<date>-<time>.")
    var output: String?

    @Option(parsing: .unconditional, help: "Passes over the training data.") var epochs = 3
    @Option(parsing: .unconditional, help: "Peak learning rate.") var lr = 1e-4
    @Option(help: "At most this many real tokens (sub-words with [CLS]/[SEP], no padding) per batch; 32 CoNLL-2003 sentences are 640 on average.") var batchTokens = 4096
    @Option(help: "At most this many sentences per batch (0: only --batch-tokens bounds a batch).") var batchSentences = 32
    @Option(help: "Batches whose gradients add up to one optimizer step.") var gradientAccumulation = 1
    @Flag(help: "Fill each batch with sentences of about one length instead of a random sample of the corpus.")
    var groupByLength = false
    @Option(parsing: .unconditional, help: "Warmup: a fraction of all steps when below 1, else a number of steps.") var warmup = 0.1
    @Option(parsing: .unconditional, help: "Decoupled weight decay on every weight except biases and LayerNorm.") var weightDecay = 0.01
    @Option(parsing: .unconditional, help: "Clip gradients to this global norm (0: no clipping).") var maxGradNorm = 1.0
    @Option(help: "Longest model input in sub-words with [CLS] and [SEP]; longer sentences are split into overlapping windows. Default: the model's max_position_embeddings (at most --batch-tokens); more is an error.")
    var maxLength: Int?
    @Option(parsing: .unconditional, help: "Sub-words shared by neighbouring windows of an over-long sentence.") var stride: Int?
    @Option(help: ArgumentHelp("Feed each sentence with up to N sub-words of the sentences around it in the same document as context (only the sentence itself is labelled and scored); 0: each sentence alone. Dev and test are scored the same way; pass the same --context to predict.",
                               valueName: "N"))
    var context = 0
    @Option(parsing: .unconditional, help: "CoNLL column of the words.") var tokenColumn = 0
    @Option(parsing: .unconditional, help: "CoNLL column of the labels (-1: the last; JSON Lines: see --tag-field).") var labelColumn = -1
    @OptionGroup var corpusFormat: CorpusFormatOptions
    @Option(name: .customLong("unseen-labels"),
            help: "Dev/test labels training never saw: error (refuse the data), outside (score those words as O), or skip (leave their sentences out); counted in the log and reports.")
    var unseenLabels: UnseenLabelPolicy = .error
    @Flag(help: "Label every sub-word (B- becomes I- on continuation pieces) instead of the first only.")
    var labelAllSubwords = false
    @Option(help: "Seed for the classifier's initialisation, batch order and dropout.") var seed: UInt64 = 42
    @Option(help: "Threads for matrix products and kernels. Default: all cores (under mpirun, shared between the ranks of a host).") var threads: Int?
    @Option(help: ArgumentHelp("Under mpirun, how the gradients are summed over the ranks: overlap (each layer's part as soon as backward has finished it, on a thread of its own, while backward goes on) or after-backward (the whole slab at once). The same weights either way. Default: \(GradientReduction.standard.rawValue).",
                               valueName: "overlap|after-backward"))
    var allreduce: GradientReduction?
    @Option(help: "Stop after this many evaluations without a better dev score.") var patience: Int?
    @Option(help: "Also evaluate on dev every this many optimizer steps.") var evalEvery: Int?
    @Option(help: "Log the training loss every this many steps.") var logEvery = 10
    @Option(help: "Save the resumable state every this many steps.") var saveEvery = 500
    @Option(help: "Dev metric that picks the best model: f1 or accuracy. Default: f1 for BIO-style tags, accuracy otherwise.")
    var metric: TrainingOptions.Metric?
    @Option(help: "Number format of the encoder's matrix products: fp32, bf16 (BF16 inputs, FP32 accumulation, weights and optimizer), or auto (bf16 on CPUs with AMX and on AMD CPUs with AVX512-BF16, else fp32).")
    var precision: PrecisionChoice = .auto
    @Option(help: ArgumentHelp("How dev and test labels are read from the scores, as the saved model then tags: viterbi (the most probable well-formed sequence under the scheme of the training labels; unconstrained for labels without one, such as POS tags) or argmax (each word's most probable label).",
                               valueName: "viterbi|argmax"),
            transform: { text in
                guard let decoding = Decoding(rawValue: text) else {
                    throw ValidationError("--decoding must be viterbi or argmax, not '\(text)'")
                }
                return decoding
            })
    var decoding = Decoding.viterbi
    @Option(help: ArgumentHelp("Continue the run in DIR from its last saved state, with the options in its options.json; no other option is needed.",
                               valueName: "DIR"))
    var resume: String?

    func validate() throws {
        if precision == .int8 {
            throw ValidationError("--precision int8 is for tagging (predict, serve); train in fp32, bf16 or auto, then tag with --precision int8.")
        }
        if let resume, let output, absolute(output) != absolute(resume) {
            throw ValidationError("--output \(output) and --resume \(resume) name different run directories; give just --resume DIR to continue a run.")
        }
        if resume == nil && (train == nil) != (dev == nil) {
            throw ValidationError("give both --train and --dev, or neither to train on CoNLL-2003 from \(Self.defaultDataDirectory).")
        }
    }

    func run() throws {
        var trainFile = train, devFile = dev, testFile = test
        if trainFile == nil && resume == nil {
            let dir = Self.defaultDataDirectory
            let files = ["train", "dev", "test"].map { "\(dir)/\($0).txt" }
            guard files.prefix(2).allSatisfy({ FileManager.default.fileExists(atPath: $0) }) else {
                throw CommandError("""
                    no --train/--dev given and CoNLL-2003 is not at \(dir)/ (train.txt, dev.txt, test.txt). \
                    Run `bash Scripts/setup.sh` (it links ../shared/data/conll2003 there when that folder exists), \
                    or pass --train FILE --dev FILE [--test FILE] with CoNLL column files.
                    """)
            }
            trainFile = files[0]
            devFile = files[1]
            if testFile == nil && FileManager.default.fileExists(atPath: files[2]) { testFile = files[2] }
        }
        let stamp: String = {
            let f = DateFormatter()
            f.dateFormat = "yyyyMMdd-HHmmss"
            f.locale = Locale(identifier: "en_US_POSIX")
            return f.string(from: Date())
        }()
        // Absolute paths in options.json: a resumed run compares them, whatever folder it is started from.
        // (Resuming without --train/--dev takes them from the run's options.json.)
        var options = TrainingOptions(model: absolute(model), train: absolute(trainFile ?? ""), dev: absolute(devFile ?? ""),
                                      test: testFile.map(absolute), output: absolute(resume ?? output ?? "runs/\(stamp)"))
        options.epochs = epochs
        options.learningRate = lr
        options.batchTokens = batchTokens
        options.batchSentences = batchSentences == 0 ? nil : batchSentences
        options.gradientAccumulation = gradientAccumulation
        options.groupByLength = groupByLength
        options.warmup = warmup
        options.weightDecay = weightDecay
        options.maxGradNorm = maxGradNorm
        options.maxLength = maxLength
        options.stride = stride
        options.context = context
        options.tokenColumn = tokenColumn
        options.labelColumn = labelColumn
        options.labelAllSubwords = labelAllSubwords
        options.inputFormat = corpusFormat.inputFormat
        options.tagField = corpusFormat.tagField
        options.labelNames = try corpusFormat.resolvedLabelNames()
        options.unseenLabels = unseenLabels
        options.seed = seed
        options.threads = threads
        options.allreduce = allreduce
        options.patience = patience
        options.evalEvery = evalEvery
        options.logEvery = logEvery
        options.saveEvery = saveEvery
        options.metric = metric
        options.precision = precision
        options.decoding = decoding
        if resume != nil {
            options = try RunResumption.options(run: options.output, commandLine: options,
                                                given: RunResumption.givenOptions(CommandLine.arguments))
        }
        try options.validate()

        let finalOptions = options
        let (summary, isRoot) = try runAsRank { world in
            // Rank 0 alone speaks for a data-parallel run.
            let log: (String) -> Void = world.isRoot ? { FileHandle.standardError.write(Data(($0 + "\n").utf8)) } : { _ in }
            log("run directory: \(finalOptions.output)")
            let summary = try Trainer(options: finalOptions, resume: resume != nil, communicator: world, say: log).run()
            if summary.interrupted && world.isRoot { log("continue with: \(RunResumption.command(run: finalOptions.output))") }
            return (summary, world.isRoot)
        }
        if summary.interrupted { throw ExitCode(130) }
        guard isRoot else { return }
        var lines = ["best dev \(summary.metric.rawValue): \(summary.bestScore.map { String(format: "%.4f", $0) } ?? "-") at step \(summary.bestStep ?? 0)"]
        if let test = summary.testReport {
            lines.append(test.scoring == .tags
                ? String(format: "test accuracy %.4f  macro F1 %.4f (per tag, best model)", test.accuracy, test.macroAverage.f1Score)
                : String(format: "test F1 %.4f  accuracy %.4f (best model)", test.microAverage.f1Score, test.accuracy))
        }
        if let perEpoch = summary.secondsPerEpoch { lines.append(String(format: "%.1f s per epoch", perEpoch)) }
        lines.append("best model: \(options.output)/best   reports: \(options.output)/reports   plot: \(options.output)/training.svg")
        print(lines.joined(separator: "\n"))
    }
}

/// Absolute and standardized, as options.json records paths.
func absolute(_ path: String) -> String { URL(fileURLWithPath: path).standardizedFileURL.path }

extension TrainingOptions.Metric: ExpressibleByArgument {}
extension UnseenLabelPolicy: ExpressibleByArgument {}
extension PrecisionChoice: ExpressibleByArgument {}
extension GradientReduction: ExpressibleByArgument {}

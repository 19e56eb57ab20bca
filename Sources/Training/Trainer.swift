import BERT
import DataParallel
import Datasets
import FileIO
import Foundation
import SafeTensors
import SeqEval
import Tagger
import Tensors

/// What a finished (or stopped) run reports.
public struct TrainingSummary: Sendable {
    public var steps: Int
    public var bestScore: Double?
    public var bestStep: Int?
    public var metric: TrainingOptions.Metric
    public var devReport: ClassificationReport?
    public var testReport: ClassificationReport?
    public var interrupted: Bool
    public var secondsPerEpoch: Double?
}

/// Fine-tunes a BERT token classifier: AdamW with decoupled decay, linear warmup and decay, clipping,
/// gradient accumulation; validation with seqeval-exact scores (per-tag scores for labels that are not a scheme); the best model kept as a HuggingFace
/// directory; a resumable state saved along the way and on Ctrl-C.
///
/// The run directory (`options.output`):
///
///     options.json  labels.json          the resolved options and the label set
///     metrics/steps.{jsonl,csv}          loss, learning rate, gradient norm, speed every --log-every steps
///     metrics/evaluations.{jsonl,csv}    dev scores at every evaluation
///     best/                              the best model by the dev metric (HuggingFace layout)
///     last/                              weights + optimizer.safetensors + trainer_state.json, for --resume
///     reports/{dev,test}.{txt,json}      classification reports of the best model: seqeval's, or per tag
///                                        for labels that are not a BIO-style scheme
///     predictions/{dev,test}.conll       input columns + predicted label (`bert-tagger evaluate` reads them)
///     training.svg                       training loss and dev F1
public final class Trainer {
    public let options: TrainingOptions
    public let resume: Bool
    /// The ranks of a data-parallel run (one process alone): every rank trains on its share of each step,
    /// rank 0 alone writes and speaks.
    public let communicator: any Communicator
    private let say: (String) -> Void
    private let interruption: Interruption
    private let progressInteractive: Bool?
    /// Runs after every optimizer step with the step count, before the loop looks for an interruption:
    /// lets tests stop a run at a chosen step.
    var onStep: ((Int) -> Void)?

    public init(options: TrainingOptions, resume: Bool = false, interruption: Interruption = Interruption(),
                progressInteractive: Bool? = nil, communicator: any Communicator = SingleProcess(),
                say: @escaping (String) -> Void) {
        self.options = options
        self.resume = resume
        self.interruption = interruption
        self.progressInteractive = progressInteractive
        self.communicator = communicator
        self.say = communicator.isRoot ? say : { _ in }
    }

    private var isRoot: Bool { communicator.isRoot }

    /// Progress on rank 0's standard error; the other ranks keep quiet.
    private func progressReporter(_ label: String, total: Int) -> ProgressReporter {
        ProgressReporter(label: label, total: total, interactive: progressInteractive,
                         stream: isRoot ? nil : { _ in })
    }

    /// Whether any rank asks for `wish` (a Ctrl-C reaches the ranks one by one): all ranks act on the answer.
    private func anyRank(_ wish: Bool) throws -> Bool {
        guard communicator.size > 1 else { return wish }
        return try communicator.allReduceSum([wish ? 1 : 0])[0] > 0
    }

    private var output: URL { URL(fileURLWithPath: options.output) }
    private func path(_ components: String...) -> URL {
        components.reduce(output) { $0.appendingPathComponent($1) }
    }

    // MARK: - Run

    public func run() throws -> TrainingSummary {
        try options.validate()
        try checkMaxLength()
        // Ranks on one host share its cores.
        let threads = options.threads ?? max(1, ProcessInfo.processInfo.activeProcessorCount / World.localRanks())
        try ComputeLibraries.load()
        Parallel.setThreadCount(threads)

        var state = try prepareOutput()
        // Every rank has checked the run directory before rank 0 starts writing in it.
        try communicator.barrier()
        // Resuming a run that saved no state yet: from the pretrained model, at the first step.
        let restoring = resume && FileManager.default.fileExists(atPath: lastStateDirectory().appendingPathComponent("trainer_state.json").path)
        say("compute: \(ComputeLibraries.summary)")

        // Data first: every error in the inputs shows up before the model loads.
        let reading = CorpusReading(format: options.inputFormat, tokenColumn: options.tokenColumn, labelColumn: options.labelColumn,
                                    tagField: options.tagField, labelNames: options.labelNames)
        let trainCorpus = try read(reading, options.train, role: "training")
        var devCorpus = try read(reading, options.dev, role: "dev")
        var testCorpus = try options.test.map { try read(reading, $0, role: "test") }

        let labelSet: LabelSet
        if resume {
            labelSet = try LabelSet.load(from: path("labels.json"))
        } else {
            labelSet = try LabelSet(collecting: trainCorpus, includingContinuations: options.labelAllSubwords)
        }
        var unseenNotes: [String: String] = [:]
        devCorpus = try handleUnseen(devCorpus, labels: labelSet, name: "dev", notes: &unseenNotes)
        testCorpus = try testCorpus.map { try handleUnseen($0, labels: labelSet, name: "test", notes: &unseenNotes) }
        // POS tags and other labels that are not a tagging scheme are scored per tag, never read as entities.
        let scoring = Scoring(labels: labelSet.labels)
        let metric = options.metric ?? (scoring == .entities ? .f1 : .accuracy)
        if scoring == .tags {
            say("labels are not a BIO-style scheme (\(labelSet.labels.prefix(6).joined(separator: ", "))\(labelSet.count > 6 ? ", ..." : "")): scoring per tag")
        }

        // Dev and test are decoded under the scheme the training labels are written in, as the saved model tags.
        let scheme = TaggingScheme.inferred(labels: labelSet.labels, sequences: try trainCorpus.labelSequences())
        try checkDecodable(labelSet, scheme: scheme)

        // The model: the pretrained encoder, or the saved state of the run being resumed.
        let source = restoring ? lastStateDirectory() : URL(fileURLWithPath: options.model)
        let modelMaxTokens = max(options.batchTokens, options.maxLength ?? 0)
        let precision = options.precision.resolved
        guard precision != .int8 else {
            throw TrainingError.invalidOption("--precision int8 is for tagging (predict, serve); train in fp32, bf16 or auto, then tag with --precision int8")
        }
        let classifier = try TokenClassifier(directory: source, labels: labelSet.labels,
                                             maxTokens: modelMaxTokens, seed: options.seed, precision: precision)
        let model = classifier.model
        say("matrix products in \(precision)" + (options.precision == .auto ? " (--precision auto on this CPU)" : ""))
        if !classifier.ignoredTensors.isEmpty {
            say("note: \(counted(classifier.ignoredTensors.count, "tensor")) of \(source.lastPathComponent) "
                + "\(classifier.ignoredTensors.count == 1 ? "is" : "are") not used for token classification: \(Self.summarize(classifier.ignoredTensors))")
        }
        if !classifier.initializedTensors.isEmpty {
            say("note: new classifier for \(counted(labelSet.count, "label")), initialised from seed \(options.seed)")
        }
        let maxLength = min(options.maxLength ?? model.config.maxPositionEmbeddings, model.config.maxPositionEmbeddings,
                            options.batchTokens)
        // One windowing for training, dev evaluation and the final predictions: a model trained with context
        // is scored as it will be used.
        let windowing = try Windowing(maxLength: maxLength, stride: options.stride, context: options.context)
        // Saved beside the best model, so that it tags text as it was trained and evaluated.
        let taggingSettings = TaggingSettings(context: options.context, maxLength: maxLength, stride: windowing.stride,
                                              decoding: options.decoding, scheme: scheme)

        say("encoding sentences: \(trainCorpus.sentences.count) training, \(devCorpus.sentences.count) dev"
            + (testCorpus.map { ", \($0.sentences.count) test" } ?? "")
            + (options.context > 0 ? " with up to \(options.context) sub-words of document context on each side" : ""))
        let trainSet = try classifier.dataset(trainCorpus, labelled: true, windowing: windowing,
                                              labelAllSubwords: options.labelAllSubwords)
        let devSet = try classifier.dataset(devCorpus, labelled: true, windowing: windowing)
        let testSet = try testCorpus.map { try classifier.dataset($0, labelled: true, windowing: windowing) }

        let planner = try BatchPlanner(maxTokens: options.batchTokens, maxSequences: options.batchSentences)
        // Every epoch's batches, planned up front: random batches hold slightly different numbers of
        // sequences from epoch to epoch, and the schedule needs the total. (seed, epoch) always gives the
        // same plan, so a resumed run plans what the stopped one did.
        let plans = try (0..<options.epochs).map { epoch in
            try trainSet.plan(planner, order: options.groupByLength ? .lengthGrouped(seed: options.seed, epoch: epoch)
                                                                     : .shuffled(seed: options.seed, epoch: epoch))
        }
        // Dev and test are scored in batches no larger than the largest training batch (or their longest
        // sequence): the activations they fill are then those training fills anyway, not the whole
        // --batch-tokens plan (4,096 tokens of activations are about 600 MB for MiniLM).
        let trainLengths = trainSet.windowLengths
        let largestBatch = plans.joined().map { $0.reduce(0) { $0 + trainLengths[$1] } }.max() ?? 0
        let longestEvaluated = ([devSet] + (testSet.map { [$0] } ?? [])).compactMap { $0.windowLengths.max() }.max() ?? 0
        let evalPlanner = try BatchPlanner(maxTokens: min(modelMaxTokens, max(largestBatch, longestEvaluated, 1)))
        // Each rank evaluates its own run of dev sentences.
        let devShard = try EvaluationShard(devSet, communicator: communicator, planner: evalPlanner)
        let batchesPerEpoch = plans.map(\.count)
        let stepsPerEpoch = batchesPerEpoch.map { ($0 + options.gradientAccumulation - 1) / options.gradientAccumulation }
        let totalSteps = stepsPerEpoch.reduce(0, +)
        let schedule = LinearWarmupDecay(peak: Float(options.learningRate),
                                         warmupSteps: options.warmupSteps(totalSteps: totalSteps), totalSteps: totalSteps)
        let trainingStep = try TrainingStep(model: model,
                                        optimizer: AdamW(layout: model.layout, learningRate: Float(options.learningRate),
                                                         weightDecay: Float(options.weightDecay)),
                                        communicator: communicator, maxGradNorm: Float(options.maxGradNorm),
                                        reduction: options.allreduce ?? .standard)
        let trainTokens = trainLengths.reduce(0, +)
        let batchBound = (options.batchSentences.map { "≤\($0) sentences and " } ?? "") + "≤\(options.batchTokens) tokens"
        say("\(counted(trainSet.windows.count, "training sequence")), \(counted(trainTokens, "token")); "
            + "\(counted(batchesPerEpoch[0], "batch")) of \(batchBound)"
            + (options.groupByLength ? " grouped by length" : "")
            + " → \(counted(stepsPerEpoch[0], "step")) per epoch, \(totalSteps) in all (\(schedule.warmupSteps) warmup); metric: dev \(metric.rawValue)")

        if communicator.size > 1 {
            say("data-parallel over \(communicator.size) ranks (Open MPI), \(threads) thread\(threads == 1 ? "" : "s") each: "
                + "each step's batch of \(batchBound) is split between them; gradients summed "
                + (trainingStep.reduction == .overlap ? "layer by layer during backward" : "after backward")
                + (options.allreduce == .overlap && trainingStep.reduction != .overlap
                   ? " (--allreduce overlap needs MPI_THREAD_SERIALIZED, which this MPI library does not grant)" : ""))
        }
        if restoring {
            try restoreOptimizer(&trainingStep.optimizer, state: state, model: model)
            say("resuming at epoch \(state.epoch + 1), step \(state.step) of \(totalSteps)")
            let savedRanks = state.ranks ?? 1
            if savedRanks != communicator.size {
                say("the run was saved by \(counted(savedRanks, "rank")) and goes on with \(communicator.size): "
                    + "the global batch (--batch-tokens \(options.batchTokens)) is the same, so the steps are too")
            }
        } else if resume {
            say("no state was saved before the run stopped: starting it again from its first step, with its options.json")
        } else if isRoot {
            // Created only now that the data, the options and the model have passed their checks: a run
            // that fails before it starts leaves no empty run directory behind.
            do {
                try FileManager.default.createDirectory(at: path("metrics"), withIntermediateDirectories: true)
            } catch {
                throw TrainingError.cannotWrite(path: output.path, reason: fileErrorReason(error, path: output.path))
            }
            // labels.json first: options.json marks the run as started, and --resume reads both.
            try labelSet.save(to: path("labels.json"))
            try writeJSON(options, to: path("options.json"))
        }

        state.ranks = communicator.size
        let stepLog = isRoot ? try MetricsLog(directory: path("metrics"), name: "steps", columns: MetricsLog.stepColumns) : nil
        let evalLog = isRoot ? try MetricsLog(directory: path("metrics"), name: "evaluations", columns: MetricsLog.evaluationColumns) : nil
        if resume {
            try stepLog?.dropRows(afterStep: state.step)
            try evalLog?.dropRows(afterStep: state.step)
        }

        interruption.install { [say] in say("\nstopping at the next step; saving a resumable state (Ctrl-C again to quit at once, without saving)") }
        defer { interruption.uninstall() }

        let started = Date()
        let elapsedBefore = state.elapsedSeconds
        func elapsed() -> Double { elapsedBefore + Date().timeIntervalSince(started) }

        var interrupted = false
        var stoppedEarly = state.finished
        var epochSeconds: [Double] = []

        // The evaluation that found the best model: its predictions are the best model's, so the end of the
        // run writes them instead of evaluating dev again (a resumed run that found its best before the
        // stop evaluates the saved model).
        var bestDev: (step: Int, evaluation: Evaluation)?
        func evaluateAndKeepBest(epoch: Double) throws {
            let evalStart = Date()
            let evaluation = try evaluate(classifier, devShard, label: "dev", scoring: scoring)
            let score = metric == .f1 ? evaluation.report.microAverage.f1Score : evaluation.report.accuracy
            let improved = state.bestScore.map { score > $0 } ?? true
            if improved {
                state.bestScore = score
                state.bestStep = state.step
                state.evaluationsWithoutImprovement = 0
                if isRoot {
                    // The settings go in with the weights, in one step: a kill never leaves a best model without them.
                    try Checkpoint.save(model, labels: labelSet.labels, to: path("best"),
                                        tokenizerSource: URL(fileURLWithPath: options.model),
                                        extraFiles: [TaggingSettings.fileName: try taggingSettings.encoded()])
                }
                bestDev = (state.step, evaluation)
            } else {
                state.evaluationsWithoutImprovement += 1
            }
            let r = evaluation.report
            try evalLog?.append(MetricsRecord([
                ("step", .int(state.step)), ("epoch", .number(epoch)),
                ("dev_loss", .number(evaluation.loss ?? .nan)),
                ("precision", .number(r.microAverage.precision)), ("recall", .number(r.microAverage.recall)),
                ("f1", .number(r.microAverage.f1Score)), ("accuracy", .number(r.accuracy)),
                ("best", .int(improved ? 1 : 0)), ("seconds", .number(Date().timeIntervalSince(evalStart))),
            ]))
            say(Self.evaluationLine(step: state.step, epoch: epoch, loss: evaluation.loss, report: r)
                + (improved ? "  (best so far, saved)" : ""))
        }

        var windowLoss = 0.0, windowBatches = 0, windowTokens = 0
        var windowStart = Date()
        epochs: while state.epoch < options.epochs && !stoppedEarly {
            let epochStart = Date()
            let plan = plans[state.epoch]
            let progress = progressReporter("epoch \(state.epoch + 1)/\(options.epochs)", total: stepsPerEpoch[state.epoch])
            var batchIndex = state.nextBatch
            while batchIndex < plan.count {
                let microBatches = Array(plan[batchIndex ..< min(batchIndex + options.gradientAccumulation, plan.count)])
                let rate = schedule.rate(at: state.step)
                let outcome = try trainingStep.run(microBatches, of: trainSet, learningRate: rate,
                                                   forwards: &state.trainingForwards, step: state.step,
                                                   stopRequested: interruption.isRequested)
                let norm = outcome.gradientNorm
                windowLoss += outcome.lossSum
                windowBatches += microBatches.count
                windowTokens += outcome.tokens
                batchIndex += microBatches.count
                state.step += 1
                state.nextBatch = batchIndex

                let stepInEpoch = (batchIndex + options.gradientAccumulation - 1) / options.gradientAccumulation
                let seconds = Date().timeIntervalSince(windowStart)
                let tokensPerSecond = seconds > 0 ? Double(windowTokens) / seconds : 0
                if state.step % options.logEvery == 0 || batchIndex == plan.count {
                    try stepLog?.append(MetricsRecord([
                        ("step", .int(state.step)),
                        ("epoch", .number(Double(state.epoch) + Double(batchIndex) / Double(plan.count))),
                        ("loss", .number(windowLoss / Double(max(1, windowBatches)))),
                        ("learning_rate", .number(Double(rate))), ("grad_norm", .number(Double(norm))),
                        ("tokens_per_second", .number(tokensPerSecond)), ("elapsed_seconds", .number(elapsed())),
                    ]))
                    progress.update(stepInEpoch, fields: [
                        ("loss", String(format: "%.4f", windowLoss / Double(max(1, windowBatches)))),
                        ("lr", String(format: "%.2e", Double(rate))),
                        ("tok/s", String(format: "%.0f", tokensPerSecond)),
                    ])
                    windowLoss = 0; windowBatches = 0; windowTokens = 0; windowStart = Date()
                }

                onStep?(state.step)
                if batchIndex == plan.count { break }
                if let every = options.evalEvery, state.step % every == 0 {
                    progress.finishLine()
                    try evaluateAndKeepBest(epoch: Double(state.epoch) + Double(batchIndex) / Double(plan.count))
                    if let patience = options.patience, state.evaluationsWithoutImprovement >= patience {
                        say("no better dev \(metric.rawValue) in \(counted(patience, "evaluation")): stopping early")
                        stoppedEarly = true
                        // Saved as finished, so --resume reports on the best model instead of training on.
                        state.finished = true
                    }
                    try saveState(state, elapsed: elapsed(), model: model, optimizer: trainingStep.optimizer, labels: labelSet)
                    if stoppedEarly { break epochs }
                } else if state.step % options.saveEvery == 0 {
                    try saveState(state, elapsed: elapsed(), model: model, optimizer: trainingStep.optimizer, labels: labelSet)
                }
                // Alone, a request up to this moment stops here; ranks stop together at the first step whose
                // sums carried one.
                if communicator.size == 1 ? interruption.isRequested : outcome.stopRequested {
                    progress.finishLine()
                    try saveState(state, elapsed: elapsed(), model: model, optimizer: trainingStep.optimizer, labels: labelSet)
                    interrupted = true
                    break epochs
                }
            }
            // The epoch's end: evaluate, save, decide whether to go on.
            state.epoch += 1
            state.nextBatch = 0
            try evaluateAndKeepBest(epoch: Double(state.epoch))
            // The epoch's time counts its validation, as transformers' Trainer's evaluation at each epoch's end.
            epochSeconds.append(Date().timeIntervalSince(epochStart))
            if let patience = options.patience, state.evaluationsWithoutImprovement >= patience {
                say("no better dev \(metric.rawValue) in \(counted(patience, "evaluation")): stopping early")
                stoppedEarly = true
            }
            say(String(format: "epoch %d took %.1f s (training and validation)", state.epoch, epochSeconds.last!))
            state.finished = stoppedEarly || state.epoch == options.epochs
            try saveState(state, elapsed: elapsed(), model: model, optimizer: trainingStep.optimizer, labels: labelSet)
            if try anyRank(interruption.isRequested) { interrupted = !state.finished; break }
        }

        var summary = TrainingSummary(steps: state.step, bestScore: state.bestScore, bestStep: state.bestStep,
                                      metric: metric, interrupted: interrupted,
                                      secondsPerEpoch: epochSeconds.isEmpty ? nil : epochSeconds.reduce(0, +) / Double(epochSeconds.count))
        if interrupted {
            say("stopped at step \(state.step); --resume \(output.path) continues from the state saved in last/")
            try writePlot(metric: metric)
            return summary
        }

        // Training is over and saved as finished, so a Ctrl-C has nothing left to save: one that came during
        // the last evaluation stops here, one that comes from now on stops at once; --resume writes the reports.
        let finished = "training is finished and saved in last/", writer = "--resume \(output.path) writes them"
        if try anyRank(interruption.isRequested) {
            say("stopped after the last step: \(finished); the reports are not written (\(writer))")
            try writePlot(metric: metric)
            summary.interrupted = true
            return summary
        }
        interruption.stopAtOnce(saying: "\nstopping now: \(finished); the reports are not all written (\(writer))\n")

        // The best model tags dev and test; its reports and predictions are the run's result. Rank 0 saved it:
        // the other ranks read it once it is there.
        try communicator.barrier()
        let best = try TokenClassifier(directory: path("best"), maxTokens: modelMaxTokens, seed: options.seed,
                                       precision: precision, purpose: .inference)
        let devFinal: Evaluation
        if let bestDev, bestDev.step == state.bestStep {
            devFinal = bestDev.evaluation
            say("dev (best model): the evaluation at step \(bestDev.step)")
        } else {
            devFinal = try evaluate(best, devShard, label: "dev (best model)", scoring: scoring)
        }
        summary.devReport = devFinal.report
        try writeResults(corpus: devCorpus, predictions: devFinal.predictions, report: devFinal.report, name: "dev",
                         note: unseenNotes["dev"])
        if let testSet, let testCorpus {
            let testShard = try EvaluationShard(testSet, communicator: communicator, planner: evalPlanner)
            let testFinal = try evaluate(best, testShard, label: "test (best model)", scoring: scoring)
            summary.testReport = testFinal.report
            try writeResults(corpus: testCorpus, predictions: testFinal.predictions, report: testFinal.report, name: "test",
                             note: unseenNotes["test"])
        }
        try writePlot(metric: metric)
        return summary
    }

    // MARK: - Pieces

    private struct Evaluation {
        var predictions: [[String]]
        var report: ClassificationReport
        var loss: Double?
    }

    /// Scores `classifier` on a data set every rank holds: each rank predicts its shard, the predictions come
    /// together in sentence order on every rank and are scored once, so the report is the one a single
    /// process makes; the loss is the sum over ranks divided by the labelled tokens of all.
    private func evaluate(_ classifier: TokenClassifier, _ shard: EvaluationShard, label: String,
                          scoring: Scoring) throws -> Evaluation {
        let progress = progressReporter("evaluating \(label)", total: shard.batches.count)
        let (mine, loss) = try classifier.predict(shard.mine, batches: shard.batches, decoding: options.decoding,
                                                  scheme: decodingScheme, progress: progress)
        let (predictions, totalLoss) = try shard.combine(mine, loss: loss)
        let gold = shard.dataset.corpus.sentences.map { $0.labels ?? [] }
        let report = try classificationReport(gold: gold, predicted: predictions, scoring: scoring)
        return Evaluation(predictions: predictions, report: report, loss: totalLoss)
    }

    /// The scheme dev and test labels are decoded under (that of the training labels; nil for labels without one).
    private var decodingScheme: TaggingScheme?

    /// Viterbi needs a scheme whose labels can make a well-formed sequence of every length; says how the run
    /// decodes, or why it cannot.
    private func checkDecodable(_ labels: LabelSet, scheme: TaggingScheme?) throws {
        decodingScheme = scheme
        guard options.decoding == .viterbi else {
            say("decoding: argmax (each word's most probable label)")
            return
        }
        guard let scheme else {
            say("decoding: viterbi without constraints (the labels have no BIO-style scheme), the same as argmax")
            return
        }
        let transitions: LabelTransitions
        do { transitions = try LabelTransitions(labels: labels.labels, scheme: scheme) } catch {
            throw TrainingError.invalidOption("--decoding viterbi: \(error)")
        }
        guard transitions.decodesEveryLength else {
            throw TrainingError.invalidOption("--decoding viterbi: the \(scheme.rawValue) labels \(labels.labels) have no O label "
                                              + "and no single-word tag, so no well-formed sequence exists for every sentence; use --decoding argmax")
        }
        say("decoding: viterbi (the most probable well-formed \(scheme.rawValue) sequence)")
    }

    /// One evaluation's line: entity precision, recall and F1 (micro), or for per-tag scoring the micro
    /// and macro averages over tags; token accuracy in both.
    static func evaluationLine(step: Int, epoch: Double, loss: Double?, report r: ClassificationReport) -> String {
        let head = String(format: "dev at step %d (epoch %.2f): loss %.4f", step, epoch, loss ?? .nan)
        switch r.scoring {
        case .entities:
            return head + String(format: "  P %.4f  R %.4f  F1 %.4f  accuracy %.4f",
                                 r.microAverage.precision, r.microAverage.recall, r.microAverage.f1Score, r.accuracy)
        case .tags:
            return head + String(format: "  per tag: micro P %.4f  R %.4f  F1 %.4f  macro P %.4f  R %.4f  F1 %.4f  accuracy %.4f",
                                 r.microAverage.precision, r.microAverage.recall, r.microAverage.f1Score,
                                 r.macroAverage.precision, r.macroAverage.recall, r.macroAverage.f1Score, r.accuracy)
        }
    }

    /// The text report: how it was scored, what happened to unseen labels, the table, token accuracy.
    static func reportText(_ report: ClassificationReport, note: String?) -> String {
        report.scoring.heading + "\n" + (note.map { "note: \($0)\n" } ?? "") + "\n"
            + report.formatted(digits: 4) + String(format: "\ntoken accuracy %.4f\n", report.accuracy)
    }

    private func writeResults(corpus: Corpus, predictions: [[String]], report: ClassificationReport, name: String,
                              note: String?) throws {
        guard isRoot else { return }
        try FileManager.default.createDirectory(at: path("reports"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: path("predictions"), withIntermediateDirectories: true)
        let text = Self.reportText(report, note: note)
        try writeAtomically(Data(text.utf8), to: path("reports", "\(name).txt"))
        try writeAtomically(report.jsonData(prettyPrinted: true, includingScoring: true), to: path("reports", "\(name).json"))
        try CorpusWriter.writeCoNLL(corpus, predictions: predictions, to: path("predictions", "\(name).conll"))
        say("\(name) (best model):\n" + text)
    }

    /// Dev or test data with labels training never saw, handled by `--unseen-labels`: an error naming them,
    /// or the corpus relabelled or thinned, with a note for the log and the report.
    private func handleUnseen(_ corpus: Corpus, labels: LabelSet, name: String, notes: inout [String: String]) throws -> Corpus {
        let isCoNLL = (options.inputFormat ?? CorpusFormat(path: corpus.file)) == .conll
        let (handled, unseen) = try corpus.handlingUnseenLabels(labels, policy: options.unseenLabels,
                                                                labelColumn: isCoNLL ? options.labelColumn : -1)
        guard !unseen.isEmpty else { return corpus }
        if options.unseenLabels == .error {
            throw TrainingError.unseenLabels(file: corpus.file, labels: unseen.firstOccurrences.map { ($0.label, $0.line) },
                                             outsideAvailable: labels.id(of: "O") != nil)
        }
        let note = unseen.summary(policy: options.unseenLabels)
        notes[name] = note
        say("\(name): \(note)")
        return handled
    }

    /// Reads back the logs (so a resumed run plots all of itself) and draws training.svg with the dev
    /// `metric` the run is judged by.
    private func writePlot(metric: TrainingOptions.Metric) throws {
        guard isRoot else { return }
        func rows(_ name: String) -> [[String: Any]] {
            guard let text = try? String(contentsOf: path("metrics", "\(name).jsonl"), encoding: .utf8) else { return [] }
            return text.split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }
        }
        func series(_ rows: [[String: Any]], _ key: String) -> [(step: Int, value: Double)] {
            rows.compactMap { row in
                guard let step = (row["step"] as? NSNumber)?.intValue, let value = (row[key] as? NSNumber)?.doubleValue
                else { return nil }
                return (step, value)
            }
        }
        let plot = TrainingPlot(title: "\(URL(fileURLWithPath: options.model).lastPathComponent) on \(URL(fileURLWithPath: options.train).lastPathComponent)",
                                loss: series(rows("steps"), "loss"), devF1: series(rows("evaluations"), metric.rawValue),
                                devMetric: metric == .f1 ? "F1" : "accuracy")
        try writeAtomically(Data(plot.svg().utf8), to: path("training.svg"))
    }

    private func read(_ reading: CorpusReading, _ file: String, role: String) throws -> Corpus {
        guard FileManager.default.fileExists(atPath: file) else {
            throw TrainingError.missingFile(path: file, what: "\(role) data",
                                            fix: "Pass an existing CoNLL or JSON Lines file (or run `bash Scripts/setup.sh` to link CoNLL-2003 into data/conll2003).")
        }
        if let problem = problemWithPath(file) {
            throw TrainingError.unreadableData(path: file, what: "\(role) data", reason: problem)
        }
        let corpus = try reading.read(file)
        guard !corpus.sentences.isEmpty else { throw TrainingError.emptyData(file: file) }
        return corpus
    }

    /// Every name, those that differ only in their last part grouped: `pooler.dense.{bias,weight}, cls.predictions.bias`.
    static func summarize(_ names: [String]) -> String {
        var groups: [String: [String]] = [:]
        for name in names {
            let parts = name.split(separator: ".", omittingEmptySubsequences: false)
            groups[parts.dropLast().joined(separator: "."), default: []].append(String(parts.last ?? ""))
        }
        return groups.keys.sorted().map { prefix in
            let leaves = groups[prefix]!.sorted()
            let head = prefix.isEmpty ? "" : prefix + "."
            return leaves.count == 1 ? head + leaves[0] : head + "{" + leaves.joined(separator: ",") + "}"
        }.joined(separator: ", ")
    }

    /// A --max-length beyond the model's position embeddings cannot be honoured, and a --stride must fit the
    /// windows: both are said before any model loads, from config.json alone. (A model folder without
    /// config.json is reported by the loader, with what the folder should hold.)
    private func checkMaxLength() throws {
        let directory = URL(fileURLWithPath: options.model)
        guard FileManager.default.fileExists(atPath: directory.appendingPathComponent("config.json").path) else { return }
        let limit = try maximumSequenceLength(modelDirectory: directory, checking: options.maxLength)
        _ = try Windowing(maxLength: min(options.maxLength ?? limit, limit, options.batchTokens), stride: options.stride,
                          context: options.context)
    }

    private func writeJSON<T: Encodable>(_ value: T, to url: URL) throws {
        try writeAtomically(try encodedJSON(value), to: url)
    }

    private func encodedJSON<T: Encodable>(_ value: T) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(value)
    }

    // MARK: - Run directory and resumable state

    /// Creates the run directory, or checks the one being resumed; returns the state to start from.
    private func prepareOutput() throws -> TrainerState {
        let fm = FileManager.default
        if resume {
            // What a kill part-way through a write left behind is mended first, so that the state read below is
            // the one saved (rank 0 alone writes, so it alone mends; the other ranks read once it has).
            if isRoot {
                Checkpoint.finishInterruptedSave(of: path("best"))
                finishInterruptedStateSave()
                for folder in [output, path("metrics"), path("best")] { OutputFile.removeInterruptedWrites(in: folder.path) }
            }
            try communicator.barrier()
            let stateURL = lastStateDirectory().appendingPathComponent("trainer_state.json")
            let data = try? Data(contentsOf: stateURL)
            // A run stopped (a second Ctrl-C) before its first save has its options but no state: it starts
            // again from its first step, which is where a resumed run would be anyway.
            guard data != nil || fm.fileExists(atPath: path("options.json").path) else {
                throw TrainingError.nothingToResume(path: output.path)
            }
            let saved: TrainingOptions
            do {
                saved = try JSONDecoder().decode(TrainingOptions.self, from: Data(contentsOf: path("options.json")))
            } catch {
                throw TrainingError.missingFile(path: path("options.json").path, what: "a readable options file (\(fileErrorReason(error, path: path("options.json").path)))",
                                                fix: "It records how the run was started; without it the run cannot be resumed. Start a new run in another --output.")
            }
            try checkResumable(saved: saved)
            guard let data else { return TrainerState() }
            return try JSONDecoder().decode(TrainerState.self, from: data)
        }
        if fm.fileExists(atPath: path("options.json").path) || fm.fileExists(atPath: path("last").path) {
            throw TrainingError.outputHoldsAnotherRun(path: output.path)
        }
        var isDirectory: ObjCBool = false
        if fm.fileExists(atPath: output.path, isDirectory: &isDirectory), !isDirectory.boolValue {
            throw TrainingError.cannotWrite(path: output.path, reason: "a file, not a directory, is in the way; choose another --output")
        }
        // A start killed before options.json was written may have left temporary files.
        if isRoot {
            for folder in [output, path("metrics")] { OutputFile.removeInterruptedWrites(in: folder.path) }
        }
        return TrainerState()
    }

    /// Options that change what the run computes must match; where to write and how often to log may differ.
    private func checkResumable(saved: TrainingOptions) throws {
        var a = saved, b = options
        for o in [\TrainingOptions.logEvery, \.saveEvery] { a[keyPath: o] = 0; b[keyPath: o] = 0 }
        a.threads = nil; b.threads = nil
        a.allreduce = nil; b.allreduce = nil
        a.output = ""; b.output = ""
        guard a != b else { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let left = (try? JSONSerialization.jsonObject(with: encoder.encode(a))) as? [String: Any] ?? [:]
        let right = (try? JSONSerialization.jsonObject(with: encoder.encode(b))) as? [String: Any] ?? [:]
        for key in Set(left.keys).union(right.keys).sorted() {
            let l = left[key].map { "\($0)" } ?? "nothing", r = right[key].map { "\($0)" } ?? "nothing"
            if l != r { throw TrainingError.resumeMismatch(path: output.path, field: key, saved: l, given: r) }
        }
    }

    /// `last/`, or, in a run saved by an earlier build and killed while its `last/` was replaced, the copy that
    /// build kept as `last.previous/`.
    private func lastStateDirectory() -> URL {
        let (last, previous) = stateDirectories()
        if FileManager.default.fileExists(atPath: last.appendingPathComponent("trainer_state.json").path) { return last }
        return previous
    }

    /// `last/` and the copy an earlier build kept beside it while replacing it. When `last` is a symbolic link,
    /// the directory it points at is the one replaced (beside it), and the link stays.
    private func stateDirectories() -> (last: URL, previous: URL) {
        let last = (try? OutputFile.resolvingLastLink(path("last"))) ?? path("last")
        return (last, last.deletingLastPathComponent().appendingPathComponent(last.lastPathComponent + ".previous"))
    }

    /// Mends what a kill inside `saveState` left: `Checkpoint.finishInterruptedSave` for `last/` (perhaps the
    /// run's final save, after which no later save would mend it: so the resume does), and the `last.saving/` and
    /// `last.previous/` of runs saved by earlier builds, which moved `last/` aside by hand.
    private func finishInterruptedStateSave() {
        let fm = FileManager.default, (last, previous) = stateDirectories()
        Checkpoint.finishInterruptedSave(of: last)
        try? fm.removeItem(at: last.deletingLastPathComponent().appendingPathComponent(last.lastPathComponent + ".saving"))
        if !fm.fileExists(atPath: last.path), fm.fileExists(atPath: previous.appendingPathComponent("trainer_state.json").path) {
            try? fm.moveItem(at: previous, to: last)
            try? OutputFile.syncDirectory(last.deletingLastPathComponent().path)
        }
        if fm.fileExists(atPath: last.appendingPathComponent("trainer_state.json").path) { try? fm.removeItem(at: previous) }
    }

    /// Saves weights, optimizer moments and the trainer state as one unit, the way every model directory is
    /// saved (`Checkpoint.save`): into a staging directory that then takes the place of `last/` in one step, so
    /// a kill at any moment leaves a complete state behind.
    private func saveState(_ state: TrainerState, elapsed: Double, model: BertForTokenClassification,
                           optimizer: AdamW, labels: LabelSet) throws {
        guard isRoot else { return }
        var state = state
        state.elapsedSeconds = elapsed
        try Checkpoint.save(model, labels: labels.labels, to: path("last"), tokenizerSource: URL(fileURLWithPath: options.model),
                            extraFiles: ["trainer_state.json": try encodedJSON(state)]) { staging in
            let moments = [
                F32Tensor(name: "exp_avg", shape: [optimizer.firstMoment.count], values: Array(optimizer.firstMoment)),
                F32Tensor(name: "exp_avg_sq", shape: [optimizer.secondMoment.count], values: Array(optimizer.secondMoment)),
            ]
            try SafeTensorsWriter.write(moments, metadata: ["step": String(optimizer.stepCount)],
                                        to: staging.appendingPathComponent("optimizer.safetensors"))
        }
    }

    private func restoreOptimizer(_ optimizer: inout AdamW, state: TrainerState, model: BertForTokenClassification) throws {
        let file = try SafeTensorsFile(contentsOf: lastStateDirectory().appendingPathComponent("optimizer.safetensors"))
        try file.readFloats("exp_avg", into: optimizer.firstMoment)
        try file.readFloats("exp_avg_sq", into: optimizer.secondMoment)
        guard let steps = file.metadata["step"].flatMap(Int.init) else {
            throw TrainingError.nothingToResume(path: output.path)
        }
        optimizer.restoreStepCount(steps)
        model.trainingForwardCount = state.trainingForwards
    }
}

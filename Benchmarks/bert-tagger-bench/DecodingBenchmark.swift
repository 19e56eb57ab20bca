import ArgumentParser
import Datasets
import Foundation
import SeqEval
import Tagger
import Tensors

/// Entity F1 of fine-tuned models with argmax and with Viterbi decoding, each scored in seqeval's default mode
/// and in strict mode under the labels' scheme: what valid-sequence decoding is worth. Each model tags each file
/// once; both decodings read the same word probabilities (first sub-word, as training evaluates).
struct DecodingBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decoding",
        abstract: "Entity F1 with argmax against Viterbi decoding, in seqeval's default and strict modes, per model and file, with the mean and spread over models.")

    @Option(help: "Fine-tuned model directory (with a classifier); repeat it for several models (seeds, say).")
    var model: [String]

    @Option(help: "Labelled CoNLL file to tag and score (the last column is the gold label); repeat it for several.")
    var data: [String] = ["data/conll2003/dev.txt", "data/conll2003/test.txt"]

    @Option(help: "Threads for BLAS and the elementwise kernels (default: all cores).")
    var threads: Int?

    @Option(help: "Number format of the encoder's matrix products, as `predict --precision`: auto, fp32, bf16 or int8.")
    var precision: PrecisionChoice = .fp32

    func validate() throws {
        if model.isEmpty { throw ValidationError("give at least one --model DIR") }
        if data.isEmpty { throw ValidationError("give at least one --data FILE") }
        for path in model + data where !FileManager.default.fileExists(atPath: path) {
            throw ValidationError("\(path) does not exist; --model takes a fine-tuned model directory, --data a labelled CoNLL file")
        }
    }

    func run() throws {
        try printMachineHeader(threads: threads ?? ProcessInfo.processInfo.activeProcessorCount)
        let corpora = try data.map { try CoNLLReader(labelColumn: -1).read(contentsOf: URL(fileURLWithPath: $0)) }
        let batchTokens = 4096
        print("decoding benchmark: \(model.count) model(s), \(Parallel.threadCount) threads, \(precision.resolved); entity F1 ×100")
        print("model".padding(toLength: 40, withPad: " ", startingAt: 0) + " file       argmax default  argmax strict  "
              + "viterbi default  viterbi strict  ill-formed argmax")
        // Per file, per figure: one value per model.
        var figures = [[[Double]]](repeating: [[Double]](repeating: [], count: 4), count: data.count)
        for path in model {
            let directory = URL(fileURLWithPath: path)
            let settings = try TaggingSettings.load(from: directory)
            let classifier = try TokenClassifier(directory: directory, maxTokens: batchTokens, seed: 0,
                                                 precision: precision.resolved, purpose: .inference)
            guard let scheme = settings.scheme ?? TaggingScheme.inferred(labels: classifier.labels.labels) else {
                throw ValidationError("\(path): the labels \(classifier.labels.labels.prefix(8)) have no BIO-style scheme, so there are no entities to score")
            }
            let transitions = try LabelTransitions(labels: classifier.labels.labels, scheme: scheme)
            let maxLength = min(settings.maxLength ?? classifier.maxLength, classifier.maxLength)
            let windowing = try Windowing(maxLength: maxLength, stride: settings.stride, context: settings.context)
            for (f, corpus) in corpora.enumerated() {
                let dataset = try classifier.dataset(corpus, labelled: false, windowing: windowing)
                let batches = try dataset.batches(try BatchPlanner(maxTokens: batchTokens), order: .lengthSorted)
                let (probabilities, _) = try classifier.wordProbabilities(dataset, batches: batches)
                let gold = corpus.sentences.map { $0.labels ?? [] }
                let argmaxIDs = try probabilities.map { try transitions.decode(probabilities: $0, .argmax) }
                let viterbiIDs = try probabilities.map { try transitions.decode(probabilities: $0, .viterbi) }
                let illFormed = argmaxIDs.filter { !transitions.isWellFormed($0) }.count
                var row: [Double] = []
                for ids in [argmaxIDs, viterbiIDs] {
                    let predicted = ids.map { $0.map { classifier.labels.labels[$0] } }
                    for mode in [EvaluationMode.default, .strict(scheme)] {
                        row.append(100 * (try classificationReport(gold: gold, predicted: predicted, mode: mode)).microAverage.f1Score)
                    }
                }
                for (k, value) in row.enumerated() { figures[f][k].append(value) }
                print(String(path.suffix(40)).padding(toLength: 40, withPad: " ", startingAt: 0) + " "
                      + URL(fileURLWithPath: data[f]).lastPathComponent.padding(toLength: 10, withPad: " ", startingAt: 0)
                      + String(format: " %14.2f %14.2f %16.2f %15.2f   %d of %d sentences", row[0], row[1], row[2], row[3],
                               illFormed, corpus.sentences.count))
            }
        }
        guard model.count > 1 else { return }
        print("mean ± standard deviation over \(model.count) models (strict mode under the labels' scheme):")
        for (f, path) in data.enumerated() {
            let cells = figures[f].map { values -> String in
                let mean = values.reduce(0, +) / Double(values.count)
                let sd = (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count - 1)).squareRoot()
                return String(format: "%.2f ± %.2f", mean, sd)
            }
            let gains = (0..<2).map { k -> String in
                let deltas = zip(figures[f][k + 2], figures[f][k]).map { $0 - $1 }
                return String(format: "%+.2f (%+.2f to %+.2f)", deltas.reduce(0, +) / Double(deltas.count),
                              deltas.min()!, deltas.max()!)
            }
            print("  \(URL(fileURLWithPath: path).lastPathComponent): argmax default \(cells[0]), argmax strict \(cells[1]), "
                  + "viterbi default \(cells[2]), viterbi strict \(cells[3]); viterbi − argmax: default \(gains[0]), strict \(gains[1])")
        }
    }
}

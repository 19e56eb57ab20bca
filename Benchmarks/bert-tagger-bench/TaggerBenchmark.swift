import ArgumentParser
import Datasets
import Foundation
import SeqEval
import Tagger
import Tensors

/// What the Tagger's word handling costs on top of the model: a CoNLL corpus tagged pre-split by the evaluation
/// path (first sub-word, argmax), by the Tagger pre-split and as raw text, with each decoding and aggregation;
/// and the latency of one sentence at a time.
struct TaggerBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tagger",
        abstract: "Sentences/s of the Tagger (pre-split and raw text, Viterbi and argmax) against the evaluation path, and one-sentence latency.")

    @Option(help: "Token-classification model directory (with a classifier).")
    var model: String

    @Option(help: "CoNLL corpus whose sentences are tagged (the first column).")
    var data = "data/conll2003/test.txt"

    @Option(help: "Threads for BLAS and the elementwise kernels (default: all cores).")
    var threads: Int?

    @Option(help: "Timed passes of each measurement, interleaved (after one warm-up pass each).")
    var repeats = 3

    @Option(help: "Sentences timed one at a time for the latency percentiles (0: no latency).")
    var latencySentences = 300

    @Option(help: "Number format of the encoder's matrix products, as `predict --precision`: auto, fp32, bf16 or int8.")
    var precision: PrecisionChoice = .auto

    @Option(help: "Most tokens in one forward pass (the Tagger's and predict's --batch-tokens).")
    var batchTokens = 4096

    @Flag(help: "Time only the figures Scripts/bench_tagging.py sets beside its peers: the Tagger pre-split and on raw text (first + viterbi), and the latency.")
    var headline = false

    func validate() throws {
        guard latencySentences >= 0 else {
            throw ValidationError("--latency-sentences \(latencySentences) is negative; give 0 (no latency) or more")
        }
    }

    func run() throws {
        try printMachineHeader(threads: threads ?? ProcessInfo.processInfo.activeProcessorCount)
        let corpus = try CoNLLReader(tokenColumn: 0, labelColumn: nil).read(contentsOf: URL(fileURLWithPath: data))
        let texts = corpus.sentences.map { $0.words.joined(separator: " ") }
        let directory = URL(fileURLWithPath: model)
        func tagger(_ decoding: Decoding, _ aggregation: Aggregation = .first) throws -> Tagger {
            try Tagger(directory: directory, settings: TaggingSettings(decoding: decoding, aggregation: aggregation),
                       precision: precision, batchTokens: batchTokens, concurrency: 1)
        }
        let viterbi = try tagger(.viterbi), argmax = try tagger(.argmax), average = try tagger(.viterbi, .average)
        let classifier = try TokenClassifier(directory: directory, maxTokens: batchTokens, seed: 0,
                                             precision: precision.resolved, purpose: .inference)
        let windowing = try Windowing(maxLength: classifier.maxLength)
        print("tagger benchmark: \(model), \(corpus.sentences.count) sentences (\(corpus.wordCount) words) of \(data), "
              + "\(Parallel.threadCount) threads, \(viterbi.precision), batches of at most \(batchTokens) tokens")

        let allCases: [(String, () throws -> Void)] = [
            ("evaluation path, pre-split (first, argmax)", {
                let dataset = try classifier.dataset(corpus, labelled: false, windowing: windowing)
                let batches = try dataset.batches(try BatchPlanner(maxTokens: batchTokens), order: .lengthSorted)
                _ = try classifier.predict(dataset, batches: batches)
            }),
            ("Tagger, pre-split, first + argmax", { _ = try argmax.tag(corpus: corpus) }),
            ("Tagger, pre-split, first + viterbi", { _ = try viterbi.tag(corpus: corpus) }),
            ("Tagger, raw text, first + viterbi", { _ = try viterbi.tag(texts: texts) }),
            ("Tagger, raw text, average + viterbi", { _ = try average.tag(texts: texts) }),
        ]
        let headlineCases: Set = ["Tagger, pre-split, first + viterbi", "Tagger, raw text, first + viterbi"]
        let cases = headline ? allCases.filter { headlineCases.contains($0.0) } : allCases
        var seconds = [[Double]](repeating: [], count: cases.count)
        for (_, body) in cases { try body() }   // warm-up
        for _ in 0..<repeats {
            for (index, (_, body)) in cases.enumerated() {
                let start = Date()
                try body()
                seconds[index].append(Date().timeIntervalSince(start))
            }
        }
        for (index, (name, _)) in cases.enumerated() {
            let best = seconds[index].min()!, median = seconds[index].sorted()[seconds[index].count / 2]
            print(name.padding(toLength: 44, withPad: " ", startingAt: 0)
                  + String(format: "%6.0f sentences/s (best of %d; median %.0f)", Double(texts.count) / best, repeats,
                           Double(texts.count) / median))
        }

        if !headline { try timeBesidesTheModel(viterbi, texts: texts, corpus: corpus) }

        guard latencySentences > 0 else { return }
        var latencies: [Double] = []
        for text in texts.prefix(latencySentences) {
            let start = Date()
            _ = try viterbi.tag(text: text)
            latencies.append(Date().timeIntervalSince(start) * 1000)
        }
        latencies.sort()
        func percentile(_ p: Double) -> Double { latencies[min(latencies.count - 1, Int(p * Double(latencies.count)))] }
        print(String(format: "one raw sentence at a time (first %d): p50 %.2f ms, p99 %.2f ms", latencies.count,
                     percentile(0.5), percentile(0.99)))
    }

    /// What the Tagger adds besides the model, timed alone: raw text through the tokenizer (words, offsets) and
    /// decoding every word of the corpus over random probabilities.
    private func timeBesidesTheModel(_ viterbi: Tagger, texts: [String], corpus: Corpus) throws {
        var random = Datasets.SplitMix64(seed: 3)
        let n = viterbi.labels.count
        let scores = corpus.sentences.map { sentence in
            (0..<(sentence.words.count * n)).map { _ in log(Double(random.next() % 1000 + 1) / 1001) }
        }
        func milliseconds(_ body: () throws -> Void) rethrows -> Double {
            var best = Double.infinity
            for _ in 0..<repeats {
                let start = Date()
                try body()
                best = min(best, Date().timeIntervalSince(start) * 1000)
            }
            return best
        }
        let tokenizing = milliseconds { for text in texts { _ = viterbi.tokenizer.encode(text, addSpecialTokens: false) } }
        let viterbiMs = try milliseconds { for row in scores { _ = try viterbi.transitions.viterbi(row) } }
        let argmaxMs = try milliseconds { for row in scores { _ = try viterbi.transitions.argmax(row) } }
        print(String(format: "besides the model, for all %d sentences: tokenizing raw text %.1f ms; decoding %d labels, "
                     + "viterbi %.1f ms, argmax %.1f ms", texts.count, tokenizing, n, viterbiMs, argmaxMs))
        printPrimitiveCache()
    }
}

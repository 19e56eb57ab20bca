import BERT
import Foundation
import SafeTensors
import Testing
@testable import Training

/// A tiny BERT encoder and a synthetic CoNLL corpus it can learn in seconds, written to a fresh temporary
/// directory: what the training tests run on instead of the real encoder and CoNLL-2003.
///
/// The corpus has three columns (word, POS, NER). Names after "mr"/"mrs" or before "went" are people,
/// words after "to"/"from"/"in" are places, and a word before "corp" starts an organisation, so a model that
/// learns word identities and a little context scores well; the POS column is a function of the word.
struct TinyTaggingTask {
    let root: URL
    /// The pretrained encoder: config.json, model.safetensors without a classifier, vocab.txt,
    /// tokenizer_config.json.
    let model: URL
    let train: URL
    let dev: URL
    let test: URL

    static let persons = ["Smith", "Jones", "Brown", "Taylor", "Wilson", "Clark", "Lewis", "Walker", "Hall", "Young"]
    static let firstNames = ["John", "Mary", "Anna", "Peter", "Susan", "David"]
    static let places = ["Paris", "London", "Berlin", "Madrid", "Rome", "Tokyo", "Vienna", "Oslo", "Dublin", "Lisbon"]
    static let companies = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay"]
    static let fillers: [(String, String)] = [
        ("mr", "NNP"), ("mrs", "NNP"), ("said", "VBD"), ("went", "VBD"), ("works", "VBZ"), ("met", "VBD"),
        ("visited", "VBD"), ("was", "VBD"), ("on", "IN"), ("to", "TO"), ("for", "IN"), ("in", "IN"),
        ("from", "IN"), ("at", "IN"), ("monday", "NNP"), ("today", "NN"), ("the", "DT"), ("news", "NN"),
        ("city", "NN"), ("corp", "NNP"), ("good", "JJ"), ("he", "PRP"), ("she", "PRP"), (".", "."),
    ]
    /// Every word of the corpus, lower-cased, after the special tokens: the vocabulary.
    static var vocabulary: [String] {
        ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
            + (persons + firstNames + places + companies).map { $0.lowercased() } + fillers.map(\.0)
    }

    /// The encoder's shape: small enough that a debug build trains an epoch in well under a second.
    static func config(vocabSize: Int = vocabulary.count) -> BertConfig {
        BertConfig(vocabSize: vocabSize, hiddenSize: 16, numHiddenLayers: 2, numAttentionHeads: 2,
                   intermediateSize: 37, maxPositionEmbeddings: 64, architectures: ["BertModel"])
    }

    /// Writes the encoder and `sentences` training, `devSentences` dev and test sentences.
    init(sentences: Int = 60, devSentences: Int = 24, encoderSeed: UInt64 = 7) throws {
        let fm = FileManager.default
        root = fm.temporaryDirectory.appendingPathComponent("training-tests-\(UUID().uuidString)")
        model = root.appendingPathComponent("tiny-bert")
        try fm.createDirectory(at: model, withIntermediateDirectories: true)
        try Self.writeEncoder(to: model, seed: encoderSeed)
        train = root.appendingPathComponent("train.txt")
        dev = root.appendingPathComponent("dev.txt")
        test = root.appendingPathComponent("test.txt")
        try Self.conll(Self.sentences(sentences, seed: 1)).write(to: train, atomically: true, encoding: .utf8)
        try Self.conll(Self.sentences(devSentences, seed: 2)).write(to: dev, atomically: true, encoding: .utf8)
        try Self.conll(Self.sentences(devSentences, seed: 3)).write(to: test, atomically: true, encoding: .utf8)
    }

    func remove() { try? FileManager.default.removeItem(at: root) }

    /// A fresh run directory path inside the task's folder (not created).
    func runDirectory(_ name: String = "run") -> URL {
        root.appendingPathComponent("\(name)-\(UUID().uuidString.prefix(8))")
    }

    /// Options for a short, single-threaded run in single precision that logs every step. Tests in this process
    /// change the process's thread count while other runs are in flight; single-precision products keep their
    /// bits at any thread count on these shapes, oneDNN's BF16 products need not (BF16 runs have tests of their own).
    func options(output: URL, epochs: Int = 2, learningRate: Double = 5e-3, batchTokens: Int = 96) -> TrainingOptions {
        var options = TrainingOptions(model: model.path, train: train.path, dev: dev.path, test: test.path,
                                      output: output.path)
        options.epochs = epochs
        options.learningRate = learningRate
        options.batchTokens = batchTokens
        options.batchSentences = nil                // batches bounded by tokens alone, as the tests count them
        options.threads = 1
        options.precision = .fp32
        options.logEvery = 1
        options.warmup = 0.1
        return options
    }

    /// Runs a trainer, collecting what it says.
    @discardableResult
    static func run(_ options: TrainingOptions, resume: Bool = false, interruption: Interruption = Interruption(),
                    onStep: ((Int) -> Void)? = nil) throws -> (summary: TrainingSummary, messages: [String]) {
        let messages = Messages()
        let trainer = Trainer(options: options, resume: resume, interruption: interruption, progressInteractive: false,
                              say: { messages.append($0) })
        trainer.onStep = onStep
        let summary = try trainer.run()
        return (summary, messages.all)
    }

    // MARK: - Writing the model

    /// The encoder as a pretrained checkpoint ships it: BertModel names (no `bert.` prefix), no classifier.
    static func writeEncoder(to directory: URL, seed: UInt64) throws {
        let config = config()
        let model = BertForTokenClassification(config: config, numLabels: 1, maxTokens: 64, seed: seed)
        let tensors = model.layout.entries.filter { !$0.name.hasPrefix("classifier.") }.map { entry in
            F32Tensor(name: String(entry.name.dropFirst("bert.".count)), shape: entry.shape,
                      values: Array(model.parameters[entry.range]))
        }
        try SafeTensorsWriter.write(tensors, metadata: ["format": "pt"],
                                    to: directory.appendingPathComponent("model.safetensors"))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(config).write(to: directory.appendingPathComponent("config.json"))
        try (vocabulary.joined(separator: "\n") + "\n")
            .write(to: directory.appendingPathComponent("vocab.txt"), atomically: true, encoding: .utf8)
        try #"{"do_lower_case": true, "model_max_length": 64}"#
            .write(to: directory.appendingPathComponent("tokenizer_config.json"), atomically: true, encoding: .utf8)
    }

    // MARK: - Writing the corpus

    typealias Token = (word: String, pos: String, ner: String)

    /// `count` sentences drawn from a few templates with a fixed generator.
    static func sentences(_ count: Int, seed: UInt64) -> [[Token]] {
        var rng = SplitMix(seed: seed)
        func pick(_ words: [String]) -> String { words[Int(rng.next() % UInt64(words.count))] }
        func filler(_ word: String) -> Token { (word, fillers.first { $0.0 == word }!.1, "O") }
        func tokens(_ words: String) -> [Token] { words.split(separator: " ").map { filler(String($0)) } }
        return (0..<count).map { _ in
            switch rng.next() % 6 {
            case 0:
                return tokens("mr") + [(pick(persons), "NNP", "B-PER")] + tokens("said on monday .")
            case 1:
                return [(pick(firstNames), "NNP", "B-PER"), (pick(persons), "NNP", "I-PER")] + tokens("went to")
                    + [(pick(places), "NNP", "B-LOC")] + tokens(".")
            case 2:
                return tokens("mrs") + [(pick(persons), "NNP", "B-PER")] + tokens("works for")
                    + [(pick(companies), "NNP", "B-ORG"), ("corp", "NNP", "I-ORG")] + tokens("in")
                    + [(pick(places), "NNP", "B-LOC")] + tokens(".")
            case 3:
                return tokens("the news from") + [(pick(places), "NNP", "B-LOC")] + tokens("was good .")
            case 4:
                return tokens("he met") + [(pick(firstNames), "NNP", "B-PER"), (pick(persons), "NNP", "I-PER")]
                    + tokens("at") + [(pick(companies), "NNP", "B-ORG"), ("corp", "NNP", "I-ORG")] + tokens("today .")
            default:
                return tokens("she visited the city .")
            }
        }
    }

    /// CoNLL text with a `-DOCSTART-` line before every fifth sentence.
    static func conll(_ sentences: [[Token]]) -> String {
        var text = ""
        for (index, sentence) in sentences.enumerated() {
            if index % 5 == 0 { text += "-DOCSTART- -X- O\n\n" }
            for token in sentence { text += "\(token.word) \(token.pos) \(token.ner)\n" }
            text += "\n"
        }
        return text
    }
}

/// A seeded generator so the corpus is the same on every machine.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Messages a trainer says, collected from whichever thread says them.
final class Messages: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func append(_ line: String) { lock.lock(); lines.append(line); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return lines }
}

// MARK: - Reading a run directory

/// The rows of a metrics JSONL file.
func metricsRows(_ run: URL, _ name: String) throws -> [[String: Any]] {
    let text = try String(contentsOf: run.appendingPathComponent("metrics/\(name).jsonl"), encoding: .utf8)
    return try text.split(separator: "\n").map {
        try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
    }
}

func column(_ rows: [[String: Any]], _ key: String) -> [Double] {
    rows.map { ($0[key] as? NSNumber)?.doubleValue ?? .nan }
}

/// Every tensor of a safetensors file by name.
func tensors(_ url: URL) throws -> [String: [Float]] {
    let file = try SafeTensorsFile(contentsOf: url)
    return try Dictionary(uniqueKeysWithValues: file.names.map { ($0, try file.floats($0)) })
}

/// The tensors whose values differ between two files, with the largest difference, for failure messages.
func differingTensors(_ a: URL, _ b: URL) throws -> [String] {
    let left = try tensors(a), right = try tensors(b)
    var out: [String] = []
    for name in Set(left.keys).union(right.keys).sorted() {
        guard let l = left[name], let r = right[name], l.count == r.count else {
            out.append("\(name): missing or resized"); continue
        }
        if l != r {
            let largest = zip(l, r).map { abs($0 - $1) }.max() ?? 0
            out.append("\(name): largest difference \(largest)")
        }
    }
    return out
}

func mean<C: Collection>(_ values: C) -> Double where C.Element == Double {
    values.isEmpty ? .nan : values.reduce(0, +) / Double(values.count)
}

/// Equality up to the last digits a JSON round trip may change (Foundation's parser is not always exact).
func approximatelyEqual(_ a: Double?, _ b: Double?) -> Bool {
    guard let a, let b else { return a == nil && b == nil }
    return abs(a - b) <= 1e-12 * max(1, abs(a))
}

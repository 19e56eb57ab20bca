import BERT
import Foundation
import SafeTensors

/// A tiny BERT encoder and a synthetic CoNLL corpus, written to a fresh temporary directory: what the data-parallel
/// runs train and tag in seconds. Dropout is off unless asked for; with it on, each rank draws the masks one process
/// would draw for its tokens, so a 2-rank run still reproduces a single process's weights.
struct TinyTask {
    let root: URL
    let model: URL
    let train: URL
    let dev: URL
    /// Inputs to tag: more sentences and lines than predict puts in one chunk (512 at most), so that both ranks tag many.
    let corpusToTag: URL
    let text: URL

    static let persons = ["smith", "jones", "brown", "taylor", "wilson", "clark"]
    static let places = ["paris", "london", "berlin", "madrid", "rome", "tokyo"]
    static let companies = ["acme", "globex", "initech", "hooli"]
    static let fillers = ["mr", "said", "went", "to", "works", "for", "in", "the", "news", "from", "was", "good", "corp", "."]
    /// "x" and "##x" spell a word of many x's in as many pieces: one longer than a window cannot be tagged.
    static var vocabulary: [String] { ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + persons + places + companies + fillers + ["x", "##x"] }

    init(sentences: Int = 48, devSentences: Int = 20, dropout: Double = 0) throws {
        let fm = FileManager.default
        root = fm.temporaryDirectory.appendingPathComponent("data-parallel-\(UUID().uuidString)")
        model = root.appendingPathComponent("tiny-bert")
        try fm.createDirectory(at: model, withIntermediateDirectories: true)
        let config = BertConfig(vocabSize: Self.vocabulary.count, hiddenSize: 16, numHiddenLayers: 2, numAttentionHeads: 2,
                                intermediateSize: 37, hiddenDropoutProb: dropout, attentionProbsDropoutProb: dropout,
                                maxPositionEmbeddings: 64, architectures: ["BertModel"])
        let encoder = BertForTokenClassification(config: config, numLabels: 1, maxTokens: 64, seed: 7)
        let tensors = encoder.layout.entries.filter { !$0.name.hasPrefix("classifier.") }.map { entry in
            F32Tensor(name: String(entry.name.dropFirst("bert.".count)), shape: entry.shape,
                      values: Array(encoder.parameters[entry.range]))
        }
        try SafeTensorsWriter.write(tensors, metadata: ["format": "pt"], to: model.appendingPathComponent("model.safetensors"))
        let json = JSONEncoder()
        json.outputFormatting = [.prettyPrinted, .sortedKeys]
        try json.encode(config).write(to: model.appendingPathComponent("config.json"))
        try (Self.vocabulary.joined(separator: "\n") + "\n").write(to: model.appendingPathComponent("vocab.txt"), atomically: true, encoding: .utf8)
        try #"{"do_lower_case": true, "model_max_length": 64}"#
            .write(to: model.appendingPathComponent("tokenizer_config.json"), atomically: true, encoding: .utf8)
        train = root.appendingPathComponent("train.txt")
        dev = root.appendingPathComponent("dev.txt")
        corpusToTag = root.appendingPathComponent("to-tag.conll")
        text = root.appendingPathComponent("text.txt")
        try Self.conll(sentences, seed: 1).write(to: train, atomically: true, encoding: .utf8)
        try Self.conll(devSentences, seed: 2).write(to: dev, atomically: true, encoding: .utf8)
        try Self.conll(1300, seed: 4).write(to: corpusToTag, atomically: true, encoding: .utf8)
        try Self.lines(1300, seed: 3).write(to: text, atomically: true, encoding: .utf8)
    }

    func remove() { try? FileManager.default.removeItem(at: root) }

    /// Sentences from a few templates, as (word, tag), with a fixed generator.
    static func sentences(_ count: Int, seed: UInt64) -> [[(String, String)]] {
        var state = seed
        func next() -> Int {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Int((z ^ (z >> 31)) % 1_000_003)
        }
        func pick(_ words: [String]) -> String { words[next() % words.count] }
        func o(_ words: String) -> [(String, String)] { words.split(separator: " ").map { (String($0), "O") } }
        return (0 ..< count).map { _ in
            switch next() % 4 {
            case 0: return o("mr") + [(pick(persons), "B-PER")] + o("said .")
            case 1: return [(pick(persons), "B-PER")] + o("went to") + [(pick(places), "B-LOC")] + o(".")
            case 2: return o("mr") + [(pick(persons), "B-PER")] + o("works for") + [(pick(companies), "B-ORG"), ("corp", "I-ORG")]
                + o("in") + [(pick(places), "B-LOC")] + o(".")
            default: return o("the news from") + [(pick(places), "B-LOC")] + o("was good .")
            }
        }
    }

    /// CoNLL text with a `-DOCSTART-` line before every fifth sentence.
    static func conll(_ count: Int, seed: UInt64) -> String {
        sentences(count, seed: seed).enumerated().map { index, sentence in
            (index % 5 == 0 ? "-DOCSTART- O\n\n" : "") + sentence.map { "\($0.0) \($0.1)\n" }.joined() + "\n"
        }.joined()
    }

    /// Raw text, one document a line, mixed case.
    static func lines(_ count: Int, seed: UInt64) -> String {
        sentences(count, seed: seed).map { $0.map { $0.0.capitalized }.joined(separator: " ") + "\n" }.joined()
    }
}

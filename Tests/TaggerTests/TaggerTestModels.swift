import BERT
import Foundation
import SafeTensors
import Tagger
import Tensors

/// Token-classification model directories the Tagger tests load, written to fresh temporary directories.
enum TaggerTestModels {
    static let labels = ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]

    /// Words and word-pieces of the tiny model's vocabulary (lower case: the tokenizer lower-cases).
    static let vocabulary: [String] = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
        + ["my", "name", "is", "don", "qui", "##x", "##ote", "and", "i", "live", "in", "la", "man", "##cha",
           "paris", "cafe", "au", "lait", "zurich", "the", "city", "of", "tokyo", "went", "to", "he", "she", "said",
           "sao", "paulo", "s", "new", "york", "a", "b", "c", "d", "e"]
        + [".", ",", "!", "?", "'", "(", ")", ";", ":", "-"]

    /// A tiny random `BertForTokenClassification` (hidden 16, 2 layers, 64 positions) with the real tokenizer
    /// machinery over a small vocab.txt. The classifier's weights are scaled up so that labels vary from word to
    /// word; the model knows nothing, which is all the tagging mechanics need.
    static func tiny(seed: UInt64 = 5, labels: [String] = labels, settings: TaggingSettings? = nil) throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tagger-tests-\(UUID().uuidString)")
        let config = BertConfig(vocabSize: vocabulary.count, hiddenSize: 16, numHiddenLayers: 2, numAttentionHeads: 2,
                                intermediateSize: 37, maxPositionEmbeddings: 64, architectures: ["BertForTokenClassification"])
        let model = BertForTokenClassification(config: config, numLabels: labels.count, maxTokens: 64, seed: seed)
        let weight = model.layout.entry(named: "classifier.weight")!
        for i in weight.range { model.parameters[i] *= 60 }
        try Checkpoint.save(model, labels: labels, to: directory, tokenizerSource: nil)
        try (vocabulary.joined(separator: "\n") + "\n")
            .write(to: directory.appendingPathComponent("vocab.txt"), atomically: true, encoding: .utf8)
        try #"{"do_lower_case": true, "model_max_length": 64}"#
            .write(to: directory.appendingPathComponent("tokenizer_config.json"), atomically: true, encoding: .utf8)
        try settings?.save(in: directory)
        return directory
    }

    /// The default encoder, as `Scripts/setup.sh` puts it in models/.
    static let encoder: URL = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.appendingPathComponent("models/all-MiniLM-L6-v2")
    }()

    static var hasEncoder: Bool {
        FileManager.default.fileExists(atPath: encoder.appendingPathComponent("model.safetensors").path)
    }

    static func fixture(_ name: String) -> URL {
        Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent(name)
    }

    /// The default encoder with the seeded classifier of `Fixtures/minilm-pipeline` (made by
    /// Scripts/make_tagger_fixtures.py), saved as one token-classification directory.
    static func minilmPipeline(labels: [String]) throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tagger-minilm-\(UUID().uuidString)")
        let checkpoint = try Checkpoint(directory: encoder, labels: labels)
        let model = try checkpoint.makeModel(maxTokens: 512, purpose: .inference)
        let classifier = try SafeTensorsFile(contentsOf: fixture("minilm-pipeline/classifier.safetensors"))
        for name in ["classifier.weight", "classifier.bias"] {
            let entry = model.layout.entry(named: name)!
            let values = try classifier.floats(name)
            precondition(values.count == entry.count, "\(name): \(values.count) values for \(entry.count) parameters")
            for (offset, value) in zip(entry.range, values) { model.parameters[offset] = value }
        }
        try Checkpoint.save(model, labels: labels, to: directory, tokenizerSource: encoder)
        return directory
    }
}

/// The scalars `range` of `text`, as Python's `text[start:end]`.
func slice(_ text: String, _ range: Range<Int>) -> String {
    let scalars = Array(text.unicodeScalars)
    var view = String.UnicodeScalarView()
    view.append(contentsOf: scalars[range])
    return String(view)
}

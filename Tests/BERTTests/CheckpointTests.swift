import Foundation
import SafeTensors
import Testing
@testable import BERT

enum BERTFixture {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    static func url(_ name: String) -> URL { directory.appendingPathComponent(name) }
    static let tinyLabels = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
    static let encoderDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("models/all-MiniLM-L6-v2")
    static var encoderIsPresent: Bool {
        FileManager.default.fileExists(atPath: encoderDirectory.appendingPathComponent("model.safetensors").path)
    }
    static let encoderAbsentMessage: Comment = "models/all-MiniLM-L6-v2 is absent (run Scripts/setup.sh --no-build to fetch it)"
}

func makeTemporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("bert-checkpoint-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Writes a checkpoint directory from the tiny fixture with its tensors renamed, dropped or added and its config edited.
func writeVariant(of fixture: String = "tiny-gelu", in directory: URL,
                  rename: (String) -> String? = { $0 }, extra: [F32Tensor] = [],
                  editConfig: (inout [String: Any]) -> Void = { _ in }) throws -> URL {
    let source = BERTFixture.url(fixture)
    let file = try SafeTensorsFile(contentsOf: source.appendingPathComponent("model.safetensors"))
    var tensors: [F32Tensor] = []
    for info in file.tensors {
        guard let name = rename(info.name) else { continue }
        tensors.append(F32Tensor(name: name, shape: info.shape, values: try file.floats(info.name)))
    }
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    try SafeTensorsWriter.write(tensors + extra, metadata: ["format": "pt"], to: directory.appendingPathComponent("model.safetensors"))
    var config = try JSONSerialization.jsonObject(with: Data(contentsOf: source.appendingPathComponent("config.json"))) as! [String: Any]
    editConfig(&config)
    try JSONSerialization.data(withJSONObject: config).write(to: directory.appendingPathComponent("config.json"))
    return directory
}

/// The checkpoint's weights in a fresh slab; entries it lacks stay NaN.
func loadSlab(_ checkpoint: Checkpoint) throws -> [Float] {
    var slab = [Float](repeating: .nan, count: checkpoint.layout.totalCount)
    try slab.withUnsafeMutableBufferPointer { _ = try checkpoint.load(into: $0) }
    return slab
}

func parameterValues(of model: BertForTokenClassification) -> [Float] { Array(model.parameters) }

func checkpointError(_ body: () throws -> Void) -> CheckpointError? {
    do { try body() } catch let error as CheckpointError { return error } catch {
        Issue.record("unexpected error \(error)")
        return nil
    }
    return nil
}

@Suite struct CheckpointLoadTests {
    @Test func loadsAHuggingFaceTokenClassifierAsIs() throws {
        let directory = BERTFixture.url("tiny-gelu")
        let checkpoint = try Checkpoint(directory: directory)
        #expect(checkpoint.labels == BERTFixture.tinyLabels)
        #expect(checkpoint.hasClassifier)
        #expect(checkpoint.ignoredTensors.isEmpty)
        #expect(checkpoint.config.hiddenSize == 32 && checkpoint.config.numHiddenLayers == 2)
        let slab = try loadSlab(checkpoint)
        let file = try SafeTensorsFile(contentsOf: directory.appendingPathComponent("model.safetensors"))
        for entry in checkpoint.layout.entries {
            #expect(Array(slab[entry.range]).map(\.bitPattern) == (try file.floats(entry.name)).map(\.bitPattern), "\(entry.name)")
        }
    }

    @Test func acceptsBareEncoderNamesAndGammaBetaAndNotesWhatItIgnores() throws {
        let root = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let renamed: (String) -> String? = { name in
            if name.hasPrefix("classifier.") { return nil }
            var bare = String(name.dropFirst("bert.".count))
            if bare.hasSuffix("LayerNorm.weight") { bare = String(bare.dropLast("weight".count)) + "gamma" }
            if bare.hasSuffix("LayerNorm.bias") { bare = String(bare.dropLast("bias".count)) + "beta" }
            return bare
        }
        let extras = [
            F32Tensor(name: "pooler.dense.weight", shape: [32, 32], values: Array(repeating: 1, count: 1024)),
            F32Tensor(name: "pooler.dense.bias", shape: [32], values: Array(repeating: 1, count: 32)),
            F32Tensor(name: "cls.predictions.bias", shape: [99], values: Array(repeating: 1, count: 99)),
            F32Tensor(name: "embeddings.position_ids", shape: [1, 40], values: (0..<40).map(Float.init)),
        ]
        let directory = try writeVariant(in: root.appendingPathComponent("encoder"), rename: renamed, extra: extras, editConfig: {
            $0["architectures"] = ["BertModel"]
            $0.removeValue(forKey: "id2label")
            $0.removeValue(forKey: "label2id")
        })
        let labels = ["O", "B-X", "I-X"]
        let checkpoint = try Checkpoint(directory: directory, labels: labels)
        #expect(!checkpoint.hasClassifier)
        #expect(checkpoint.labels == labels)
        #expect(checkpoint.config.id2label == [0: "O", 1: "B-X", 2: "I-X"])
        #expect(checkpoint.ignoredTensors == ["cls.predictions.bias", "embeddings.position_ids", "pooler.dense.bias", "pooler.dense.weight"])

        var absent: [String] = []
        var loaded = [Float](repeating: .nan, count: checkpoint.layout.totalCount)
        try loaded.withUnsafeMutableBufferPointer { absent = try checkpoint.load(into: $0) }
        #expect(absent == ["classifier.weight", "classifier.bias"])

        let model = try checkpoint.makeModel(maxTokens: 64, seed: 7)
        let slab = parameterValues(of: model)
        let reference = try loadSlab(Checkpoint(directory: BERTFixture.url("tiny-gelu")))
        let original = ParameterLayout(config: checkpoint.config, numLabels: 5)
        for entry in checkpoint.layout.entries where !entry.name.hasPrefix("classifier.") {
            #expect(slab[entry.range] == reference[original.entry(named: entry.name)!.range], "\(entry.name)")
            #expect(slab[entry.range] == loaded[entry.range], "\(entry.name)")
        }
        // The classifier starts as HuggingFace starts one: normal(0, initializer_range), bias 0, from the seed.
        let weight = Array(slab[checkpoint.layout.entry(named: "classifier.weight")!.range])
        #expect(weight.count == 3 * 32)
        #expect(slab[checkpoint.layout.entry(named: "classifier.bias")!.range].allSatisfy { $0 == 0 })
        let mean = weight.reduce(0, +) / Float(weight.count)
        let std = (weight.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(weight.count)).squareRoot()
        #expect(abs(mean) < 0.03 && abs(std - 0.1) < 0.02, "initializer_range is 0.1; drew mean \(mean), std \(std)")
        #expect(parameterValues(of: try checkpoint.makeModel(maxTokens: 64, seed: 7)) == slab, "the same seed gives the same classifier")
        #expect(parameterValues(of: try checkpoint.makeModel(maxTokens: 64, seed: 8)) != slab, "another seed gives another classifier")
        // Only the classifier is drawn, yet it is the one a fully initialised model of the same seed has.
        let fresh = parameterValues(of: BertForTokenClassification(config: checkpoint.config, numLabels: 3, maxTokens: 64, seed: 7))
        for name in ["classifier.weight", "classifier.bias"] {
            let range = checkpoint.layout.entry(named: name)!.range
            #expect(slab[range] == fresh[range], "\(name) is a full initialisation's")
        }

        // Loading into an existing model re-initialises the classifier from the seed, as a new model would.
        let other = BertForTokenClassification(config: checkpoint.config, numLabels: 3, maxTokens: 64, seed: 99)
        try checkpoint.load(into: other, seed: 7)
        #expect(parameterValues(of: other) == slab)
        let wrongLabels = BertForTokenClassification(config: checkpoint.config, numLabels: 4, maxTokens: 64)
        guard case .layoutMismatch? = checkpointError({ try checkpoint.load(into: wrongLabels) }) else {
            Issue.record("a model of another shape must be refused")
            return
        }
    }

    @Test func aMissingTensorIsNamedWithItsShape() throws {
        let root = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let directory = try writeVariant(in: root, rename: { $0 == "bert.encoder.layer.1.output.dense.weight" ? nil : $0 })
        let error = checkpointError { _ = try Checkpoint(directory: directory) }
        #expect(error == .missingTensor(path: directory.appendingPathComponent("model.safetensors").path,
                                        tensor: "bert.encoder.layer.1.output.dense.weight", expectedShape: [32, 37]))
        #expect(error?.description.contains("bert.encoder.layer.1.output.dense.weight") == true)
    }

    @Test func aMisShapedTensorIsNamedWithBothShapes() throws {
        let root = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let directory = try writeVariant(in: root, editConfig: { $0["intermediate_size"] = 36 })
        let error = checkpointError { _ = try Checkpoint(directory: directory) }
        #expect(error == .shapeMismatch(path: directory.appendingPathComponent("model.safetensors").path,
                                        tensor: "bert.encoder.layer.0.intermediate.dense.weight", expected: [36, 32], found: [37, 32]))
        #expect(error?.description.contains("[37, 32]") == true && error?.description.contains("[36, 32]") == true)
    }

    @Test func tensorsOfLayersTheConfigDoesNotHaveAreAnError() throws {
        let root = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let directory = try writeVariant(in: root, editConfig: { $0["num_hidden_layers"] = 1 })
        guard case let .unexpectedTensors(_, tensors)? = checkpointError({ _ = try Checkpoint(directory: directory) }) else {
            Issue.record("expected unexpectedTensors")
            return
        }
        #expect(tensors.count == 16 && tensors.allSatisfy { $0.hasPrefix("bert.encoder.layer.1.") })
    }

    @Test func twoNamesForOneParameterAreAnError() throws {
        let root = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let directory = try writeVariant(in: root, extra: [F32Tensor(name: "embeddings.LayerNorm.gamma", shape: [32],
                                                                     values: Array(repeating: 1, count: 32))])
        #expect(checkpointError { _ = try Checkpoint(directory: directory) } == .ambiguousTensor(
            path: directory.appendingPathComponent("model.safetensors").path, tensor: "bert.embeddings.LayerNorm.weight",
            names: ["bert.embeddings.LayerNorm.weight", "embeddings.LayerNorm.gamma"]))
    }

    @Test func aPyTorchPickleIsRefusedWithAConversionCommand() throws {
        let root = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.copyItem(at: BERTFixture.url("tiny-gelu/config.json"), to: root.appendingPathComponent("config.json"))
        try Data([0x80, 0x02]).write(to: root.appendingPathComponent("pytorch_model.bin"))
        let error = checkpointError { _ = try Checkpoint(directory: root) }
        #expect(error == .unsupportedWeights(path: root.appendingPathComponent("pytorch_model.bin").path))
        #expect(error?.description.contains("save_file") == true && error?.description.contains("model.safetensors") == true)
        try FileManager.default.removeItem(at: root.appendingPathComponent("pytorch_model.bin"))
        #expect(checkpointError { _ = try Checkpoint(directory: root) }
            == .missingFile(path: root.appendingPathComponent("model.safetensors").path))
    }

    @Test func labelCountsAndNamesMustAgreeWithTheCheckpoint() throws {
        let config = BERTFixture.url("tiny-gelu/config.json").path
        let tiny = BERTFixture.tinyLabels
        let named = Dictionary(uniqueKeysWithValues: tiny.enumerated().map { ($0.offset, $0.element) })
        let placeholders = [0: "LABEL_0", 1: "LABEL_1"]
        // A classifier of 5 rows with 3 labels given.
        guard case .labelMismatch? = checkpointError({
            _ = try Checkpoint.resolveLabels(given: ["O", "B", "I"], id2label: named, classifierRows: 5, configPath: config)
        }) else { Issue.record("count mismatch not caught"); return }
        // The same count in another order.
        guard case .labelMismatch? = checkpointError({
            _ = try Checkpoint.resolveLabels(given: tiny.reversed(), id2label: named, classifierRows: 5, configPath: config)
        }) else { Issue.record("name mismatch not caught"); return }
        // id2label disagreeing with the classifier.
        guard case .labelMismatch? = checkpointError({
            _ = try Checkpoint.resolveLabels(given: nil, id2label: placeholders, classifierRows: 5, configPath: config)
        }) else { Issue.record("id2label/classifier mismatch not caught"); return }
        #expect(checkpointError { _ = try Checkpoint.resolveLabels(given: nil, id2label: nil, classifierRows: nil, configPath: config) }
            == .noLabels(path: config))
        #expect(checkpointError { _ = try Checkpoint.resolveLabels(given: ["O", "O"], id2label: nil, classifierRows: nil, configPath: config) }
            == .labelMismatch(path: config, reason: "label \"O\" is listed twice"))
        // Placeholder names yield to the caller's; real names are kept.
        #expect(try Checkpoint.resolveLabels(given: ["A", "B"], id2label: placeholders, classifierRows: 2, configPath: config) == ["A", "B"])
        #expect(try Checkpoint.resolveLabels(given: nil, id2label: named, classifierRows: nil, configPath: config) == tiny)
        #expect(try Checkpoint.resolveLabels(given: nil, id2label: nil, classifierRows: 2, configPath: config) == ["LABEL_0", "LABEL_1"])
        // Through the directory: the tiny classifier has 5 labels.
        guard case .labelMismatch? = checkpointError({
            _ = try Checkpoint(directory: BERTFixture.url("tiny-gelu"), labels: ["O", "B-PER"])
        }) else { Issue.record("directory label mismatch not caught"); return }
    }

    @Test(.enabled(if: BERTFixture.encoderIsPresent, BERTFixture.encoderAbsentMessage))
    func loadsTheDefaultEncoderIgnoringItsPoolerAndPositionIDs() throws {
        let labels = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]
        let checkpoint = try Checkpoint(directory: BERTFixture.encoderDirectory, labels: labels)
        #expect(!checkpoint.hasClassifier)
        #expect(checkpoint.ignoredTensors == ["embeddings.position_ids", "pooler.dense.bias", "pooler.dense.weight"])
        #expect(checkpoint.layout.entry(named: "classifier.weight")?.shape == [9, 384])
        guard case .noLabels? = checkpointError({ _ = try Checkpoint(directory: BERTFixture.encoderDirectory) }) else {
            Issue.record("an encoder without labels must ask for them")
            return
        }
    }
}

@Suite struct CheckpointSaveTests {
    @Test func savedDirectoryReloadsBitIdenticalWithHuggingFaceConfigAndTokenizerFiles() throws {
        let root = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let tokenizerSource = root.appendingPathComponent("tokenizer-source")
        try FileManager.default.createDirectory(at: tokenizerSource, withIntermediateDirectories: true)
        try Data("[PAD]\n[UNK]\n".utf8).write(to: tokenizerSource.appendingPathComponent("vocab.txt"))
        try Data(#"{"do_lower_case": true}"#.utf8).write(to: tokenizerSource.appendingPathComponent("tokenizer_config.json"))

        let checkpoint = try Checkpoint(directory: BERTFixture.url("tiny-gelu"))
        var slab = try loadSlab(checkpoint)
        // Values a text format would round: the weights file must carry every bit.
        slab[0] = .leastNonzeroMagnitude
        slab[1] = -0.0
        slab[2] = Float(bitPattern: 0x3EAA_AAAB)
        let output = root.appendingPathComponent("model")
        let labels = ["O", "B-A", "I-A", "B-B", "I-B"]
        try slab.withUnsafeBufferPointer {
            try Checkpoint.save(parameters: $0, layout: checkpoint.layout, config: checkpoint.config, labels: labels,
                                to: output, tokenizerSource: tokenizerSource)
        }
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: output.path))
            == ["config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json"])
        #expect(try Data(contentsOf: output.appendingPathComponent("vocab.txt")) == Data("[PAD]\n[UNK]\n".utf8))

        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: output.appendingPathComponent("config.json"))) as! [String: Any]
        #expect(config["architectures"] as? [String] == ["BertForTokenClassification"])
        #expect(config["model_type"] as? String == "bert")
        #expect(config["id2label"] as? [String: String] == ["0": "O", "1": "B-A", "2": "I-A", "3": "B-B", "4": "I-B"])
        #expect(config["label2id"] as? [String: Int] == ["O": 0, "B-A": 1, "I-A": 2, "B-B": 3, "I-B": 4])
        #expect(config["hidden_size"] as? Int == 32 && config["intermediate_size"] as? Int == 37)
        let weights = try SafeTensorsFile(contentsOf: output.appendingPathComponent("model.safetensors"))
        #expect(weights.metadata["format"] == "pt")
        #expect(Set(weights.names) == Set(checkpoint.layout.entries.map(\.name)))

        let reloaded = try Checkpoint(directory: output)
        #expect(reloaded.labels == labels)
        #expect(try loadSlab(reloaded).map(\.bitPattern) == slab.map(\.bitPattern))

        // Saving again replaces the directory whole and leaves nothing beside it.
        try slab.withUnsafeBufferPointer {
            try Checkpoint.save(parameters: $0, layout: checkpoint.layout, config: checkpoint.config, labels: labels,
                                to: output, tokenizerSource: nil)
        }
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: output.path)) == ["config.json", "model.safetensors"])
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: root.path)) == ["tokenizer-source", "model"])
    }

    /// Set BERT_TAGGER_KEEP_SAVED_MODEL=DIR to keep the saved directory there, e.g. for
    /// `python3 Scripts/check_hf_load.py DIR`.
    @Test(.enabled(if: BERTFixture.encoderIsPresent, BERTFixture.encoderAbsentMessage))
    func savesTheDefaultEncoderAsATokenClassifierThatReloadsBitIdentical() throws {
        let labels = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]
        let model = try Checkpoint(directory: BERTFixture.encoderDirectory, labels: labels).makeModel(maxTokens: 16, seed: 3)
        let kept = ProcessInfo.processInfo.environment["BERT_TAGGER_KEEP_SAVED_MODEL"].map { URL(fileURLWithPath: $0) }
        let root = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let output = kept ?? root.appendingPathComponent("conll-minilm")
        try Checkpoint.save(model, to: output, tokenizerSource: BERTFixture.encoderDirectory)
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: output.path)) == Set(
            ["config.json", "model.safetensors"] + Checkpoint.tokenizerFileNames))
        let reloaded = try Checkpoint(directory: output)
        #expect(reloaded.hasClassifier && reloaded.ignoredTensors.isEmpty && reloaded.labels == labels)
        let again = try reloaded.makeModel(maxTokens: 16, seed: 4)
        #expect(again.parameters.elementsEqual(model.parameters) { $0.bitPattern == $1.bitPattern })
        #expect(again.config.extra["_name_or_path"] == model.config.extra["_name_or_path"], "unknown config keys are kept")
    }

    @Test func refusesALabelListThatDoesNotFitTheClassifier() throws {
        let root = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let checkpoint = try Checkpoint(directory: BERTFixture.url("tiny-gelu"))
        let slab = try loadSlab(checkpoint)
        let output = root.appendingPathComponent("model")
        let error = checkpointError {
            try slab.withUnsafeBufferPointer {
                try Checkpoint.save(parameters: $0, layout: checkpoint.layout, config: checkpoint.config, labels: ["O"],
                                    to: output, tokenizerSource: nil)
            }
        }
        guard case .saveFailed? = error else { Issue.record("expected saveFailed, got \(String(describing: error))"); return }
        #expect(!FileManager.default.fileExists(atPath: output.path))
        #expect(try FileManager.default.contentsOfDirectory(atPath: root.path).isEmpty)
    }
}

import Foundation
import SafeTensors

/// A HuggingFace BERT checkpoint directory (config.json + model.safetensors), read and checked against the
/// parameter layout before any weight is copied.
///
/// Checkpoint names are matched to the layout's `BertForTokenClassification` names in one place
/// (`canonicalName`): a bare `BertModel` has no `bert.` prefix, and old TensorFlow conversions call
/// LayerNorm's weight and bias `gamma` and `beta`. The pooler, pre-training heads (`cls.*`) and the
/// `position_ids` buffer are not part of a token classifier; they are skipped and listed in `ignoredTensors`.
public struct Checkpoint {
    public static let configFileName = "config.json"
    public static let weightsFileName = "model.safetensors"
    /// Files the tokenizer needs, copied beside a saved model when the source has them.
    public static let tokenizerFileNames = ["tokenizer.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json"]

    public let directory: URL
    /// The encoder settings from config.json, with `id2label`/`label2id` set to `labels`.
    public let config: BertConfig
    /// Label names by id: from the caller, else from config.json's `id2label`.
    public let labels: [String]
    /// Checkpoint tensors that a token classifier does not use, as named in the file.
    public let ignoredTensors: [String]
    /// Whether the checkpoint has its own classifier; when not, loading starts one as HuggingFace does.
    public let hasClassifier: Bool
    public let layout: ParameterLayout
    private let weights: SafeTensorsFile
    /// Layout name → name in the file, for every entry the file provides.
    private let sourceNames: [String: String]

    /// Reads config.json and the header of model.safetensors and checks every tensor's name and shape.
    ///
    /// - Parameter labels: the label list to train or tag with. Required when the checkpoint has no
    ///   classifier and config.json names no labels; otherwise it must agree with the checkpoint.
    public init(directory: URL, labels: [String]? = nil) throws {
        self.directory = directory
        let fileManager = FileManager.default
        let configURL = directory.appendingPathComponent(Self.configFileName)
        let weightsURL = directory.appendingPathComponent(Self.weightsFileName)
        guard fileManager.fileExists(atPath: configURL.path) else {
            throw CheckpointError.missingFile(path: configURL.path)
        }
        guard fileManager.fileExists(atPath: weightsURL.path) else {
            for name in ["pytorch_model.bin", "model.safetensors.index.json", "pytorch_model.bin.index.json", "tf_model.h5"] {
                let other = directory.appendingPathComponent(name)
                if fileManager.fileExists(atPath: other.path) { throw CheckpointError.unsupportedWeights(path: other.path) }
            }
            throw CheckpointError.missingFile(path: weightsURL.path)
        }
        var config = try BertConfig.load(from: configURL)
        guard config.modelType == "bert" else {
            throw CheckpointError.notBert(path: configURL.path, modelType: config.modelType)
        }
        let weights = try SafeTensorsFile(contentsOf: weightsURL)

        // Map every file name to the layout's name, refusing two file names for one parameter.
        var canonicalToSource: [String: String] = [:]
        var ignored: [String] = []
        for name in weights.names {
            let canonical = Self.canonicalName(name)
            if Self.isIgnored(canonical) {
                ignored.append(name)
                continue
            }
            if let other = canonicalToSource[canonical] {
                throw CheckpointError.ambiguousTensor(path: weightsURL.path, tensor: canonical, names: [other, name].sorted())
            }
            canonicalToSource[canonical] = name
        }

        let classifierWeight = canonicalToSource["classifier.weight"].flatMap { weights.info($0) }
        let classifierBias = canonicalToSource["classifier.bias"].flatMap { weights.info($0) }
        if let classifierWeight, classifierBias == nil {
            throw CheckpointError.missingTensor(path: weightsURL.path, tensor: "classifier.bias",
                                                expectedShape: [classifierWeight.shape.first ?? 0])
        }
        if let classifierBias, classifierWeight == nil {
            throw CheckpointError.missingTensor(path: weightsURL.path, tensor: "classifier.weight",
                                                expectedShape: [classifierBias.shape.first ?? 0, config.hiddenSize])
        }
        var classifierRows: Int?
        if let classifierWeight {
            guard classifierWeight.shape.count == 2, classifierWeight.shape[1] == config.hiddenSize else {
                throw CheckpointError.shapeMismatch(path: weightsURL.path, tensor: classifierWeight.name,
                                                   expected: [classifierWeight.shape.first ?? 0, config.hiddenSize],
                                                   found: classifierWeight.shape)
            }
            classifierRows = classifierWeight.shape[0]
        }
        let resolved = try Self.resolveLabels(given: labels, id2label: config.id2label, classifierRows: classifierRows,
                                              configPath: configURL.path)
        config.id2label = Dictionary(uniqueKeysWithValues: resolved.enumerated().map { ($0.offset, $0.element) })
        config.label2id = Dictionary(uniqueKeysWithValues: resolved.enumerated().map { ($0.element, $0.offset) })

        let layout = ParameterLayout(config: config, numLabels: resolved.count)
        var sourceNames: [String: String] = [:]
        for entry in layout.entries {
            guard let source = canonicalToSource.removeValue(forKey: entry.name) else {
                if entry.name.hasPrefix("classifier.") { continue }
                throw CheckpointError.missingTensor(path: weightsURL.path, tensor: entry.name, expectedShape: entry.shape)
            }
            let info = weights.info(source)!
            guard info.shape == entry.shape else {
                throw CheckpointError.shapeMismatch(path: weightsURL.path, tensor: source, expected: entry.shape, found: info.shape)
            }
            guard info.dtype.isFloatingPoint else {
                throw SafeTensorsError.unsupportedConversion(path: weightsURL.path, tensor: source,
                                                             dtype: info.dtype.rawValue, wanted: "Float")
            }
            sourceNames[entry.name] = source
        }
        // Whatever is left is a parameter this architecture does not have: most often a config.json that
        // does not describe these weights (fewer layers, another model type). Loading it anyway would
        // silently drop trained weights.
        if !canonicalToSource.isEmpty {
            throw CheckpointError.unexpectedTensors(path: weightsURL.path, tensors: canonicalToSource.values.sorted())
        }

        self.config = config
        self.labels = resolved
        self.ignoredTensors = ignored.sorted()
        self.hasClassifier = classifierRows != nil
        self.layout = layout
        self.weights = weights
        self.sourceNames = sourceNames
    }

    /// The layout's name for a checkpoint name: `bert.` prefix added, `gamma`/`beta` renamed.
    static func canonicalName(_ name: String) -> String {
        var name = name
        for prefix in ["embeddings.", "encoder.", "pooler."] where name.hasPrefix(prefix) {
            name = "bert." + name
        }
        if name.hasSuffix("LayerNorm.gamma") { name = String(name.dropLast("gamma".count)) + "weight" }
        if name.hasSuffix("LayerNorm.beta") { name = String(name.dropLast("beta".count)) + "bias" }
        return name
    }

    /// Tensors a token classifier does not use: the pooler, pre-training heads, and index buffers.
    static func isIgnored(_ canonical: String) -> Bool {
        canonical.hasPrefix("bert.pooler.") || canonical.hasPrefix("cls.")
            || canonical.hasSuffix(".position_ids") || canonical.hasSuffix(".token_type_ids")
    }

    /// Decides the label list from the caller's list, config.json's `id2label` and the classifier's rows.
    /// HuggingFace's placeholder names (`LABEL_0`, `LABEL_1`, …) count for their number, not their names.
    static func resolveLabels(given: [String]?, id2label: [Int: String]?, classifierRows: Int?, configPath: String) throws -> [String] {
        func mismatch(_ reason: String) -> CheckpointError { .labelMismatch(path: configPath, reason: reason) }
        if let given {
            if given.isEmpty { throw mismatch("the label list is empty") }
            var seen = Set<String>()
            for label in given where !seen.insert(label).inserted { throw mismatch("label \"\(label)\" is listed twice") }
        }
        var configLabels: [String]?
        if let id2label, !id2label.isEmpty {
            let ids = id2label.keys.sorted()
            guard ids == Array(0..<ids.count) else {
                throw mismatch("id2label ids must be 0 to \(ids.count - 1), found \(ids)")
            }
            configLabels = ids.map { id2label[$0]! }
        }
        let configIsPlaceholder = configLabels.map { $0.enumerated().allSatisfy { $1 == "LABEL_\($0)" } } ?? true
        if let rows = classifierRows {
            if let configLabels, configLabels.count != rows {
                throw mismatch("id2label names \(configLabels.count) labels but classifier.weight has \(rows) rows")
            }
            if let given, given.count != rows {
                throw mismatch("the checkpoint's classifier predicts \(rows) labels (\((configLabels ?? []).joined(separator: ", ")))"
                    + " but \(given.count) were given (\(given.joined(separator: ", "))); train from the encoder alone to change the labels")
            }
        }
        if let given, let configLabels, !configIsPlaceholder, given != configLabels {
            throw mismatch("the labels given (\(given.joined(separator: ", "))) differ from id2label (\(configLabels.joined(separator: ", ")))")
        }
        if let given { return given }
        if let configLabels, !configIsPlaceholder || classifierRows != nil { return configLabels }
        if let rows = classifierRows { return (0..<rows).map { "LABEL_\($0)" } }
        throw CheckpointError.noLabels(path: configPath)
    }

    /// Copies every tensor the checkpoint has into `parameters` (laid out as `layout`) and returns the names of
    /// the entries it lacks (the classifier, when `hasClassifier` is false), which the caller initialises.
    @discardableResult
    public func load(into parameters: UnsafeMutableBufferPointer<Float>) throws -> [String] {
        precondition(parameters.count == layout.totalCount,
                     "the slab holds \(parameters.count) floats but the checkpoint's layout needs \(layout.totalCount)")
        var absent: [String] = []
        for entry in layout.entries {
            guard let source = sourceNames[entry.name] else {
                absent.append(entry.name)
                continue
            }
            try weights.readFloats(source, into: UnsafeMutableBufferPointer(rebasing: parameters[entry.range]))
        }
        return absent
    }
}

public enum CheckpointError: Error, CustomStringConvertible, Equatable {
    case missingFile(path: String)
    /// A weights format other than a single model.safetensors.
    case unsupportedWeights(path: String)
    case notBert(path: String, modelType: String)
    case missingTensor(path: String, tensor: String, expectedShape: [Int])
    case shapeMismatch(path: String, tensor: String, expected: [Int], found: [Int])
    case unexpectedTensors(path: String, tensors: [String])
    case ambiguousTensor(path: String, tensor: String, names: [String])
    case labelMismatch(path: String, reason: String)
    case noLabels(path: String)
    case layoutMismatch(path: String, reason: String)
    case saveFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case let .missingFile(path):
            return "\(path) does not exist. A model directory holds config.json and model.safetensors"
                + " (as written by HuggingFace's save_pretrained or by this tool)."
        case let .unsupportedWeights(path):
            let directory = (path as NSString).deletingLastPathComponent
            let name = (path as NSString).lastPathComponent
            if name == "pytorch_model.bin" {
                return "\(path): PyTorch pickle checkpoints are not supported; only model.safetensors is. Convert it once with:"
                    + " python3 -c \"import torch; from safetensors.torch import save_file;"
                    + " save_file({k: v.contiguous() for k, v in torch.load('\(path)', map_location='cpu').items()},"
                    + " '\(directory)/model.safetensors', metadata={'format': 'pt'})\""
            }
            return "\(path): only a single model.safetensors is supported, not \(name). Save the model again as one"
                + " safetensors file (save_pretrained(dir, max_shard_size=\"10GB\"))."
        case let .notBert(path, modelType):
            return "\(path): model_type is \"\(modelType)\"; only BERT checkpoints (model_type \"bert\") can be loaded."
        case let .missingTensor(path, tensor, shape):
            return "\(path): tensor \"\(tensor)\" (shape \(shape)) is missing. The checkpoint does not hold a BERT encoder"
                + " matching its config.json."
        case let .shapeMismatch(path, tensor, expected, found):
            return "\(path): tensor \"\(tensor)\" has shape \(found) but config.json implies \(expected)."
                + " The weights and config.json do not belong together."
        case let .unexpectedTensors(path, tensors):
            let shown = tensors.prefix(5).joined(separator: ", ") + (tensors.count > 5 ? ", … (\(tensors.count) in all)" : "")
            return "\(path): tensors not in a BERT token classifier with this config.json: \(shown)."
                + " Check num_hidden_layers and model_type in config.json."
        case let .ambiguousTensor(path, tensor, names):
            return "\(path): \(names.joined(separator: " and ")) both name the parameter \"\(tensor)\"; keep only one."
        case let .labelMismatch(path, reason):
            return "\(path): \(reason)."
        case let .noLabels(path):
            return "\(path): the checkpoint has no classifier and config.json names no labels; give the label list"
                + " (e.g. the labels of the training data)."
        case let .layoutMismatch(path, reason):
            return "\(path): the checkpoint does not fit this model (\(reason)); create the model from the checkpoint instead."
        case let .saveFailed(path, reason):
            return "\(path): cannot save the model (\(reason)). Check that the parent directory exists, is writable and has space;"
                + " a model saved there before is left as it was."
        }
    }
}

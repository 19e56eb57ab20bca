import Foundation
import Tensors

extension Checkpoint {
    /// A model holding the checkpoint's weights, planned for `maxTokens` tokens per batch. A classifier the
    /// checkpoint lacks starts as HuggingFace starts one (weight normal(0, initializer_range), bias 0) from
    /// `seed`, which also keys the model's dropout masks. `precision` is the format of its matrix products;
    /// `purpose` `.inference` plans a forward-only model (no gradients, layer buffers shared across layers).
    public func makeModel(maxTokens: Int, seed: UInt64 = 0, precision: GEMMPrecision = .fp32,
                          purpose: ModelPurpose = .training) throws -> BertForTokenClassification {
        // Only what the file lacks is drawn from the seed (each tensor from its own stream, so the values are a
        // full initialisation's); drawing the rest only to overwrite it took a tenth of tagging a test set.
        let model = BertForTokenClassification(config: config, numLabels: labels.count, maxTokens: maxTokens, seed: seed,
                                               precision: precision, purpose: purpose, initializingParameters: false)
        let absent = try load(into: model.parameters)
        if !absent.isEmpty { model.initializeParameters(seed: seed, only: Set(absent)) }
        return model
    }

    /// Loads the weights into an existing model of the same shape; parameters the checkpoint lacks are
    /// re-initialised from `seed` as a new model's would be.
    public func load(into model: BertForTokenClassification, seed: UInt64 = 0) throws {
        let sameShape = model.layout.entries.count == layout.entries.count
            && zip(model.layout.entries, layout.entries).allSatisfy { $0.name == $1.name && $0.shape == $1.shape }
        guard sameShape else {
            throw CheckpointError.layoutMismatch(path: directory.path,
                                                 reason: "the model has \(model.numLabels) labels and \(model.config.numHiddenLayers) layers of width \(model.config.hiddenSize); the checkpoint has \(labels.count) labels and \(config.numHiddenLayers) layers of width \(config.hiddenSize)")
        }
        let absent = try load(into: model.parameters)
        if !absent.isEmpty { model.initializeParameters(seed: seed, only: Set(absent)) }
    }

    /// Saves `model` as a HuggingFace directory (see `save(parameters:layout:config:labels:to:tokenizerSource:)`),
    /// with `labels` or, when nil, the model's `id2label`.
    public static func save(_ model: BertForTokenClassification, labels: [String]? = nil, to directory: URL,
                            tokenizerSource: URL?, extraFiles: [String: Data] = [:],
                            writeMore: ((URL) throws -> Void)? = nil) throws {
        let names: [String]
        if let labels {
            names = labels
        } else if let id2label = model.config.id2label, id2label.keys.sorted() == Array(0..<model.numLabels) {
            names = (0..<model.numLabels).map { id2label[$0]! }
        } else {
            throw CheckpointError.saveFailed(path: directory.path,
                                             reason: "the model's config names no labels for its \(model.numLabels) outputs; pass the label list")
        }
        try save(parameters: model.parameterValues, layout: model.layout, config: model.config,
                 labels: names, to: directory, tokenizerSource: tokenizerSource, extraFiles: extraFiles,
                 writeMore: writeMore)
    }
}

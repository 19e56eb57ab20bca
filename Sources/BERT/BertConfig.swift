import FileIO
import Foundation

/// The activation a BERT config names in `hidden_act`.
public enum Activation: String, Codable, Sendable, CaseIterable {
    /// HuggingFace's `gelu`: the exact form, x * Φ(x) with erf.
    case gelu
    /// HuggingFace's `gelu_new` / `gelu_pytorch_tanh`: the tanh approximation.
    case geluNew = "gelu_new"
    case geluPyTorchTanh = "gelu_pytorch_tanh"
    case relu

    /// Whether this activation uses the tanh approximation of GELU.
    public var isTanhGELU: Bool { self == .geluNew || self == .geluPyTorchTanh }
}

/// The settings of a BERT encoder, decoded from HuggingFace's `config.json`.
///
/// Swift names inside, HuggingFace keys in `CodingKeys`; absent keys take HuggingFace's defaults.
public struct BertConfig: Codable, Sendable, Equatable {
    public var vocabSize: Int
    public var hiddenSize: Int
    public var numHiddenLayers: Int
    public var numAttentionHeads: Int
    public var intermediateSize: Int
    public var hiddenAct: Activation
    public var hiddenDropoutProb: Double
    public var attentionProbsDropoutProb: Double
    public var maxPositionEmbeddings: Int
    public var typeVocabSize: Int
    public var initializerRange: Double
    public var layerNormEps: Double
    public var padTokenId: Int
    public var positionEmbeddingType: String
    /// Classifier dropout; HuggingFace falls back to `hidden_dropout_prob` when it is null.
    public var classifierDropout: Double?
    /// Label names by id, when the checkpoint is a token classifier.
    public var id2label: [Int: String]?
    public var label2id: [String: Int]?
    public var architectures: [String]?
    public var modelType: String
    /// Keys this type does not model, kept so a saved config loses nothing.
    public var extra: [String: JSONValue] = [:]

    enum CodingKeys: String, CodingKey, CaseIterable {
        case vocabSize = "vocab_size"
        case hiddenSize = "hidden_size"
        case numHiddenLayers = "num_hidden_layers"
        case numAttentionHeads = "num_attention_heads"
        case intermediateSize = "intermediate_size"
        case hiddenAct = "hidden_act"
        case hiddenDropoutProb = "hidden_dropout_prob"
        case attentionProbsDropoutProb = "attention_probs_dropout_prob"
        case maxPositionEmbeddings = "max_position_embeddings"
        case typeVocabSize = "type_vocab_size"
        case initializerRange = "initializer_range"
        case layerNormEps = "layer_norm_eps"
        case padTokenId = "pad_token_id"
        case positionEmbeddingType = "position_embedding_type"
        case classifierDropout = "classifier_dropout"
        case id2label
        case label2id
        case architectures
        case modelType = "model_type"
    }

    public init(vocabSize: Int = 30522, hiddenSize: Int = 768, numHiddenLayers: Int = 12,
                numAttentionHeads: Int = 12, intermediateSize: Int = 3072, hiddenAct: Activation = .gelu,
                hiddenDropoutProb: Double = 0.1, attentionProbsDropoutProb: Double = 0.1,
                maxPositionEmbeddings: Int = 512, typeVocabSize: Int = 2, initializerRange: Double = 0.02,
                layerNormEps: Double = 1e-12, padTokenId: Int = 0, positionEmbeddingType: String = "absolute",
                classifierDropout: Double? = nil, id2label: [Int: String]? = nil, label2id: [String: Int]? = nil,
                architectures: [String]? = nil, modelType: String = "bert") {
        self.vocabSize = vocabSize
        self.hiddenSize = hiddenSize
        self.numHiddenLayers = numHiddenLayers
        self.numAttentionHeads = numAttentionHeads
        self.intermediateSize = intermediateSize
        self.hiddenAct = hiddenAct
        self.hiddenDropoutProb = hiddenDropoutProb
        self.attentionProbsDropoutProb = attentionProbsDropoutProb
        self.maxPositionEmbeddings = maxPositionEmbeddings
        self.typeVocabSize = typeVocabSize
        self.initializerRange = initializerRange
        self.layerNormEps = layerNormEps
        self.padTokenId = padTokenId
        self.positionEmbeddingType = positionEmbeddingType
        self.classifierDropout = classifierDropout
        self.id2label = id2label
        self.label2id = label2id
        self.architectures = architectures
        self.modelType = modelType
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = BertConfig()
        vocabSize = try c.decodeIfPresent(Int.self, forKey: .vocabSize) ?? d.vocabSize
        hiddenSize = try c.decodeIfPresent(Int.self, forKey: .hiddenSize) ?? d.hiddenSize
        numHiddenLayers = try c.decodeIfPresent(Int.self, forKey: .numHiddenLayers) ?? d.numHiddenLayers
        numAttentionHeads = try c.decodeIfPresent(Int.self, forKey: .numAttentionHeads) ?? d.numAttentionHeads
        intermediateSize = try c.decodeIfPresent(Int.self, forKey: .intermediateSize) ?? d.intermediateSize
        if let name = try c.decodeIfPresent(String.self, forKey: .hiddenAct) {
            guard let activation = Activation(rawValue: name) else {
                throw DecodingError.dataCorruptedError(
                    forKey: .hiddenAct, in: c,
                    debugDescription: "\"\(name)\" is not a supported activation; use one of "
                        + Activation.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", "))
            }
            hiddenAct = activation
        } else {
            hiddenAct = d.hiddenAct
        }
        hiddenDropoutProb = try c.decodeIfPresent(Double.self, forKey: .hiddenDropoutProb) ?? d.hiddenDropoutProb
        attentionProbsDropoutProb = try c.decodeIfPresent(Double.self, forKey: .attentionProbsDropoutProb)
            ?? d.attentionProbsDropoutProb
        maxPositionEmbeddings = try c.decodeIfPresent(Int.self, forKey: .maxPositionEmbeddings) ?? d.maxPositionEmbeddings
        typeVocabSize = try c.decodeIfPresent(Int.self, forKey: .typeVocabSize) ?? d.typeVocabSize
        initializerRange = try c.decodeIfPresent(Double.self, forKey: .initializerRange) ?? d.initializerRange
        layerNormEps = try c.decodeIfPresent(Double.self, forKey: .layerNormEps) ?? d.layerNormEps
        padTokenId = try c.decodeIfPresent(Int.self, forKey: .padTokenId) ?? d.padTokenId
        positionEmbeddingType = try c.decodeIfPresent(String.self, forKey: .positionEmbeddingType)
            ?? d.positionEmbeddingType
        classifierDropout = try c.decodeIfPresent(Double.self, forKey: .classifierDropout)
        if let raw = try c.decodeIfPresent([String: String].self, forKey: .id2label) {
            var map: [Int: String] = [:]
            for (key, label) in raw {
                guard let id = Int(key) else {
                    throw DecodingError.dataCorruptedError(
                        forKey: .id2label, in: c, debugDescription: "id2label key \"\(key)\" is not an integer")
                }
                map[id] = label
            }
            id2label = map
        }
        label2id = try c.decodeIfPresent([String: Int].self, forKey: .label2id)
        architectures = try c.decodeIfPresent([String].self, forKey: .architectures)
        modelType = try c.decodeIfPresent(String.self, forKey: .modelType) ?? d.modelType

        let known = Set(CodingKeys.allCases.map(\.rawValue))
        let all = try decoder.container(keyedBy: AnyKey.self)
        for key in all.allKeys where !known.contains(key.stringValue) {
            extra[key.stringValue] = try all.decode(JSONValue.self, forKey: key)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var all = encoder.container(keyedBy: AnyKey.self)
        for (key, value) in extra { try all.encode(value, forKey: AnyKey(key)) }
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(vocabSize, forKey: .vocabSize)
        try c.encode(hiddenSize, forKey: .hiddenSize)
        try c.encode(numHiddenLayers, forKey: .numHiddenLayers)
        try c.encode(numAttentionHeads, forKey: .numAttentionHeads)
        try c.encode(intermediateSize, forKey: .intermediateSize)
        try c.encode(hiddenAct, forKey: .hiddenAct)
        try c.encode(hiddenDropoutProb, forKey: .hiddenDropoutProb)
        try c.encode(attentionProbsDropoutProb, forKey: .attentionProbsDropoutProb)
        try c.encode(maxPositionEmbeddings, forKey: .maxPositionEmbeddings)
        try c.encode(typeVocabSize, forKey: .typeVocabSize)
        try c.encode(initializerRange, forKey: .initializerRange)
        try c.encode(layerNormEps, forKey: .layerNormEps)
        try c.encode(padTokenId, forKey: .padTokenId)
        try c.encode(positionEmbeddingType, forKey: .positionEmbeddingType)
        try c.encodeIfPresent(classifierDropout, forKey: .classifierDropout)
        if let id2label {
            try c.encode(Dictionary(uniqueKeysWithValues: id2label.map { (String($0.key), $0.value) }), forKey: .id2label)
        }
        try c.encodeIfPresent(label2id, forKey: .label2id)
        try c.encodeIfPresent(architectures, forKey: .architectures)
        try c.encode(modelType, forKey: .modelType)
    }

    /// Reads `config.json`, with an error naming the file and the key path on failure.
    public static func load(from url: URL) throws -> BertConfig {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw BertConfigError.unreadable(path: url.path, reason: fileErrorReason(error, path: url.path))
        }
        return try decode(data, path: url.path)
    }

    /// Decodes and validates a `config.json`'s bytes; `path` names them in errors.
    public static func decode(_ data: Data, path: String) throws -> BertConfig {
        do {
            let config = try JSONDecoder().decode(BertConfig.self, from: data)
            try config.validate(path: path)
            return config
        } catch let error as DecodingError {
            throw BertConfigError.invalid(path: path, reason: error.readableDescription)
        }
    }

    /// Upper bounds on the sizes, far above any published BERT's, so that no size product can overflow
    /// and a typo (an extra digit or three) is named here instead of failing as an allocation.
    public static let sizeLimits: [(key: String, limit: Int)] = [
        ("vocab_size", 1 << 24), ("hidden_size", 1 << 16), ("num_hidden_layers", 1024),
        ("num_attention_heads", 1 << 16), ("intermediate_size", 1 << 20), ("max_position_embeddings", 1 << 20),
        ("type_vocab_size", 1 << 16),
    ]

    /// Checks every field's range and the relations between sizes that the model relies on; the error
    /// names the file, the field, the value found and the allowed range.
    public func validate(path: String) throws {
        func fail(_ reason: String) -> BertConfigError { .invalid(path: path, reason: reason) }
        let sizes = ["vocab_size": vocabSize, "hidden_size": hiddenSize, "num_hidden_layers": numHiddenLayers,
                     "num_attention_heads": numAttentionHeads, "intermediate_size": intermediateSize,
                     "max_position_embeddings": maxPositionEmbeddings, "type_vocab_size": typeVocabSize]
        for (name, limit) in Self.sizeLimits {
            let value = sizes[name]!
            guard (1...limit).contains(value) else {
                throw fail("\(name) is \(value); it must be an integer from 1 to \(limit)")
            }
        }
        if hiddenSize % numAttentionHeads != 0 {
            throw fail("hidden_size (\(hiddenSize)) is not a multiple of num_attention_heads (\(numAttentionHeads))")
        }
        // A probability of 1 would drop every value (and divide by 1 - p = 0 to rescale the rest).
        let probabilities = [("hidden_dropout_prob", hiddenDropoutProb), ("attention_probs_dropout_prob", attentionProbsDropoutProb)]
            + (classifierDropout.map { [("classifier_dropout", $0)] } ?? [])
        for (name, value) in probabilities where !(value >= 0 && value < 1) {
            throw fail("\(name) is \(value); a dropout probability must be at least 0 and below 1 (0 ≤ p < 1)")
        }
        if !(layerNormEps > 0 && layerNormEps.isFinite) {
            throw fail("layer_norm_eps is \(layerNormEps); it must be a positive finite number (BERT uses 1e-12)")
        }
        if !(initializerRange >= 0 && initializerRange.isFinite) {
            throw fail("initializer_range is \(initializerRange); it must be a finite number at least 0 (BERT uses 0.02)")
        }
        if !(0..<vocabSize).contains(padTokenId) {
            throw fail("pad_token_id is \(padTokenId); it must be a token id from 0 to vocab_size - 1 (\(vocabSize - 1))")
        }
        if positionEmbeddingType != "absolute" {
            throw fail("position_embedding_type \"\(positionEmbeddingType)\" is not supported; only \"absolute\" is")
        }
        if let id2label, let label2id {
            for (id, label) in id2label where label2id[label] != id {
                throw fail("id2label[\(id)] = \"\(label)\" but label2id[\"\(label)\"] = \(label2id[label].map(String.init) ?? "nothing")")
            }
        }
    }

    /// Width of one attention head.
    public var headSize: Int { hiddenSize / numAttentionHeads }
}

public enum BertConfigError: Error, CustomStringConvertible, Equatable {
    case unreadable(path: String, reason: String)
    case invalid(path: String, reason: String)

    public var description: String {
        switch self {
        case let .unreadable(path, reason):
            return "\(path): cannot read the model config (\(reason)). Point --model at a HuggingFace BERT directory holding config.json."
        case let .invalid(path, reason):
            return "\(path): invalid BERT config: \(reason)."
        }
    }
}

/// A JSON value of any kind, for config keys this package passes through untouched.
public enum JSONValue: Codable, Sendable, Equatable {
    case null, bool(Bool), number(Double), string(String), array([JSONValue]), object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let n = try? c.decode(Double.self) { self = .number(n) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .number(let n):
            if n == n.rounded(), abs(n) < 1e15 { try c.encode(Int64(n)) } else { try c.encode(n) }
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }
}

struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ string: String) { stringValue = string }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { return nil }
}

extension DecodingError {
    /// The key path and the problem, in words a user can act on.
    var readableDescription: String {
        func path(_ context: Context) -> String {
            let keys = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
            return keys.isEmpty ? "top level" : "key \"\(keys.joined(separator: "."))\""
        }
        switch self {
        case let .typeMismatch(type, context): return "\(path(context)): expected \(type); \(context.debugDescription)"
        case let .valueNotFound(type, context): return "\(path(context)): expected \(type), found null"
        case let .keyNotFound(key, context): return "\(path(context)): missing key \"\(key.stringValue)\""
        case let .dataCorrupted(context): return "\(path(context)): \(context.debugDescription)"
        @unknown default: return String(describing: self)
        }
    }
}

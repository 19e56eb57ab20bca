import Tagger

// Request and response bodies of the JSON API. Offsets count Unicode scalars (as Python indexes a `str`),
// `end` exclusive.

/// `POST /v1/entities`: exactly one of `text` and `texts`.
public struct EntitiesRequest: Codable, Sendable {
    public var text: String?
    public var texts: [String]?

    public init(text: String? = nil, texts: [String]? = nil) {
        self.text = text
        self.texts = texts
    }
}

public struct EntityBody: Codable, Sendable, Equatable {
    public var type: String
    public var start: Int
    public var end: Int
    public var text: String
    public var score: Double

    init(_ entity: TaggedEntity) {
        type = entity.type
        start = entity.start
        end = entity.end
        text = entity.text
        score = entity.score
    }
}

/// The answer for one text.
public struct EntitiesResponse: Codable, Sendable, Equatable {
    public var entities: [EntityBody]
}

/// The answer for `texts`, in input order.
public struct EntitiesBatchResponse: Codable, Sendable, Equatable {
    public var results: [EntitiesResponse]
}

/// `POST /v1/tags`: exactly one of `words` (one sentence) and `sentences`. The sentences of one request are one
/// document: when the model's tagging settings ask for context, neighbouring sentences lend it.
public struct TagsRequest: Codable, Sendable {
    public var words: [String]?
    public var sentences: [[String]]?

    public init(words: [String]? = nil, sentences: [[String]]? = nil) {
        self.words = words
        self.sentences = sentences
    }
}

public struct WordTagBody: Codable, Sendable, Equatable {
    public var word: String
    public var label: String
    public var probability: Double
}

/// The answer for one sentence: a label and its probability per word.
public struct TagsResponse: Codable, Sendable, Equatable {
    public var tags: [WordTagBody]

    init(_ tagged: TaggedText) {
        tags = tagged.words.map { WordTagBody(word: $0.text, label: $0.label, probability: $0.probability) }
    }
}

/// The answer for `sentences`, in input order.
public struct TagsBatchResponse: Codable, Sendable, Equatable {
    public var results: [TagsResponse]
}

/// `GET /v1/model`.
public struct ModelResponse: Codable, Sendable, Equatable {
    public struct Encoder: Codable, Sendable, Equatable {
        public var layers: Int
        public var hiddenSize: Int
        public var heads: Int
        public var vocabularySize: Int
        public var maxPositionEmbeddings: Int
        /// Number format of the encoder's matrix products.
        public var precision: String
    }

    public var labels: [String]
    /// The label scheme entities are read under; nil for labels without one (POS tags).
    public var scheme: String?
    public var decoding: String
    public var aggregation: String
    /// Neighbouring sentences of context on each side (`/v1/tags` sentences only).
    public var context: Int
    /// Most tokens of one window, [CLS] and [SEP] included; longer inputs are tagged in overlapping windows.
    public var maxLength: Int
    public var stride: Int
    public var encoder: Encoder
}

/// Every error answer: `{"error": "..."}`.
public struct ErrorResponse: Codable, Sendable, Equatable {
    public var error: String
}

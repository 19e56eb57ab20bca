/// Where each named parameter lives in the flat slab.
///
/// Names are HuggingFace's `BertForTokenClassification` state-dict names and shapes are PyTorch's
/// (a Linear weight is [out, in], row-major), so loading a checkpoint is a copy and matrix products use
/// BLAS transposes instead of copies. There is no pooler: token classification does not use it.
///
/// Legend: V vocab, P max positions, TV token types, C channels, F intermediate (feed-forward) size,
/// NL labels, L layers.
public struct ParameterLayout: Sendable {
    public struct Entry: Sendable {
        public let name: String
        public let shape: [Int]
        public let offset: Int

        public init(name: String, shape: [Int], offset: Int) {
            self.name = name
            self.shape = shape
            self.offset = offset
        }

        public var count: Int { shape.reduce(1, *) }

        /// Whether weight decay applies. As in the usual HuggingFace recipe (and the tutorial), biases and
        /// LayerNorm parameters are exempt; everything else, embeddings included, decays.
        public var decays: Bool {
            !(name.hasSuffix(".bias") || name.contains("LayerNorm."))
        }

        /// The slab indices this entry occupies.
        public var range: Range<Int> { offset ..< offset + count }
    }

    /// In HuggingFace's order: embeddings, layers 0..L-1, classifier.
    public let entries: [Entry]
    public let totalCount: Int
    private let indexByName: [String: Int]

    public init(config: BertConfig, numLabels: Int) {
        let c = config.hiddenSize, f = config.intermediateSize
        var shapes: [(String, [Int])] = [
            ("bert.embeddings.word_embeddings.weight", [config.vocabSize, c]),             // [V, C]
            ("bert.embeddings.position_embeddings.weight", [config.maxPositionEmbeddings, c]), // [P, C]
            ("bert.embeddings.token_type_embeddings.weight", [config.typeVocabSize, c]),    // [TV, C]
            ("bert.embeddings.LayerNorm.weight", [c]),                                      // [C]
            ("bert.embeddings.LayerNorm.bias", [c]),                                        // [C]
        ]
        for i in 0 ..< config.numHiddenLayers {
            let p = "bert.encoder.layer.\(i)."
            shapes += [
                (p + "attention.self.query.weight", [c, c]),             // [C, C]
                (p + "attention.self.query.bias", [c]),                  // [C]
                (p + "attention.self.key.weight", [c, c]),               // [C, C]
                (p + "attention.self.key.bias", [c]),                    // [C]
                (p + "attention.self.value.weight", [c, c]),             // [C, C]
                (p + "attention.self.value.bias", [c]),                  // [C]
                (p + "attention.output.dense.weight", [c, c]),           // [C, C]
                (p + "attention.output.dense.bias", [c]),                // [C]
                (p + "attention.output.LayerNorm.weight", [c]),          // [C]
                (p + "attention.output.LayerNorm.bias", [c]),            // [C]
                (p + "intermediate.dense.weight", [f, c]),               // [F, C]
                (p + "intermediate.dense.bias", [f]),                    // [F]
                (p + "output.dense.weight", [c, f]),                     // [C, F]
                (p + "output.dense.bias", [c]),                          // [C]
                (p + "output.LayerNorm.weight", [c]),                    // [C]
                (p + "output.LayerNorm.bias", [c]),                      // [C]
            ]
        }
        shapes += [
            ("classifier.weight", [numLabels, c]),                       // [NL, C]
            ("classifier.bias", [numLabels]),                            // [NL]
        ]
        var entries: [Entry] = []
        entries.reserveCapacity(shapes.count)
        var offset = 0
        for (name, shape) in shapes {
            let entry = Entry(name: name, shape: shape, offset: offset)
            entries.append(entry)
            offset += entry.count
        }
        self.entries = entries
        self.totalCount = offset
        self.indexByName = Dictionary(uniqueKeysWithValues: entries.enumerated().map { ($1.name, $0) })
    }

    public func entry(named name: String) -> Entry? {
        indexByName[name].map { entries[$0] }
    }
}

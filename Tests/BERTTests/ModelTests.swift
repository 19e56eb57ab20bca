import Foundation
import Tensors
import Testing
@testable import BERT

/// A config small enough for finite differences over a Double reference, with every kind of tensor.
func tinyConfig(_ act: Activation = .gelu) -> BertConfig {
    BertConfig(vocabSize: 30, hiddenSize: 8, numHiddenLayers: 2, numAttentionHeads: 2, intermediateSize: 12,
               hiddenAct: act, hiddenDropoutProb: 0.1, attentionProbsDropoutProb: 0.1, maxPositionEmbeddings: 20,
               typeVocabSize: 2, initializerRange: 0.5, layerNormEps: 1e-12)
}

/// Three sequences (lengths 4, 1 and 6) with some ignored labels.
struct TinyBatch {
    let ids: [Int32] = [2, 7, 7, 29, 5, 1, 3, 3, 11, 0, 21]
    let positions: [Int32] = [0, 1, 2, 3, 0, 0, 1, 2, 3, 4, 5]
    let offsets: [Int32] = [0, 4, 5, 11]
    let labels: [Int32] = [1, -100, 4, 0, 2, -100, 3, 3, 1, 0, -100]
}

/// Makes the engine with LayerNorm weights and biases that are not 1 and 0, so their gradients are tested.
func perturbedModel(_ config: BertConfig, numLabels: Int = 5, maxTokens: Int = 16, seed: UInt64 = 1)
    -> BertForTokenClassification {
    let model = BertForTokenClassification(config: config, numLabels: numLabels, maxTokens: maxTokens, seed: seed)
    var rng = SplitMix64(seed: seed &+ 100)
    for entry in model.layout.entries where !entry.decays {
        for i in entry.range { model.parameters[i] += 0.3 * (2 * rng.nextUniform() - 1) }
    }
    return model
}

/// A forward without dropout on `batch` against the Double reference model with the same parameters: the largest
/// logit difference and the loss's.
func differencesFromReference(_ model: BertForTokenClassification, _ batch: TinyBatch) throws
    -> (logits: Double, loss: Double) {
    let reference = ReferenceModel(config: model.config, numLabels: model.numLabels)
    let loss = try #require(try model.forward(inputIDs: batch.ids, positionIDs: batch.positions,
                                              sequenceOffsets: batch.offsets, labels: batch.labels, training: false))
    let expected = reference.run(model.parameters.map(Double.init), ids: batch.ids, positions: batch.positions,
                                 offsets: batch.offsets, labels: batch.labels)
    let worst = zip(Array(model.logits), expected.logits.flatMap { $0 }).map { abs(Double($0) - $1) }.max()!
    return (worst, abs(Double(loss) - expected.loss))
}

@Suite struct ModelTests {
    @Test(arguments: [Activation.gelu, .geluNew])
    func forwardMatchesDoubleReference(act: Activation) throws {
        let differences = try differencesFromReference(perturbedModel(tinyConfig(act)), TinyBatch())
        #expect(differences.logits < 1e-4, "largest logit difference \(differences.logits)")
        #expect(differences.loss < 1e-5, "loss difference \(differences.loss)")
    }

    /// Every tensor's gradient at a few entries (the word-embedding rows the batch uses) against central
    /// differences of the Double reference (h = 1e-5). Tolerance: |engine - numeric| ≤ 1e-2·|numeric| + 2e-5.
    @Test(arguments: [Activation.gelu, .geluNew])
    func backwardMatchesFiniteDifferencesForEveryTensor(act: Activation) throws {
        let config = tinyConfig(act), batch = TinyBatch()
        let model = perturbedModel(config)
        let reference = ReferenceModel(config: config, numLabels: 5)
        model.zeroGradients()
        try model.forward(inputIDs: batch.ids, positionIDs: batch.positions, sequenceOffsets: batch.offsets,
                          labels: batch.labels, training: false)
        model.backward()
        var params = model.parameters.map(Double.init)
        var checked = 0
        for entry in model.layout.entries {
            var probes = [0, entry.count / 2, entry.count - 1].map { entry.offset + $0 }
            if entry.name.hasSuffix("word_embeddings.weight") {
                probes = [Int(batch.ids[0]) * 8, Int(batch.ids[1]) * 8 + 3, Int(batch.ids[3]) * 8 + 7].map { entry.offset + $0 }
            }
            if entry.name.hasSuffix("position_embeddings.weight") { probes = [entry.offset + 1, entry.offset + 5 * 8 + 2] }
            for i in Set(probes) {
                let h = 1e-5, saved = params[i]
                params[i] = saved + h
                let up = reference.run(params, ids: batch.ids, positions: batch.positions, offsets: batch.offsets, labels: batch.labels).loss
                params[i] = saved - h
                let down = reference.run(params, ids: batch.ids, positions: batch.positions, offsets: batch.offsets, labels: batch.labels).loss
                params[i] = saved
                let numeric = (up - down) / (2 * h), engine = Double(model.gradients[i])
                #expect(abs(engine - numeric) <= 1e-2 * abs(numeric) + 2e-5,
                        "\(entry.name)[\(i - entry.offset)]: engine \(engine), finite differences \(numeric)")
                checked += 1
            }
        }
        #expect(checked >= 2 * model.layout.entries.count)
    }

    @Test func backwardAccumulatesUntilZeroed() throws {
        let batch = TinyBatch(), model = perturbedModel(tinyConfig())
        model.zeroGradients()
        for _ in 0 ..< 2 {
            try model.forward(inputIDs: batch.ids, positionIDs: batch.positions, sequenceOffsets: batch.offsets,
                              labels: batch.labels, training: false)
            model.backward()
        }
        let twice = Array(model.gradients)
        model.zeroGradients()
        #expect(model.gradients.allSatisfy { $0 == 0 })
        model.backward()
        #expect(zip(twice, model.gradients).allSatisfy { abs($0 - 2 * $1) <= 1e-6 * max(1, abs($0)) })
    }

    @Test func packedBatchMatchesSequencesOneByOne() throws {
        let batch = TinyBatch(), model = perturbedModel(tinyConfig())
        try model.forward(inputIDs: batch.ids, positionIDs: batch.positions, sequenceOffsets: batch.offsets,
                          labels: nil, training: false)
        let packed = Array(model.logits)
        for b in 0 ..< 3 {
            let range = Int(batch.offsets[b]) ..< Int(batch.offsets[b + 1])
            try model.forward(inputIDs: Array(batch.ids[range]), positionIDs: Array(batch.positions[range]),
                              sequenceOffsets: [0, Int32(range.count)], labels: nil, training: false)
            let alone = Array(model.logits)
            let worst = zip(alone, packed[range.lowerBound * 5 ..< range.upperBound * 5]).map { abs($0 - $1) }.max()!
            #expect(worst < 1e-5, "sequence \(b): largest difference \(worst)")
        }
    }

    /// Same weights, same seed, same inputs: same training losses; another seed draws other masks.
    @Test func dropoutIsSeededAndOnlyInTraining() throws {
        let batch = TinyBatch()
        func losses(seed: UInt64) throws -> [Float] {
            let model = perturbedModel(tinyConfig(), seed: 1)
            let twin = BertForTokenClassification(config: tinyConfig(), numLabels: 5, maxTokens: 16, seed: seed)
            _ = twin.parameters.update(fromContentsOf: model.parameters)
            return try (0 ..< 3).map { _ in
                try twin.forward(inputIDs: batch.ids, positionIDs: batch.positions, sequenceOffsets: batch.offsets,
                                 labels: batch.labels, training: true)!
            }
        }
        let a = try losses(seed: 9), b = try losses(seed: 9), c = try losses(seed: 10)
        #expect(a == b)
        #expect(a != c)
        #expect(a[0] != a[1], "each training forward draws new masks")
        let model = perturbedModel(tinyConfig())
        let eval1 = try model.forward(inputIDs: batch.ids, positionIDs: batch.positions, sequenceOffsets: batch.offsets,
                                      labels: batch.labels, training: false)
        let eval2 = try model.forward(inputIDs: batch.ids, positionIDs: batch.positions, sequenceOffsets: batch.offsets,
                                      labels: batch.labels, training: false)
        #expect(eval1 == eval2)
    }

    @Test func badBatchesAreTypedErrors() {
        let model = perturbedModel(tinyConfig(), maxTokens: 8)
        let batch = TinyBatch()
        #expect(throws: BertModelError.batchTooLarge(tokens: 11, planned: 8)) {
            try model.forward(inputIDs: batch.ids, positionIDs: batch.positions, sequenceOffsets: batch.offsets,
                              labels: nil, training: false)
        }
        #expect(throws: BertModelError.self) {
            try model.forward(inputIDs: [1, 2], positionIDs: [0, 1], sequenceOffsets: [0, 1], labels: nil, training: false)
        }
        #expect(throws: BertModelError.idOutOfRange(what: "input id", token: 1, value: 30, limit: 30)) {
            try model.forward(inputIDs: [1, 30], positionIDs: [0, 1], sequenceOffsets: [0, 2], labels: nil, training: false)
        }
        #expect(throws: BertModelError.labelOutOfRange(token: 0, value: 5, numLabels: 5)) {
            try model.forward(inputIDs: [1, 2], positionIDs: [0, 1], sequenceOffsets: [0, 2], labels: [5, -100], training: false)
        }
    }

    @Test func initializationFollowsHuggingFace() {
        let config = BertConfig(vocabSize: 50, hiddenSize: 16, numHiddenLayers: 1, numAttentionHeads: 2,
                                intermediateSize: 32, maxPositionEmbeddings: 64, initializerRange: 0.02)
        let model = BertForTokenClassification(config: config, numLabels: 9, maxTokens: 8, seed: 3)
        let p = model.parameters
        let word = model.layout.entry(named: "bert.embeddings.word_embeddings.weight")!
        #expect(p[word.offset ..< word.offset + 16].allSatisfy { $0 == 0 }, "padding row is zero")
        let q = model.layout.entry(named: "bert.encoder.layer.0.attention.self.query.weight")!
        let values = p[q.range].map(Double.init)
        let std = (values.map { $0 * $0 }.reduce(0, +) / Double(values.count)).squareRoot()
        #expect(abs(std - 0.02) < 0.003, "std \(std)")
        #expect(p[model.layout.entry(named: "bert.encoder.layer.0.output.LayerNorm.weight")!.range].allSatisfy { $0 == 1 })
        #expect(p[model.layout.entry(named: "classifier.bias")!.range].allSatisfy { $0 == 0 })
        // Re-initialising one tensor reproduces it exactly.
        let classifier = model.layout.entry(named: "classifier.weight")!
        let before = Array(p[classifier.range])
        p.update(repeating: 0)
        model.initializeParameters(seed: 3, only: ["classifier.weight"])
        #expect(Array(p[classifier.range]) == before)
    }

    @Test func aModelBuiltWithoutInitialisingHasZeroParametersAndOtherwiseTheSeedsValues() {
        let config = tinyConfig()
        let bare = BertForTokenClassification(config: config, numLabels: 3, maxTokens: 16, seed: 3, precision: .fp32,
                                              purpose: .inference, initializingParameters: false)
        #expect(bare.parameters.allSatisfy { $0 == 0 })
        let drawn = BertForTokenClassification(config: config, numLabels: 3, maxTokens: 16, seed: 3, precision: .fp32,
                                               purpose: .inference, initializingParameters: true)
        let byDefault = BertForTokenClassification(config: config, numLabels: 3, maxTokens: 16, seed: 3, purpose: .inference)
        #expect(Array(drawn.parameters) == Array(byDefault.parameters))
        #expect(drawn.parameters.contains { $0 != 0 && $0 != 1 })
    }
}

/// What `consumeGradients` says of the word embedding's gradient.
@Suite struct WordGradientRowsTests {
    /// After two backwards, the marked rows are the two batches' token ids, every other row of the word embedding's
    /// gradient is zero, and the sparse rows point at that matrix in the slab. Handing the gradients out for writing
    /// withdraws the marks until the gradients are zero again.
    @Test func backwardMarksTheWordRowsItWritesUntilTheGradientsAreHandedOut() throws {
        let config = tinyConfig()
        let model = perturbedModel(config)
        let batch = TinyBatch()
        for ids in [batch.ids, batch.ids.map { ($0 + 3) % Int32(config.vocabSize) }] {
            _ = try model.forward(inputIDs: ids, positionIDs: batch.positions, sequenceOffsets: batch.offsets,
                                  labels: batch.labels, training: true)
            model.backward()
        }
        let C = config.hiddenSize, word = try #require(model.layout.entry(named: "bert.embeddings.word_embeddings.weight"))
        let expected = Set(batch.ids.map(Int.init) + batch.ids.map { Int(($0 + 3) % Int32(config.vocabSize)) })
        var seen: SparseGradientRows?, marked: Set<Int> = []
        model.consumeGradients { gradients, sparse in
            seen = sparse
            if let sparse {
                marked = Set(sparse.touched.list)
                for row in 0 ..< config.vocabSize where !sparse.touched.contains(row) {
                    #expect(gradients[word.offset + row * C ..< word.offset + (row + 1) * C].allSatisfy { $0 == 0 },
                            "row \(row) is not marked but has a gradient")
                }
            }
            for i in gradients.indices { gradients[i] = 0 }
        }
        let rows = try #require(seen, "backward alone wrote the gradients")
        #expect(rows.start == word.offset && rows.width == C && rows.rows == config.vocabSize)
        #expect(marked == expected)
        model.consumeGradients { _, sparse in #expect(sparse?.touched.list.isEmpty == true, "consumed: no rows marked") }

        _ = model.gradients
        model.consumeGradients { _, sparse in #expect(sparse == nil, "the gradients were handed out for writing") }
        model.consumeGradients { _, sparse in #expect(sparse != nil, "consumed: zero again") }
        _ = model.gradients
        model.zeroGradients()
        model.consumeGradients { _, sparse in #expect(sparse != nil, "zeroed") }
    }
}

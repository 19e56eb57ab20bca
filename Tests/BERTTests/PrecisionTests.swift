import Foundation
import Tensors
import Testing
@testable import BERT

@Suite struct PrecisionTests {
    /// A model at the width of a real encoder's heads, so products have enough terms for rounding to show.
    static let config = BertConfig(vocabSize: 40, hiddenSize: 64, numHiddenLayers: 2, numAttentionHeads: 2,
                                   intermediateSize: 96, hiddenAct: .gelu, hiddenDropoutProb: 0.1,
                                   attentionProbsDropoutProb: 0.1, maxPositionEmbeddings: 20, typeVocabSize: 2,
                                   initializerRange: 0.2, layerNormEps: 1e-12)

    static func model(_ precision: GEMMPrecision) -> BertForTokenClassification {
        BertForTokenClassification(config: config, numLabels: 5, maxTokens: 16, seed: 3, precision: precision)
    }

    /// The BF16 engine against the exact Double reference and one that rounds the same product inputs. The exact
    /// rounding of each product is pinned by the GEMM tests; here, over a whole model, single precision's own
    /// differences flip a few roundings, so the check is of scale: BF16 logits move by more than single
    /// precision's noise (10⁻⁴), by no more than 8 significant bits allow through two layers (2⁻⁵ of the largest
    /// logit), and by about as much as the rounded reference moves (within a factor of 2).
    @Test func bf16LogitsMoveAsRoundingProductInputsMovesThem() throws {
        let model = Self.model(.bf16)
        let (logits, rounded, exact) = try Self.logits(of: model, parameters: model.parameters.map(Double.init),
                                                       against: ReferenceModel(config: Self.config, numLabels: 5, bf16Products: true))
        let moved = zip(logits, exact).map { abs($0 - $1) }.max()!
        let roundingMoves = zip(rounded, exact).map { abs($0 - $1) }.max()!
        let largest = exact.map(abs).max()!
        #expect(moved > 1e-4, "BF16 logits are within single precision's noise of the exact ones (\(moved))")
        #expect(moved <= largest / 32, "BF16 logits moved \(moved) against a largest logit of \(largest)")
        #expect(moved <= 2 * roundingMoves && roundingMoves <= 2 * moved,
                "BF16 logits moved \(moved); rounding the reference's product inputs moved them \(roundingMoves)")
    }

    /// The model's logits on `TinyBatch` (inference) beside those of `reference` and of the exact Double reference,
    /// all from `parameters`.
    static func logits(of model: BertForTokenClassification, parameters: [Double], against reference: ReferenceModel)
        throws -> (model: [Double], reference: [Double], exact: [Double]) {
        let batch = TinyBatch()
        _ = try model.forward(inputIDs: batch.ids, positionIDs: batch.positions, sequenceOffsets: batch.offsets,
                              labels: nil, training: false)
        func run(_ reference: ReferenceModel) -> [Double] {
            reference.run(parameters, ids: batch.ids, positions: batch.positions, offsets: batch.offsets,
                          labels: batch.labels).logits.flatMap { $0 }
        }
        return (Array(model.logits).map(Double.init), run(reference), run(ReferenceModel(config: config, numLabels: 5)))
    }

    /// The INT8 engine (inference) against the exact Double reference and one that quantizes the same product
    /// inputs: INT8 logits move well beyond single precision's noise, by no more than 8-bit inputs allow through two
    /// layers (1/8 of the largest logit), and the engine stays much closer to the quantizing reference than either
    /// is to the exact one: within 1% of that distance (measured: 10⁻⁶ of it; single precision's own differences
    /// could move an input across a rounding boundary of the quantizer, a step of 1/127 of its row).
    @Test(.enabled(if: BLAS.int8Runs, "INT8 products need oneDNN with VNNI or AMX kernels"))
    func int8LogitsMoveAsQuantizingProductInputsMovesThem() throws {
        let source = Self.model(.fp32)
        let model = BertForTokenClassification(config: Self.config, numLabels: 5, maxTokens: 16, seed: 3,
                                               precision: .int8, purpose: .inference)
        _ = model.parameters.update(fromContentsOf: source.parameters)
        let (logits, quantized, exact) = try Self.logits(of: model, parameters: source.parameters.map(Double.init),
                                                         against: ReferenceModel(config: Self.config, numLabels: 5, int8Products: true))
        let moved = zip(logits, exact).map { abs($0 - $1) }.max()!
        let quantizingMoves = zip(quantized, exact).map { abs($0 - $1) }.max()!
        let fromQuantizing = zip(logits, quantized).map { abs($0 - $1) }.max()!
        let largest = exact.map(abs).max()!
        #expect(moved > 1e-3, "INT8 logits are within \(moved) of the exact ones")
        #expect(moved <= largest / 8, "INT8 logits moved \(moved) against a largest logit of \(largest)")
        #expect(fromQuantizing <= quantizingMoves / 100,
                "INT8 logits are \(fromQuantizing) from the quantizing reference, which is \(quantizingMoves) from the exact one")
    }

    /// BF16 gradients point where FP32 gradients do: per tensor, cosine similarity at least 0.999 and norms within
    /// 2% (inputs rounded to 8 significant bits move each product by about 2⁻⁹ relative). Tensors whose gradient
    /// is zero in exact arithmetic (key biases: softmax ignores a constant added to every score) hold only
    /// rounding noise, under 10⁻⁶ of the largest gradient, and are left out.
    @Test func bf16GradientsAgreeWithFP32PerTensor() throws {
        let batch = TinyBatch()
        var gradients: [[Float]] = []
        for precision in [GEMMPrecision.fp32, .bf16] {
            let model = Self.model(precision)
            model.zeroGradients()
            _ = try model.forward(inputIDs: batch.ids, positionIDs: batch.positions, sequenceOffsets: batch.offsets,
                                  labels: batch.labels, training: true)
            model.backward()
            gradients.append(Array(model.gradients))
        }
        let layout = ParameterLayout(config: Self.config, numLabels: 5)
        func norm(_ v: [Double]) -> Double { sqrt(v.map { $0 * $0 }.reduce(0, +)) }
        let largest = layout.entries.map { norm(gradients[0][$0.range].map(Double.init)) }.max()!
        var compared = 0
        for entry in layout.entries {
            let a = gradients[0][entry.range].map(Double.init), b = gradients[1][entry.range].map(Double.init)
            let na = norm(a), nb = norm(b)
            if na < 1e-6 * largest {
                #expect(entry.name.hasSuffix("key.bias"), "\(entry.name) has no gradient (\(na))")
                continue
            }
            let cosine = zip(a, b).map(*).reduce(0, +) / (na * nb)
            #expect(cosine >= 0.999, "\(entry.name): cosine \(cosine)")
            #expect(abs(nb / na - 1) <= 0.02, "\(entry.name): norm \(nb) against \(na)")
            compared += 1
        }
        #expect(compared == layout.entries.count - Self.config.numHiddenLayers)
    }
}

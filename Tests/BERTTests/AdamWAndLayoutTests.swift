import Foundation
import SafeTensors
import Tensors
import Testing
@testable import BERT

@Suite struct AdamWTests {
    /// torch.optim.AdamW's update written out in Double, element by element.
    func torchAdamW(p: inout [Double], m: inout [Double], v: inout [Double], g: [Double], step: Int,
                    lr: Double, wd: Double, decays: [Bool]) {
        let b1 = 0.9, b2 = 0.999, eps = 1e-8
        for i in p.indices {
            if decays[i] { p[i] *= 1 - lr * wd }
            m[i] = b1 * m[i] + (1 - b1) * g[i]
            v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i]
            let denom = v[i].squareRoot() / (1 - pow(b2, Double(step))).squareRoot() + eps
            p[i] -= lr / (1 - pow(b1, Double(step))) * m[i] / denom
        }
    }

    @Test func stepsMatchTorchAndDecayOnlyWeights() {
        let config = tinyConfig()
        let layout = ParameterLayout(config: config, numLabels: 3)
        var rng = SplitMix64(seed: 5)
        var params = (0 ..< layout.totalCount).map { _ in rng.nextNormal() }
        var expected = params.map(Double.init)
        var m = [Double](repeating: 0, count: layout.totalCount), v = m
        var decays = [Bool](repeating: false, count: layout.totalCount)
        for entry in layout.entries where entry.decays { for i in entry.range { decays[i] = true } }
        var optimizer = AdamW(layout: layout, learningRate: 1e-3, weightDecay: 0.01)
        for step in 1 ... 3 {
            let grads = (0 ..< layout.totalCount).map { _ in rng.nextNormal() }
            let lr: Float = 1e-3 / Float(step)
            params.withUnsafeMutableBufferPointer { p in
                grads.withUnsafeBufferPointer { optimizer.step(parameters: p, gradients: $0, learningRate: lr) }
            }
            torchAdamW(p: &expected, m: &m, v: &v, g: grads.map(Double.init), step: step, lr: Double(lr), wd: 0.01,
                       decays: decays)
        }
        let worst = zip(params, expected).map { abs(Double($0) - $1) }.max()!
        #expect(worst < 1e-6, "largest difference from torch's update \(worst)")
        #expect(optimizer.stepCount == 3)
    }

    /// The vectorized update, plain and fused with gradient scaling and zeroing, against the naive one
    /// entry at a time: the same bits, since every lane does the same operations in the same order.
    @Test(arguments: [false, true])
    func stepEqualsNaiveReferenceBitForBit(fused: Bool) {
        let layout = ParameterLayout(config: tinyConfig(), numLabels: 3)
        let P = layout.totalCount
        var rng = SplitMix64(seed: 11)
        var params = (0 ..< P).map { _ in rng.nextNormal() }
        var expected = params
        var m = [Float](repeating: 0, count: P), v = m
        var decays = [Bool](repeating: false, count: P)
        for entry in layout.entries where entry.decays { for i in entry.range { decays[i] = true } }
        var optimizer = AdamW(layout: layout, learningRate: 1e-3, weightDecay: 0.01)
        for step in 1 ... 3 {
            let grads = (0 ..< P).map { _ in rng.nextNormal() * 3 }
            let lr: Float = 2e-3 / Float(step), scale: Float = fused ? 0.37 : 1
            var consumed = grads
            params.withUnsafeMutableBufferPointer { p in
                if fused {
                    consumed.withUnsafeMutableBufferPointer {
                        optimizer.step(parameters: p.baseAddress!, consumingGradients: $0.baseAddress!,
                                       learningRate: lr, gradientScale: scale)
                    }
                } else {
                    grads.withUnsafeBufferPointer { optimizer.step(parameters: p, gradients: $0, learningRate: lr) }
                }
            }
            adamWStepReference(parameters: &expected, gradients: grads, firstMoment: &m, secondMoment: &v,
                               decays: decays, stepCount: step, learningRate: lr, weightDecay: 0.01,
                               gradientScale: scale)
            #expect(consumed.allSatisfy { $0 == 0 } == fused, "gradients are zeroed exactly when fused")
        }
        #expect(params.map(\.bitPattern) == expected.map(\.bitPattern))
        #expect(Array(optimizer.firstMoment).map(\.bitPattern) == m.map(\.bitPattern))
        #expect(Array(optimizer.secondMoment).map(\.bitPattern) == v.map(\.bitPattern))
    }
}

@Suite struct ParameterLayoutTests {
    @Test func decayExemptsExactlyBiasesAndLayerNorms() {
        let layout = ParameterLayout(config: tinyConfig(), numLabels: 3)
        for entry in layout.entries {
            let exempt = entry.name.hasSuffix(".bias") || entry.name.contains("LayerNorm")
            #expect(entry.decays == !exempt, "\(entry.name)")
        }
        #expect(layout.entries.first?.name == "bert.embeddings.word_embeddings.weight")
        #expect(layout.entries.last?.name == "classifier.bias")
        #expect(layout.entries.count == 5 + 16 * 2 + 2)
        var offset = 0
        for entry in layout.entries {
            #expect(entry.offset == offset)
            offset += entry.count
        }
        #expect(layout.totalCount == offset)
    }

    /// Every encoder tensor of the default checkpoint has the layout's shape (the checkpoint has no `bert.` prefix).
    @Test func matchesTheDefaultEncodersCheckpoint() throws {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../models/all-MiniLM-L6-v2").standardized
        let config = try BertConfig.load(from: dir.appendingPathComponent("config.json"))
        let file = try SafeTensorsFile(contentsOf: dir.appendingPathComponent("model.safetensors"))
        let layout = ParameterLayout(config: config, numLabels: 9)
        var matched = 0
        for entry in layout.entries where entry.name.hasPrefix("bert.") {
            let info = try #require(file.info(String(entry.name.dropFirst(5))), "checkpoint lacks \(entry.name)")
            #expect(info.shape == entry.shape, "\(entry.name): checkpoint \(info.shape), layout \(entry.shape)")
            matched += 1
        }
        #expect(matched == layout.entries.count - 2)
    }
}

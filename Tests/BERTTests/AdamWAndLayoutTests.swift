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

/// The update that skips the word embedding's untouched rows (`SparseGradientRows`) against the dense update.
@Suite struct SparseWordRowsTests {
    /// Four steps in which different rows of the word embedding have gradients (one touched row's gradient exactly
    /// zero, one step with none), the moments read between some of them: parameters, both moments and the
    /// consumed gradients come out the bits of the dense update every step, and rows no step touched only decay.
    @Test func sparseStepGivesTheDenseStepsBits() {
        let config = tinyConfig()
        let layout = ParameterLayout(config: config, numLabels: 3)
        let P = layout.totalCount, C = config.hiddenSize
        let word = layout.entry(named: "bert.embeddings.word_embeddings.weight")!
        #expect(word.count == config.vocabSize * C)
        var rng = SplitMix64(seed: 21)
        var dense = (0 ..< P).map { _ in rng.nextNormal() }
        var sparse = dense
        let initial = dense
        var denseOptimizer = AdamW(layout: layout, learningRate: 1e-3, weightDecay: 0.01)
        var sparseOptimizer = AdamW(layout: layout, learningRate: 1e-3, weightDecay: 0.01)
        let touched = TouchedRows(rows: config.vocabSize)
        let rowsByStep: [[Int]] = [[1, 5, config.vocabSize - 1], [5, 9], [], [2, 1]]
        let zeroRow = 9
        for (index, rows) in rowsByStep.enumerated() {
            var gradients = (0 ..< P).map { _ in rng.nextNormal() }
            for i in word.offset ..< word.offset + word.count { gradients[i] = 0 }
            touched.removeAll()
            for row in rows {
                touched.insert(row)
                guard row != zeroRow else { continue }
                for c in 0 ..< C { gradients[word.offset + row * C + c] = rng.nextNormal() }
            }
            var denseGradients = gradients, sparseGradients = gradients
            let lr: Float = 1e-3 / Float(index + 1), scale: Float = 0.6
            let rowsOfStep = SparseGradientRows(start: word.offset, width: C, touched: touched)
            dense.withUnsafeMutableBufferPointer { p in
                denseGradients.withUnsafeMutableBufferPointer { g in
                    denseOptimizer.step(parameters: p.baseAddress!, consumingGradients: g.baseAddress!, learningRate: lr,
                                        gradientScale: scale)
                }
            }
            sparse.withUnsafeMutableBufferPointer { p in
                sparseGradients.withUnsafeMutableBufferPointer { g in
                    sparseOptimizer.step(parameters: p.baseAddress!, consumingGradients: g.baseAddress!, learningRate: lr,
                                         gradientScale: scale, sparse: rowsOfStep)
                }
            }
            #expect(dense.map(\.bitPattern) == sparse.map(\.bitPattern), "parameters after step \(index + 1)")
            // Reading the moments after the second and fourth steps makes the third find their rows again; the
            // second and fourth use the rows the step before kept.
            if index % 2 == 1 {
                #expect(Array(denseOptimizer.firstMoment).map(\.bitPattern) == Array(sparseOptimizer.firstMoment).map(\.bitPattern))
                #expect(Array(denseOptimizer.secondMoment).map(\.bitPattern) == Array(sparseOptimizer.secondMoment).map(\.bitPattern))
            }
            #expect(sparseGradients.allSatisfy { $0 == 0 }, "the gradients are consumed")
        }
        // Row 3 had no gradient in any step: it only decayed, and its moments stayed zero.
        let row3 = word.offset + 3 * C
        #expect(sparse[row3] != initial[row3])
        #expect(Array(sparseOptimizer.firstMoment[row3 ..< row3 + C]).allSatisfy { $0 == 0 })
    }

    /// The rows outside the marks are not read: a (contract-breaking) gradient left in one is neither applied nor
    /// cleared, and the row only decays.
    @Test func unmarkedRowsAreNotRead() {
        let config = tinyConfig()
        let layout = ParameterLayout(config: config, numLabels: 3)
        let C = config.hiddenSize, word = layout.entry(named: "bert.embeddings.word_embeddings.weight")!
        var rng = SplitMix64(seed: 22)
        var parameters = (0 ..< layout.totalCount).map { _ in rng.nextNormal() }
        let before = parameters
        var gradients = [Float](repeating: 0, count: layout.totalCount)
        let row = word.offset + 4 * C
        for c in 0 ..< C { gradients[row + c] = 1 }
        var optimizer = AdamW(layout: layout, learningRate: 1e-3, weightDecay: 0.01)
        let rows = SparseGradientRows(start: word.offset, width: C, touched: TouchedRows(rows: config.vocabSize))
        parameters.withUnsafeMutableBufferPointer { p in
            gradients.withUnsafeMutableBufferPointer { g in
                optimizer.step(parameters: p.baseAddress!, consumingGradients: g.baseAddress!, learningRate: 1e-3,
                               gradientScale: 1, sparse: rows)
            }
        }
        let decay: Float = 1 - 1e-3 * 0.01
        for c in 0 ..< C {
            #expect(parameters[row + c] == before[row + c] * decay)
            #expect(gradients[row + c] == 1)
        }
    }
}

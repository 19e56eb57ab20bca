import Foundation
import Tensors
@testable import BERT

/// BertForTokenClassification in plain Double loops, without dropout: the reference the engine's forward is
/// compared with, and the function whose central differences check its backward.
struct ReferenceModel {
    let config: BertConfig
    let numLabels: Int
    let layout: ParameterLayout
    /// Round the inputs of the encoder's projections to bfloat16 (as single precision would see them), as a
    /// model with BF16 products does; the classifier stays exact.
    let bf16Products: Bool
    /// Quantize the encoder's projection inputs as a model with INT8 products does: each row of the input and each
    /// output channel's row of the weight to 8 bits on a scale of its own (max |row| / 127, ties to even).
    let int8Products: Bool

    init(config: BertConfig, numLabels: Int, bf16Products: Bool = false, int8Products: Bool = false) {
        self.config = config
        self.numLabels = numLabels
        self.bf16Products = bf16Products
        self.int8Products = int8Products
        layout = ParameterLayout(config: config, numLabels: numLabels)
    }

    /// Logits [T, NL] and the mean cross-entropy over labelled tokens.
    func run(_ p: [Double], ids: [Int32], positions: [Int32], offsets: [Int32], labels: [Int32])
        -> (logits: [[Double]], loss: Double) {
        let C = config.hiddenSize, NH = config.numAttentionHeads, hs = C / NH, eps = config.layerNormEps
        func tensor(_ name: String) -> ArraySlice<Double> {
            let e = layout.entry(named: name)!
            return p[e.offset ..< e.offset + e.count]
        }
        func row(_ name: String, _ r: Int, _ width: Int) -> [Double] {
            let e = layout.entry(named: name)!
            return Array(p[e.offset + r * width ..< e.offset + (r + 1) * width])
        }
        func linear(_ x: [[Double]], _ prefix: String, out: Int) -> [[Double]] {
            var w = tensor(prefix + ".weight"), x = x
            let b = tensor(prefix + ".bias"), inWidth = x[0].count
            if bf16Products && prefix != "classifier" {
                func round(_ v: Double) -> Double { Double(floatFromBFloat16(bfloat16Bits(Float(v)))) }
                w = ArraySlice(w.map(round))
                x = x.map { $0.map(round) }
            }
            if int8Products && prefix != "classifier" {
                func quantized(_ row: [Double]) -> [Double] {
                    let scale = row.map(abs).max()! / 127
                    return scale == 0 ? row.map { _ in 0 } : row.map { ($0 / scale).rounded(.toNearestOrEven) * scale }
                }
                w = ArraySlice((0 ..< out).flatMap { quantized(Array(w[w.startIndex + $0 * inWidth ..< w.startIndex + ($0 + 1) * inWidth])) })
                x = x.map(quantized)
            }
            return x.map { xr in
                (0 ..< out).map { o in
                    var s = b[b.startIndex + o]
                    for i in 0 ..< inWidth { s += w[w.startIndex + o * inWidth + i] * xr[i] }
                    return s
                }
            }
        }
        func layerNorm(_ x: [[Double]], _ prefix: String) -> [[Double]] {
            let g = tensor(prefix + ".weight"), b = tensor(prefix + ".bias")
            return x.map { xr in
                let m = xr.reduce(0, +) / Double(C)
                let v = xr.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(C)
                return (0 ..< C).map { (xr[$0] - m) / (v + eps).squareRoot() * g[g.startIndex + $0] + b[b.startIndex + $0] }
            }
        }
        func add(_ a: [[Double]], _ b: [[Double]]) -> [[Double]] { zip(a, b).map { zip($0, $1).map(+) } }
        func act(_ x: Double) -> Double {
            switch config.hiddenAct {
            case .gelu: return 0.5 * x * (1 + erf(x / 2.0.squareRoot()))
            case .geluNew, .geluPyTorchTanh: return 0.5 * x * (1 + tanh((2 / Double.pi).squareRoot() * (x + 0.044715 * x * x * x)))
            case .relu: return max(x, 0)
            }
        }

        let T = ids.count
        var h = (0 ..< T).map { t in
            let w = row("bert.embeddings.word_embeddings.weight", Int(ids[t]), C)
            let pe = row("bert.embeddings.position_embeddings.weight", Int(positions[t]), C)
            let ty = row("bert.embeddings.token_type_embeddings.weight", 0, C)
            return (0 ..< C).map { w[$0] + pe[$0] + ty[$0] }
        }
        h = layerNorm(h, "bert.embeddings.LayerNorm")
        for l in 0 ..< config.numHiddenLayers {
            let pre = "bert.encoder.layer.\(l)."
            let q = linear(h, pre + "attention.self.query", out: C)
            let k = linear(h, pre + "attention.self.key", out: C)
            let v = linear(h, pre + "attention.self.value", out: C)
            var context = [[Double]](repeating: [Double](repeating: 0, count: C), count: T)
            for b in 0 ..< offsets.count - 1 {
                let tokens = Int(offsets[b]) ..< Int(offsets[b + 1])
                for head in 0 ..< NH {
                    let cols = head * hs ..< (head + 1) * hs
                    for i in tokens {
                        let scores = tokens.map { j in cols.map { q[i][$0] * k[j][$0] }.reduce(0, +) / Double(hs).squareRoot() }
                        let m = scores.max()!
                        let e = scores.map { exp($0 - m) }, z = e.reduce(0, +)
                        for c in cols {
                            var s = 0.0
                            for (n, j) in tokens.enumerated() { s += e[n] / z * v[j][c] }
                            context[i][c] = s
                        }
                    }
                }
            }
            let attended = layerNorm(add(linear(context, pre + "attention.output.dense", out: C), h),
                                     pre + "attention.output.LayerNorm")
            let inner = linear(attended, pre + "intermediate.dense", out: config.intermediateSize).map { $0.map(act) }
            h = layerNorm(add(linear(inner, pre + "output.dense", out: C), attended), pre + "output.LayerNorm")
        }
        let logits = linear(h, "classifier", out: numLabels)
        var total = 0.0, count = 0
        for t in 0 ..< T where labels[t] != -100 {
            let m = logits[t].max()!
            total += log(logits[t].map { exp($0 - m) }.reduce(0, +)) + m - logits[t][Int(labels[t])]
            count += 1
        }
        return (logits, count == 0 ? 0 : total / Double(count))
    }
}

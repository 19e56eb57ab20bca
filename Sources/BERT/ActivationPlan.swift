import Tensors

// Every buffer forward and backward touch, carved once from one slab sized for `maxTokens`.
// Shape legend: T tokens (planned maximum), C channels, F intermediate size, L layers, NL labels.

/// What a model is built for, and so what it plans memory for.
public enum ModelPurpose: Sendable, Equatable, CustomStringConvertible {
    /// Forward with or without dropout, backward, gradients: every layer's activations are kept for backward.
    case training
    /// Forward without dropout only: no gradients, no backward scratch, and one set of layer-sized buffers that
    /// every layer reuses in turn.
    case inference

    public var description: String { self == .training ? "training" : "inference" }
}

struct LayerActivations {
    let q: UnsafeMutablePointer<Float>       // [T, C] query projection
    let k: UnsafeMutablePointer<Float>       // [T, C] key projection
    let v: UnsafeMutablePointer<Float>       // [T, C] value projection
    let context: UnsafeMutablePointer<Float> // [T, C] attention output, heads side by side
    let residual1: UnsafeMutablePointer<Float> // [T, C] input + dropout(attention output projection)
    let mean1: UnsafeMutablePointer<Float>   // [T]
    let rstd1: UnsafeMutablePointer<Float>   // [T]
    let y1: UnsafeMutablePointer<Float>      // [T, C] LayerNorm(residual1)
    let ff1: UnsafeMutablePointer<Float>     // [T, F] intermediate projection, before the activation
    let act: UnsafeMutablePointer<Float>     // [T, F] activation(ff1)
    let residual2: UnsafeMutablePointer<Float> // [T, C] y1 + dropout(output projection)
    let mean2: UnsafeMutablePointer<Float>   // [T]
    let rstd2: UnsafeMutablePointer<Float>   // [T]
    let y2: UnsafeMutablePointer<Float>      // [T, C] LayerNorm(residual2): the layer's output
}

/// Buffers only training needs: classifier dropout's output and the gradient scratch that backward reuses
/// layer after layer.
struct TrainingActivations {
    let classifierInput: UnsafeMutablePointer<Float> // [T, C] dropout(last hidden state)
    let dHidden: UnsafeMutablePointer<Float>     // [T, C] d loss / d (current layer's output)
    let dY1: UnsafeMutablePointer<Float>         // [T, C]
    let dDropped: UnsafeMutablePointer<Float>    // [T, C] gradient before a dropout
    let dFF: UnsafeMutablePointer<Float>         // [T, F]
    let dContext: UnsafeMutablePointer<Float>    // [T, C]
    let dQ: UnsafeMutablePointer<Float>          // [T, C]
    let dK: UnsafeMutablePointer<Float>          // [T, C]
    let dV: UnsafeMutablePointer<Float>          // [T, C]
    let dLogits: UnsafeMutablePointer<Float>     // [T, NL]
}

/// A training plan keeps every layer's activations (L sets) for backward. An inference plan gives every layer
/// the same three buffers, arranged so that the forward, unchanged, only overwrites what it has finished reading:
///
///     hidden    [T, C]  hidden0, y1, y2: row t of the layer's input x is last read by residual1 = x + …, before
///                       the fused residual-LayerNorm kernel writes row t of y1 over it; likewise y1 and y2
///     residual  [T, C]  embeddings, residual1, residual2: each is last read (by a LayerNorm) before the next
///                       is written
///     wide      [T, max(4C, F)]  q, k, v, context side by side, then ff1 and act: the attention block is
///                       last read by the output projection, before the intermediate projection writes ff1;
///                       the bias add and GELU run in place (their kernel allows out == pre)
///     mean, rstd [T]    every LayerNorm's statistics (written, never read back)
///
/// The forward runs the same kernels in the same order on the same values either way, so its logits are
/// bit-identical to a training plan's forward without dropout.
struct ActivationPlan {
    let purpose: ModelPurpose
    let maxTokens: Int
    let slab: FloatSlab

    let embeddings: UnsafeMutablePointer<Float>  // [T, C] word + position + token type
    let mean0: UnsafeMutablePointer<Float>       // [T]
    let rstd0: UnsafeMutablePointer<Float>       // [T]
    let hidden0: UnsafeMutablePointer<Float>     // [T, C] dropout(LayerNorm(embeddings)): layer 0's input
    let layers: [LayerActivations]               // L entries; in an inference plan all the same buffers
    let logits: UnsafeMutablePointer<Float>      // [T, NL]
    let probs: UnsafeMutablePointer<Float>       // [T, NL] softmax(logits)
    let losses: UnsafeMutablePointer<Float>      // [T] per-token cross-entropy
    /// Classifier dropout's output and the gradient scratch; nil in an inference plan.
    let training: TrainingActivations?
    /// An inference plan's buffers for `inferenceLayer(rows:)`: the start of hidden, residual, the statistics and
    /// the wide buffer; nil in a training plan.
    private let shared: (hidden: Int, residual: Int, mean: Int, rstd: Int, wide: Int)?
    /// The channels and the intermediate size.
    private let C: Int, F: Int

    /// Offsets of every buffer into the slab, and the slab's size: the one place the plan's layout is decided.
    private struct Offsets {
        var embeddings = 0, mean0 = 0, rstd0 = 0, hidden0 = 0
        var layers: [[Int]] = []                 // 14 a layer, in `LayerActivations`' order
        var logits = 0, probs = 0, losses = 0
        var training: [Int]?                     // 10, in `TrainingActivations`' order
        var shared: (hidden: Int, residual: Int, mean: Int, rstd: Int, wide: Int)?  // an inference plan's buffers
        var floatCount = 0
    }

    private static func offsets(config: BertConfig, numLabels: Int, maxTokens: Int, purpose: ModelPurpose) -> Offsets {
        let T = maxTokens, C = config.hiddenSize, F = config.intermediateSize, NL = numLabels
        var o = Offsets()
        // Offsets rounded up to 16 floats keep every buffer on a 64-byte line.
        func take(_ n: Int) -> Int {
            let at = o.floatCount
            o.floatCount += (n + 15) / 16 * 16
            return at
        }
        switch purpose {
        case .training:
            o.embeddings = take(T * C); o.mean0 = take(T); o.rstd0 = take(T); o.hidden0 = take(T * C)
            for _ in 0 ..< config.numHiddenLayers {
                o.layers.append([take(T * C), take(T * C), take(T * C), take(T * C), take(T * C), take(T), take(T),
                                 take(T * C), take(T * F), take(T * F), take(T * C), take(T), take(T), take(T * C)])
            }
        case .inference:
            let hidden = take(T * C), residual = take(T * C), mean = take(T), rstd = take(T)
            let wide = take(T * max(4 * C, F))
            o.shared = (hidden, residual, mean, rstd, wide)
            let q = wide, k = wide + T * C, v = wide + 2 * T * C, context = wide + 3 * T * C, ff = wide
            o.embeddings = residual; o.mean0 = mean; o.rstd0 = rstd; o.hidden0 = hidden
            let shared = [q, k, v, context, residual, mean, rstd, hidden, ff, ff, residual, mean, rstd, hidden]
            o.layers = Array(repeating: shared, count: config.numHiddenLayers)
        }
        o.logits = take(T * NL); o.probs = take(T * NL); o.losses = take(T)
        if purpose == .training {
            o.training = [take(T * C), take(T * C), take(T * C), take(T * C), take(T * F),
                          take(T * C), take(T * C), take(T * C), take(T * C), take(T * NL)]
        }
        return o
    }

    /// Floats a plan for this shape holds, without making it.
    static func floatCount(config: BertConfig, numLabels: Int, maxTokens: Int, purpose: ModelPurpose) -> Int {
        offsets(config: config, numLabels: numLabels, maxTokens: maxTokens, purpose: purpose).floatCount
    }

    init(config: BertConfig, numLabels: Int, maxTokens: Int, purpose: ModelPurpose = .training) {
        let o = Self.offsets(config: config, numLabels: numLabels, maxTokens: maxTokens, purpose: purpose)
        self.purpose = purpose
        self.maxTokens = maxTokens
        slab = FloatSlab(count: o.floatCount)
        let base = slab.pointer
        embeddings = base + o.embeddings
        mean0 = base + o.mean0
        rstd0 = base + o.rstd0
        hidden0 = base + o.hidden0
        layers = o.layers.map { o in
            LayerActivations(q: base + o[0], k: base + o[1], v: base + o[2], context: base + o[3],
                             residual1: base + o[4], mean1: base + o[5], rstd1: base + o[6], y1: base + o[7],
                             ff1: base + o[8], act: base + o[9], residual2: base + o[10], mean2: base + o[11],
                             rstd2: base + o[12], y2: base + o[13])
        }
        logits = base + o.logits
        probs = base + o.probs
        losses = base + o.losses
        training = o.training.map { o in
            TrainingActivations(classifierInput: base + o[0], dHidden: base + o[1], dY1: base + o[2],
                                dDropped: base + o[3], dFF: base + o[4], dContext: base + o[5], dQ: base + o[6],
                                dK: base + o[7], dV: base + o[8], dLogits: base + o[9])
        }
        shared = o.shared
        C = config.hiddenSize
        F = config.intermediateSize
    }

    /// A training plan's buffers of layer `layer` from row `t` on, for rows of a batch that run through the
    /// encoder on their own (a lane, `Parallel.forEachLane`).
    func trainingLayer(_ layer: Int, fromRow t: Int) -> LayerActivations {
        precondition(purpose == .training, "an inference plan shares its layer buffers (inferenceLayer(rows:))")
        let a = layers[layer]
        return LayerActivations(q: a.q + t * C, k: a.k + t * C, v: a.v + t * C, context: a.context + t * C,
                                residual1: a.residual1 + t * C, mean1: a.mean1 + t, rstd1: a.rstd1 + t,
                                y1: a.y1 + t * C, ff1: a.ff1 + t * F, act: a.act + t * F,
                                residual2: a.residual2 + t * C, mean2: a.mean2 + t, rstd2: a.rstd2 + t,
                                y2: a.y2 + t * C)
    }

    /// The training scratch from row `t` on, for a lane's backward.
    func trainingScratch(fromRow t: Int) -> TrainingActivations {
        guard let d = training else { preconditionFailure("an inference plan has no training scratch") }
        return TrainingActivations(classifierInput: d.classifierInput + t * C, dHidden: d.dHidden + t * C,
                                   dY1: d.dY1 + t * C, dDropped: d.dDropped + t * C, dFF: d.dFF + t * F,
                                   dContext: d.dContext + t * C, dQ: d.dQ + t * C, dK: d.dK + t * C, dV: d.dV + t * C,
                                   dLogits: d.dLogits)                  // the classifier's, run on the whole batch
    }

    /// An inference plan's layer buffers for rows `rows` of a batch that run through the encoder on their own (a
    /// lane, `Parallel.forEachLane`): hidden, residual and the statistics at those rows, and the wide buffer's rows
    /// `rows` (each max(4C, F) wide) arranged as the whole plan arranges it for `rows.count` tokens. Lanes of
    /// disjoint rows so touch disjoint memory; the same forward in one piece (rows from 0) has the same layout as
    /// `layers`, but for where k, v and context start.
    func inferenceLayer(rows: Range<Int>) -> LayerActivations {
        guard let shared else { preconditionFailure("a training plan keeps every layer's own buffers") }
        precondition(rows.lowerBound >= 0 && rows.upperBound <= maxTokens, "rows \(rows) outside a plan for \(maxTokens)")
        let base = slab.pointer, t = rows.lowerBound, n = rows.count
        let hidden = base + shared.hidden + t * C, residual = base + shared.residual + t * C
        let mean = base + shared.mean + t, rstd = base + shared.rstd + t
        let wide = base + shared.wide + t * max(4 * C, F)
        return LayerActivations(q: wide, k: wide + n * C, v: wide + 2 * n * C, context: wide + 3 * n * C,
                                residual1: residual, mean1: mean, rstd1: rstd, y1: hidden, ff1: wide, act: wide,
                                residual2: residual, mean2: mean, rstd2: rstd, y2: hidden)
    }
}

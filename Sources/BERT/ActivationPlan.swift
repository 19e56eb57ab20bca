import Tensors

// Every buffer forward and backward touch, carved once from one slab sized for `maxTokens`.
// Shape legend: T tokens (planned maximum), C channels, F intermediate size, NL labels.

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

struct ActivationPlan {
    let maxTokens: Int
    let slab: FloatSlab

    let embeddings: UnsafeMutablePointer<Float>  // [T, C] word + position + token type
    let mean0: UnsafeMutablePointer<Float>       // [T]
    let rstd0: UnsafeMutablePointer<Float>       // [T]
    let hidden0: UnsafeMutablePointer<Float>     // [T, C] dropout(LayerNorm(embeddings)): layer 0's input
    let layers: [LayerActivations]
    let classifierInput: UnsafeMutablePointer<Float> // [T, C] dropout(last hidden state), when training
    let logits: UnsafeMutablePointer<Float>      // [T, NL]
    let probs: UnsafeMutablePointer<Float>       // [T, NL] softmax(logits)
    let losses: UnsafeMutablePointer<Float>      // [T] per-token cross-entropy

    // Gradient scratch, reused layer after layer.
    let dHidden: UnsafeMutablePointer<Float>     // [T, C] d loss / d (current layer's output)
    let dY1: UnsafeMutablePointer<Float>         // [T, C]
    let dDropped: UnsafeMutablePointer<Float>    // [T, C] gradient before a dropout
    let dFF: UnsafeMutablePointer<Float>         // [T, F]
    let dContext: UnsafeMutablePointer<Float>    // [T, C]
    let dQ: UnsafeMutablePointer<Float>          // [T, C]
    let dK: UnsafeMutablePointer<Float>          // [T, C]
    let dV: UnsafeMutablePointer<Float>          // [T, C]
    let dLogits: UnsafeMutablePointer<Float>     // [T, NL]

    init(config: BertConfig, numLabels: Int, maxTokens: Int) {
        let T = maxTokens, C = config.hiddenSize, F = config.intermediateSize, NL = numLabels
        var sizes: [Int] = []
        // Offsets rounded up to 16 floats keep every buffer on a 64-byte line.
        func take(_ n: Int) -> Int {
            let at = sizes.reduce(0, +)
            sizes.append((n + 15) / 16 * 16)
            return at
        }
        let embeddings = take(T * C), mean0 = take(T), rstd0 = take(T), hidden0 = take(T * C)
        var layerOffsets: [[Int]] = []
        for _ in 0 ..< config.numHiddenLayers {
            layerOffsets.append([take(T * C), take(T * C), take(T * C), take(T * C), take(T * C), take(T), take(T),
                                 take(T * C), take(T * F), take(T * F), take(T * C), take(T), take(T), take(T * C)])
        }
        let classifierInput = take(T * C), logits = take(T * NL), probs = take(T * NL), losses = take(T)
        let dHidden = take(T * C), dY1 = take(T * C), dDropped = take(T * C), dFF = take(T * F)
        let dContext = take(T * C), dQ = take(T * C), dK = take(T * C), dV = take(T * C), dLogits = take(T * NL)

        self.maxTokens = maxTokens
        slab = FloatSlab(count: sizes.reduce(0, +))
        let base = slab.pointer
        self.embeddings = base + embeddings
        self.mean0 = base + mean0
        self.rstd0 = base + rstd0
        self.hidden0 = base + hidden0
        layers = layerOffsets.map { o in
            LayerActivations(q: base + o[0], k: base + o[1], v: base + o[2], context: base + o[3],
                             residual1: base + o[4], mean1: base + o[5], rstd1: base + o[6], y1: base + o[7],
                             ff1: base + o[8], act: base + o[9], residual2: base + o[10], mean2: base + o[11],
                             rstd2: base + o[12], y2: base + o[13])
        }
        self.classifierInput = base + classifierInput
        self.logits = base + logits
        self.probs = base + probs
        self.losses = base + losses
        self.dHidden = base + dHidden
        self.dY1 = base + dY1
        self.dDropped = base + dDropped
        self.dFF = base + dFF
        self.dContext = base + dContext
        self.dQ = base + dQ
        self.dK = base + dK
        self.dV = base + dV
        self.dLogits = base + dLogits
    }
}

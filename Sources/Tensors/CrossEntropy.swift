// Shape legend: T tokens, NL labels.

/// The label value that marks a token without a loss (HuggingFace's ignore index).
public let ignoredLabel: Int32 = -100

/// Softmax fused with cross-entropy: probs = softmax(logits) per row, losses[t] = -log probs[t, labels[t]],
/// or 0 where labels[t] == -100. Returns the sum of the losses and the number of labelled tokens.
/// - losses [T], probs [T, NL]; logits [T, NL]; labels [T]
@discardableResult
public func crossEntropyForward(_ losses: UnsafeMutablePointer<Float>, _ probs: UnsafeMutablePointer<Float>,
                                _ logits: UnsafePointer<Float>, _ labels: UnsafePointer<Int32>,
                                T: Int, NL: Int) -> (sum: Double, count: Int) {
    Parallel.forEachChunk(T, grain: Swift.max(1, 4096 / Swift.max(NL, 1))) { rows in
        for t in rows {
            let z = logits + t * NL, p = probs + t * NL
            var maxValue = -Float.infinity
            for j in 0 ..< NL { maxValue = Swift.max(maxValue, z[j]) }
            var sum: Float = 0
            for j in 0 ..< NL {
                let e = fastExp(z[j] - maxValue)
                p[j] = e
                sum += e
            }
            let inv = 1 / sum
            for j in 0 ..< NL { p[j] *= inv }
            let label = labels[t]
            // log-sum-exp - logit keeps precision where the probability underflows.
            losses[t] = label == ignoredLabel ? 0 : Float(referenceLog(Double(sum))) + maxValue - z[Int(label)]
        }
    }
    var total = 0.0, count = 0
    for t in 0 ..< T where labels[t] != ignoredLabel {
        total += Double(losses[t])
        count += 1
    }
    return (total, count)
}

/// The mirror of `crossEntropyForward` for loss = scale · Σ_t losses[t]:
/// dlogits[t] = scale · (probs[t] - onehot(labels[t])), and 0 on ignored tokens.
/// - dlogits [T, NL] (overwritten); probs [T, NL]; labels [T]
public func crossEntropyBackward(_ dlogits: UnsafeMutablePointer<Float>, _ probs: UnsafePointer<Float>,
                                 _ labels: UnsafePointer<Int32>, scale: Float, T: Int, NL: Int) {
    Parallel.forEachChunk(T, grain: Swift.max(1, 4096 / Swift.max(NL, 1))) { rows in
        for t in rows {
            let d = dlogits + t * NL, p = probs + t * NL
            let label = labels[t]
            if label == ignoredLabel {
                d.update(repeating: 0, count: NL)
                continue
            }
            for j in 0 ..< NL { d[j] = scale * p[j] }
            d[Int(label)] -= scale
        }
    }
}

/// Naive reference for `crossEntropyForward`, in Double.
public func crossEntropyForwardReference(_ losses: UnsafeMutablePointer<Float>, _ probs: UnsafeMutablePointer<Float>,
                                         _ logits: UnsafePointer<Float>, _ labels: UnsafePointer<Int32>,
                                         T: Int, NL: Int) -> (sum: Double, count: Int) {
    var total = 0.0, count = 0
    for t in 0 ..< T {
        var maxValue = -Double.infinity
        for j in 0 ..< NL { maxValue = Swift.max(maxValue, Double(logits[t * NL + j])) }
        var sum = 0.0
        for j in 0 ..< NL { sum += referenceExp(Double(logits[t * NL + j]) - maxValue) }
        for j in 0 ..< NL { probs[t * NL + j] = Float(referenceExp(Double(logits[t * NL + j]) - maxValue) / sum) }
        if labels[t] == ignoredLabel {
            losses[t] = 0
        } else {
            let loss = referenceLog(sum) + maxValue - Double(logits[t * NL + Int(labels[t])])
            losses[t] = Float(loss)
            total += loss
            count += 1
        }
    }
    return (total, count)
}

import CKernels
import Foundation

/// The feed-forward activation a config names: HuggingFace's `gelu` is the exact erf form; `gelu_new` and
/// `gelu_pytorch_tanh` are the tanh approximation; `relu` is max(x, 0).
public enum GELUForm: Sendable {
    case erf, tanh, relu
}

extension GELUForm {
    /// The form's code in the C kernels.
    var kernelCode: Int32 {
        switch self {
        case .erf: return Int32(BT_GELU_ERF)
        case .tanh: return Int32(BT_GELU_TANH)
        case .relu: return Int32(BT_GELU_RELU)
        }
    }
}

/// out = GELU(inp), elementwise; out may alias inp. The C kernels (CKernels) run FastMath's approximations
/// operation for operation in the widest vectors the processor has.
/// - out [N]; inp [N]
public func geluForward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, count: Int, form: GELUForm) {
    Parallel.forEachChunk(count, grain: 1 << 14) { r in
        bt_gelu_forward(out + r.lowerBound, inp + r.lowerBound, r.count, form.kernelCode)
    }
}

/// out = GELU(inp) in the erf form by cubic pieces (`bt_gelu_pieces_forward`): within 6e-7 of the exact GELU, with
/// two thirds of `geluForward`'s operations and no division. INT8 inference runs it on the intermediate projection,
/// whose output it rounds to 8 bits next (`PackedInt8Weights.geluRows`). out may alias inp.
/// - out [N]; inp [N]
public func geluPiecesForward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, count: Int) {
    Parallel.forEachChunk(count, grain: 1 << 14) { r in
        bt_gelu_pieces_forward(out + r.lowerBound, inp + r.lowerBound, r.count)
    }
}

/// dinp = dout · GELU'(inp), elementwise; dinp may alias dout.
/// - dinp [N] (overwritten); dout [N]; inp [N] (the forward's input)
public func geluBackward(_ dinp: UnsafeMutablePointer<Float>, _ dout: UnsafePointer<Float>,
                         _ inp: UnsafePointer<Float>, count: Int, form: GELUForm) {
    Parallel.forEachChunk(count, grain: 1 << 14) { r in
        bt_gelu_backward(dinp + r.lowerBound, dout + r.lowerBound, inp + r.lowerBound, r.count, form.kernelCode)
    }
}

/// pre[t] += bias, then out[t] = GELU(pre[t]) for every row: the bias add of the product before it and the
/// activation in one pass (the product runs without bias). out may alias pre, where the biased values are not
/// needed afterwards.
/// - out [T, N]; pre [T, N] (+= bias); bias [N]
public func biasGELUForward(_ out: UnsafeMutablePointer<Float>, _ pre: UnsafeMutablePointer<Float>,
                            _ bias: UnsafePointer<Float>, T: Int, N: Int, form: GELUForm) {
    Parallel.forEachChunk(T, grain: Swift.max(1, (1 << 14) / Swift.max(N, 1))) { rows in
        let t = rows.lowerBound
        bt_bias_gelu_forward(out + t * N, pre + t * N, bias, rows.count, N, form.kernelCode)
    }
}

/// `biasGELUForward` for an activation that feeds a BF16 product: `out16` gets the activation as that product
/// takes its input, written by the same pass (where the format is oneDNN's bfloat16) instead of a conversion
/// after it. With `out` nil nothing else is kept: `pre` may be left unbiased or hold the activation, so only
/// `out16` is to be read (a forward that keeps no activations). `out16`'s values are the conversion of
/// `biasGELUForward`'s, bit for bit.
/// - out16 [T, N]; out [T, N] or nil; pre [T, N] (+= bias when out is given); bias [N]
public func biasGELUForward(_ out16: BF16Matrix, _ out: UnsafeMutablePointer<Float>?, _ pre: UnsafeMutablePointer<Float>,
                            _ bias: UnsafePointer<Float>, T: Int, N: Int, form: GELUForm) {
    precondition(out16.count == T * N, "a BF16 matrix of \(out16.count) values for a [\(T), \(N)] activation")
    guard out16.kernels.isOneDNN else {
        // The emulation's format is single precision rounded to bfloat16: activate, then round.
        let activated = out ?? pre
        biasGELUForward(activated, pre, bias, T: T, N: N, form: form)
        out16.convert(from: activated)
        return
    }
    let halves = out16.storage.assumingMemoryBound(to: UInt16.self)
    Parallel.forEachChunk(T, grain: Swift.max(1, (1 << 14) / Swift.max(N, 1))) { rows in
        let t = rows.lowerBound
        bt_bias_gelu_forward_bf16(halves + t * N, out.map { $0 + t * N }, pre + t * N, bias, rows.count, N,
                                  form.kernelCode)
    }
}

/// The mirror of `biasGELUForward`: dinp = dout · GELU'(pre), dbias += Σ_t dinp, split by feature so the sums
/// keep token order (the same bits as `geluBackward` then `biasBackward`). dinp may alias dout.
/// - dinp [T, N] (overwritten); dbias [N] (+=); dout [T, N]; pre [T, N] (the biased forward input)
public func geluBiasBackward(_ dinp: UnsafeMutablePointer<Float>, _ dbias: UnsafeMutablePointer<Float>,
                             _ dout: UnsafePointer<Float>, _ pre: UnsafePointer<Float>, T: Int, N: Int,
                             form: GELUForm, converted: BF16Matrix? = nil) {
    BF16Matrix.written(converted, count: T * N, from: dinp) { halves in
        Parallel.forEachChunk(N, grain: T * N >= 1 << 14 ? 16 : N) { cols in
            bt_gelu_bias_backward(dinp, dbias, dout, pre, T, N, cols.lowerBound, cols.upperBound, form.kernelCode, halves)
        }
    }
}

/// Naive reference for `geluForward`, with libm's erf and tanh in Double.
public func geluForwardReference(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>,
                                 count: Int, form: GELUForm) {
    for i in 0 ..< count {
        let x = Double(inp[i])
        switch form {
        case .erf: out[i] = Float(0.5 * x * (1 + Foundation.erf(x / 2.0.squareRoot())))
        case .tanh: out[i] = Float(0.5 * x * (1 + Foundation.tanh((2 / Double.pi).squareRoot() * (x + 0.044715 * x * x * x))))
        case .relu: out[i] = Float(Swift.max(x, 0))
        }
    }
}

/// Naive reference for `geluBackward`: the derivative in Double with libm's erf, exp and tanh.
public func geluBackwardReference(_ dinp: UnsafeMutablePointer<Float>, _ dout: UnsafePointer<Float>,
                                  _ inp: UnsafePointer<Float>, count: Int, form: GELUForm) {
    for i in 0 ..< count {
        let x = Double(inp[i]), d = Double(dout[i])
        switch form {
        case .erf:
            let cdf = 0.5 * (1 + Foundation.erf(x / 2.0.squareRoot()))
            let pdf = Foundation.exp(-0.5 * x * x) / (2 * Double.pi).squareRoot()
            dinp[i] = Float(d * (cdf + x * pdf))
        case .tanh:
            let c = (2 / Double.pi).squareRoot()
            let th = Foundation.tanh(c * (x + 0.044715 * x * x * x))
            dinp[i] = Float(d * (0.5 * (1 + th) + 0.5 * x * (1 - th * th) * c * (1 + 3 * 0.044715 * x * x)))
        case .relu:
            dinp[i] = x > 0 ? Float(d) : 0
        }
    }
}

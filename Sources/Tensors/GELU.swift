import Foundation

/// The feed-forward activation a config names: HuggingFace's `gelu` is the exact erf form; `gelu_new` and
/// `gelu_pytorch_tanh` are the tanh approximation; `relu` is max(x, 0).
public enum GELUForm: Sendable {
    case erf, tanh, relu
}

private let invSqrt2: Float = 0.707_106_781_186_547_5
private let invSqrt2Pi: Float = 0.398_942_280_401_432_7
private let sqrt2OverPi: Float = 0.797_884_560_802_865_4

/// out = GELU(inp), elementwise; out may alias inp.
/// - out [N]; inp [N]
public func geluForward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, count: Int, form: GELUForm) {
    Parallel.forEachChunk(count, grain: 1 << 14) { r in
        switch form {
        case .erf:
            for i in r {
                let x = inp[i]
                out[i] = 0.5 * x * (1 + fastErf(x * invSqrt2))
            }
        case .tanh:
            for i in r {
                let x = inp[i]
                out[i] = 0.5 * x * (1 + fastTanh(sqrt2OverPi * (x + 0.044715 * x * x * x)))
            }
        case .relu:
            for i in r { out[i] = Swift.max(inp[i], 0) }
        }
    }
}

/// dinp = dout · GELU'(inp), elementwise; dinp may alias dout.
/// - dinp [N] (overwritten); dout [N]; inp [N] (the forward's input)
///
/// Eight lanes at a time with the SIMD forms of the approximations (the scalar loop did not vectorize and
/// cost a tenth of a training step); the tail takes the scalar forms, which give the same bits.
public func geluBackward(_ dinp: UnsafeMutablePointer<Float>, _ dout: UnsafePointer<Float>,
                         _ inp: UnsafePointer<Float>, count: Int, form: GELUForm) {
    Parallel.forEachChunk(count, grain: 1 << 14) { r in
        var i = r.lowerBound
        switch form {
        case .erf:
            while i + 8 <= r.upperBound {
                let x = UnsafeRawPointer(inp + i).loadUnaligned(as: SIMD8<Float>.self)
                let d = UnsafeRawPointer(dout + i).loadUnaligned(as: SIMD8<Float>.self)
                let cdf = 0.5 * (1 + fastErf(x * invSqrt2))
                let pdf = invSqrt2Pi * fastExp(-0.5 * x * x)
                UnsafeMutableRawPointer(dinp + i).storeBytes(of: d * (cdf + x * pdf), as: SIMD8<Float>.self)
                i += 8
            }
            while i < r.upperBound {
                let x = inp[i]
                let cdf = 0.5 * (1 + fastErf(x * invSqrt2))
                let pdf = invSqrt2Pi * fastExp(-0.5 * x * x)
                dinp[i] = dout[i] * (cdf + x * pdf)
                i += 1
            }
        case .tanh:
            while i + 8 <= r.upperBound {
                let x = UnsafeRawPointer(inp + i).loadUnaligned(as: SIMD8<Float>.self)
                let d = UnsafeRawPointer(dout + i).loadUnaligned(as: SIMD8<Float>.self)
                let cubic: SIMD8<Float> = 0.044715 * x * x * x
                let th = fastTanh(sqrt2OverPi * (x + cubic))
                let square: SIMD8<Float> = 3 * 0.044715 * x * x
                let du: SIMD8<Float> = sqrt2OverPi * (1 + square)
                let left: SIMD8<Float> = 0.5 * (1 + th)
                let right: SIMD8<Float> = 0.5 * x * (1 - th * th) * du
                UnsafeMutableRawPointer(dinp + i).storeBytes(of: d * (left + right), as: SIMD8<Float>.self)
                i += 8
            }
            while i < r.upperBound {
                let x = inp[i]
                let u = sqrt2OverPi * (x + 0.044715 * x * x * x)
                let th = fastTanh(u)
                let du = sqrt2OverPi * (1 + 3 * 0.044715 * x * x)
                dinp[i] = dout[i] * (0.5 * (1 + th) + 0.5 * x * (1 - th * th) * du)
                i += 1
            }
        case .relu:
            for i in r { dinp[i] = inp[i] > 0 ? dout[i] : 0 }
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

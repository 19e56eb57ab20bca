import CKernels
import Foundation
import Tensors

/// AdamW as `torch.optim.AdamW`: decoupled weight decay (p -= lr · wd · p, before the Adam update) on the
/// entries whose `decays` is true, bias-corrected moments, eps added after the square root.
///
/// The two moments are slabs in the parameter layout ([P] each), so a step is one pass per entry. The
/// moments live in a shared reference: copies of an AdamW value step the same moments.
public struct AdamW {
    public let layout: ParameterLayout
    public var learningRate: Float
    public var weightDecay: Float
    public let beta1: Float
    public let beta2: Float
    public let eps: Float
    /// Steps taken so far (torch's `state["step"]`).
    public private(set) var stepCount = 0

    private let moments: Moments
    /// Contiguous slab ranges with one decay setting each, merged from the layout's entries.
    private let spans: [(range: Range<Int>, decays: Bool)]

    private final class Moments {
        let m: FloatSlab   // [P] first moment
        let v: FloatSlab   // [P] second moment
        /// For a sparse matrix of the slab (its start and width), the rows whose moments may be non-zero; nil when
        /// unknown (at first, and whenever the moments were handed out for writing), found again by reading them.
        var rows: (start: Int, width: Int, marks: [Bool])?
        init(count: Int) {
            m = FloatSlab(count: count)
            v = FloatSlab(count: count)
        }

        /// `rows` for `sparse`'s matrix, read from the moments when not known.
        func momentRows(_ sparse: SparseGradientRows) -> [Bool] {
            if let rows, rows.start == sparse.start, rows.width == sparse.width, rows.marks.count == sparse.rows {
                return rows.marks
            }
            var marks = [Bool](repeating: false, count: sparse.rows)
            let m = m.pointer, v = v.pointer, width = sparse.width, start = sparse.start
            marks.withUnsafeMutableBufferPointer { marks in
                Parallel.forEachChunk(sparse.rows, grain: 1024) { r in
                    for row in r {
                        let base = start + row * width
                        marks[row] = (0 ..< width).contains { m[base + $0] != 0 || v[base + $0] != 0 }
                    }
                }
            }
            return marks
        }
    }

    public init(layout: ParameterLayout, learningRate: Float, weightDecay: Float,
                beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8) {
        self.layout = layout
        self.learningRate = learningRate
        self.weightDecay = weightDecay
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        moments = Moments(count: layout.totalCount)
        var spans: [(range: Range<Int>, decays: Bool)] = []
        for entry in layout.entries {
            if let last = spans.last, last.decays == entry.decays, last.range.upperBound == entry.offset {
                spans[spans.count - 1].range = last.range.lowerBound ..< entry.offset + entry.count
            } else {
                spans.append((entry.offset ..< entry.offset + entry.count, entry.decays))
            }
        }
        self.spans = spans
    }

    /// Sets the step count of a resumed run, whose moments were loaded into `firstMoment` and `secondMoment`:
    /// bias correction continues from there.
    public mutating func restoreStepCount(_ count: Int) {
        precondition(count >= 0, "a step count cannot be negative")
        stepCount = count
    }

    /// The first moment, [P], in the parameter layout.
    public var firstMoment: UnsafeMutableBufferPointer<Float> {
        moments.rows = nil
        return moments.m.buffer
    }
    /// The second moment, [P], in the parameter layout.
    public var secondMoment: UnsafeMutableBufferPointer<Float> {
        moments.rows = nil
        return moments.v.buffer
    }

    /// One update with `learningRate` (which also becomes `self.learningRate`, for schedules).
    public mutating func step(parameters: UnsafeMutablePointer<Float>, gradients: UnsafePointer<Float>,
                              learningRate: Float) {
        update(parameters: parameters, gradients: gradients, learningRate: learningRate, gradientScale: 1,
               zeroing: nil)
    }

    /// One update with the gradients multiplied by `gradientScale` (gradient clipping's coefficient, or 1),
    /// leaving them zero for the next step: the same result as scaling, stepping and zeroing one after the
    /// other, in one pass over memory instead of three.
    ///
    /// With `sparse`, the rows of its matrix that it does not mark hold zero gradients, unread. Of those, a row whose
    /// moments are zero too (a word no batch has had yet) only decays: the update's other terms are exactly zero
    /// there, so the parameters, moments and gradients come out the same bits as the dense update's.
    public mutating func step(parameters: UnsafeMutablePointer<Float>, consumingGradients gradients: UnsafeMutablePointer<Float>,
                              learningRate: Float, gradientScale: Float, sparse: SparseGradientRows? = nil) {
        update(parameters: parameters, gradients: gradients, learningRate: learningRate, gradientScale: gradientScale,
               zeroing: gradients, sparse: sparse)
    }

    private mutating func update(parameters: UnsafeMutablePointer<Float>, gradients: UnsafePointer<Float>,
                                 learningRate: Float, gradientScale: Float, zeroing: UnsafeMutablePointer<Float>?,
                                 sparse: SparseGradientRows? = nil) {
        self.learningRate = learningRate
        stepCount += 1
        let t = Double(stepCount)
        // torch: step_size = lr / (1 - β1^t); denom = sqrt(v) / sqrt(1 - β2^t) + eps
        let stepSize = Float(Double(learningRate) / (1 - pow(Double(beta1), t)))
        let invBias2Sqrt = Float(1 / (1 - pow(Double(beta2), t)).squareRoot())
        let constants = AdamWConstants(b1: beta1, b2: beta2, eps: eps, stepSize: stepSize,
                                       invBias2Sqrt: invBias2Sqrt, gradientScale: gradientScale)
        let m = moments.m.pointer, v = moments.v.pointer
        let matrix = sparse.map { $0.range } ?? 0 ..< 0
        let momentRows = sparse.map { moments.momentRows($0) }
        for span in spans {
            let decayFactor: Float = span.decays ? 1 - learningRate * weightDecay : 1
            let inside = span.range.clamped(to: matrix)
            let pieces = inside.isEmpty ? [span.range]
                : [span.range.lowerBound ..< inside.lowerBound, inside.upperBound ..< span.range.upperBound]
            for piece in pieces where !piece.isEmpty {
                let lower = piece.lowerBound
                Parallel.forEachChunk(piece.count, grain: 1 << 15) { r in
                    adamWRange(lower + r.lowerBound ..< lower + r.upperBound, parameters: parameters, gradients: gradients,
                               m: m, v: v, decayFactor: decayFactor, constants: constants, zeroing: zeroing)
                }
            }
            guard let sparse, let momentRows, !inside.isEmpty else { continue }
            // The layout's entries are whole matrices, so the part of the span inside this one is whole rows.
            let width = sparse.width, touched = sparse.touched
            let firstRow = (inside.lowerBound - sparse.start) / width, endRow = (inside.upperBound - sparse.start) / width
            Parallel.forEachChunk(endRow - firstRow, grain: 1024) { r in
                for row in firstRow + r.lowerBound ..< firstRow + r.upperBound {
                    let start = sparse.start + row * width, written = touched.contains(row)
                    if written || momentRows[row] {
                        // An untouched row's gradient is zero already: not cleared again.
                        adamWRange(start ..< start + width, parameters: parameters, gradients: gradients, m: m, v: v,
                                   decayFactor: decayFactor, constants: constants, zeroing: written ? zeroing : nil)
                    } else if decayFactor != 1 {
                        let p = parameters + start
                        for i in 0 ..< width { p[i] = p[i] * decayFactor }
                    }
                }
            }
        }
        if let sparse, var marks = momentRows {
            for row in sparse.touched.list { marks[row] = true }
            moments.rows = (sparse.start, sparse.width, marks)
        }
    }

    /// The contract's buffer-pointer form of `step`.
    public mutating func step(parameters: UnsafeMutableBufferPointer<Float>, gradients: UnsafeBufferPointer<Float>,
                              learningRate: Float) {
        precondition(parameters.count == layout.totalCount && gradients.count == layout.totalCount,
                     "AdamW.step: \(parameters.count) parameters and \(gradients.count) gradients for a layout of \(layout.totalCount)")
        step(parameters: parameters.baseAddress!, gradients: gradients.baseAddress!, learningRate: learningRate)
    }
}

struct AdamWConstants {
    var b1, b2, eps, stepSize, invBias2Sqrt, gradientScale: Float
}

/// The update on `range`, in the widest vectors the processor has (CKernels): every element does the reference's
/// operations in the same order, so the result does not depend on where a chunk boundary falls.
@inline(__always)
private func adamWRange(_ range: Range<Int>, parameters: UnsafeMutablePointer<Float>, gradients: UnsafePointer<Float>,
                        m: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>, decayFactor: Float,
                        constants k: AdamWConstants, zeroing: UnsafeMutablePointer<Float>?) {
    let i = range.lowerBound
    bt_adamw(parameters + i, gradients + i, m + i, v + i, range.count, k.b1, k.b2, k.eps, k.stepSize, k.invBias2Sqrt,
             k.gradientScale, decayFactor, zeroing.map { $0 + i })
}

/// Naive reference for `AdamW.step`: one entry at a time, the scaled gradient and the update written out
/// as torch documents them. `stepCount` is the step being taken (1 for the first).
public func adamWStepReference(parameters: inout [Float], gradients: [Float], firstMoment: inout [Float],
                               secondMoment: inout [Float], decays: [Bool], stepCount: Int, learningRate: Float,
                               weightDecay: Float, beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8,
                               gradientScale: Float = 1) {
    let t = Double(stepCount)
    let stepSize = Float(Double(learningRate) / (1 - pow(Double(beta1), t)))
    let invBias2Sqrt = Float(1 / (1 - pow(Double(beta2), t)).squareRoot())
    for i in parameters.indices {
        let g = gradients[i] * gradientScale
        firstMoment[i] = beta1 * firstMoment[i] + (1 - beta1) * g
        secondMoment[i] = beta2 * secondMoment[i] + (1 - beta2) * g * g
        let decayed = parameters[i] * (decays[i] ? 1 - learningRate * weightDecay : 1)
        parameters[i] = decayed - stepSize * firstMoment[i] / (secondMoment[i].squareRoot() * invBias2Sqrt + eps)
    }
}

// Shape legend: T tokens (rows), IC input channels, OC output channels. Weights are PyTorch Linear
// weights [OC, IC], used through BLAS transposes.

/// A projection's inputs that the caller prepared beforehand. In BF16 (`BF16Buffer`): the weight, kept from one
/// optimizer step to the next, the input, when several projections read it or the kernel before wrote it, and in
/// backward the output's gradient, when the kernel before wrote it; whatever is nil is converted at the call,
/// through the scratch. In single precision, the weight laid out for the packed kernel.
public struct ConvertedInputs: Sendable {
    public var input: BF16Matrix?
    public var weight: BF16Matrix?
    /// Backward's dout in BF16 (in the scratch's first area, where backward would convert it).
    public var outputGradient: BF16Matrix?
    /// The weight packed for the forward product in BF16 (it then needs no `weight`).
    public var packedWeight: PackedWeights?
    /// The weight in the AMX kernel's panels for this call's product (the forward's, or backward's input gradient),
    /// laid out once for the step instead of at every product.
    public var weightPanels: AMXPanels?
    /// The weight packed for the forward product in single precision (used instead of the weight's pointer).
    public var packedFP32Weight: PackedFP32Weights?
    /// In INT8, the weight quantized and packed (required), and the input quantized already, when several
    /// projections read it (else it is quantized at the call, into `quantizing`).
    public var int8Weight: PackedInt8Weights?
    public var quantizedInput: QuantizedRows?
    public var quantizing: QuantizedRows?

    public init(input: BF16Matrix? = nil, weight: BF16Matrix? = nil, outputGradient: BF16Matrix? = nil,
                packedWeight: PackedWeights? = nil, weightPanels: AMXPanels? = nil,
                packedFP32Weight: PackedFP32Weights? = nil, int8Weight: PackedInt8Weights? = nil,
                quantizedInput: QuantizedRows? = nil, quantizing: QuantizedRows? = nil) {
        self.input = input
        self.weight = weight
        self.outputGradient = outputGradient
        self.packedWeight = packedWeight
        self.weightPanels = weightPanels
        self.packedFP32Weight = packedFP32Weight
        self.int8Weight = int8Weight
        self.quantizedInput = quantizedInput
        self.quantizing = quantizing
    }
}

/// out = inp · weightᵀ + bias, the product in `precision` (BF16 needs a scratch for the inputs not in `converted`).
/// - out [T, OC]; inp [T, IC]; weight [OC, IC], bias [OC] or nil
public func matmulForward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>,
                          _ weight: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
                          T: Int, IC: Int, OC: Int, precision: GEMMPrecision = .fp32, scratch: GEMMScratch? = nil,
                          converted: ConvertedInputs = ConvertedInputs()) {
    if precision == .int8 {
        guard let packed = converted.int8Weight else { preconditionFailure("an INT8 product needs its weight packed") }
        precondition(packed.n == OC && packed.k == IC, "a weight packed as \(packed.n) × \(packed.k) used as \(OC) × \(IC)")
        guard let quantized = converted.quantizedInput ?? converted.quantizing?.quantize(inp, rows: T, k: IC) else {
            preconditionFailure("an INT8 product needs its input quantized or rows to quantize it into")
        }
        BLAS.gemmInt8(m: T, a: quantized, packed: packed, bias: bias, c: out)
        return
    }
    guard precision == .bf16 else {
        if let packed = converted.packedFP32Weight {
            precondition(packed.n == OC && packed.k == IC, "a weight packed as \(packed.n) × \(packed.k) used as \(OC) × \(IC)")
            BLAS.sgemm(m: T, a: inp, packed: packed, bias: bias, c: out)
            return
        }
        if let bias { biasBroadcast(out, bias, T: T, N: OC) }
        BLAS.sgemm(.none, .transposed, m: T, n: OC, k: IC, a: inp, lda: IC, b: weight, ldb: IC,
                   beta: bias == nil ? 0 : 1, c: out, ldc: OC)
        return
    }
    let inp16 = converted.input ?? bf16Scratch(scratch).a.convert(inp, count: T * IC)
    if let packed = converted.packedWeight {
        precondition(packed.n == OC && packed.k == IC, "a weight packed as \(packed.n) × \(packed.k) used as \(OC) × \(IC)")
        BLAS.gemmBF16(m: T, a: inp16, packed: packed, bias: bias, c: out)
        return
    }
    if let panels = converted.weightPanels {
        precondition(panels.product == .forward && panels.n == OC && panels.k == IC,
                     "AMX panels for \(panels.product) of \(panels.k) × \(panels.n) used for the forward of \(IC) × \(OC)")
        BLAS.gemmBF16(m: T, a: inp16, panels: panels, bias: bias, c: out)
        return
    }
    let weight16 = converted.weight ?? bf16Scratch(scratch).b.convert(weight, count: OC * IC)
    BLAS.gemmBF16(.none, .transposed, m: T, n: OC, k: IC, a: inp16, lda: IC, b: weight16, ldb: IC,
                  beta: 0, bias: bias, c: out, ldc: OC)
}

/// The mirror of `matmulForward`: dinp = dout · weight (or += when `accumulateInput`),
/// dweight += doutᵀ · inp, dbias += Σ_t dout; both products in `precision` (in BF16, dout is converted once for
/// both).
/// - dinp [T, IC] or nil; dweight [OC, IC] (+=), dbias [OC] (+=) or nil
/// - dout [T, OC]; inp [T, IC]; weight [OC, IC]
public func matmulBackward(_ dinp: UnsafeMutablePointer<Float>?, _ dweight: UnsafeMutablePointer<Float>,
                           _ dbias: UnsafeMutablePointer<Float>?,
                           _ dout: UnsafePointer<Float>, _ inp: UnsafePointer<Float>,
                           _ weight: UnsafePointer<Float>,
                           T: Int, IC: Int, OC: Int, accumulateInput: Bool = false,
                           precision: GEMMPrecision = .fp32, scratch: GEMMScratch? = nil,
                           converted: ConvertedInputs = ConvertedInputs()) {
    precondition(precision != .int8, "INT8 products are for inference: no backward")
    if let dbias { biasBackward(dbias, dout, T: T, N: OC) }
    guard precision == .bf16 else {
        BLAS.sgemm(.transposed, .none, m: OC, n: IC, k: T, a: dout, lda: OC, b: inp, ldb: IC,
                   beta: 1, c: dweight, ldc: IC)
        if let dinp {
            BLAS.sgemm(.none, .none, m: T, n: IC, k: OC, a: dout, lda: OC, b: weight, ldb: IC,
                       beta: accumulateInput ? 1 : 0, c: dinp, ldc: IC)
        }
        return
    }
    let scratch = bf16Scratch(scratch)
    let dout16 = converted.outputGradient ?? scratch.a.convert(dout, count: T * OC)
    let inp16 = converted.input ?? scratch.b.convert(inp, count: T * IC)
    BLAS.gemmBF16(.transposed, .none, m: OC, n: IC, k: T, a: dout16, lda: OC, b: inp16, ldb: IC,
                  beta: 1, c: dweight, ldc: IC)
    if let dinp, let panels = converted.weightPanels {
        precondition(panels.product == .inputGradient && panels.n == IC && panels.k == OC,
                     "AMX panels for \(panels.product) of \(panels.k) × \(panels.n) used for the input gradient of \(OC) × \(IC)")
        BLAS.gemmBF16(m: T, a: dout16, panels: panels, bias: nil, accumulate: accumulateInput, c: dinp)
    } else if let dinp {
        // The input's copy in the scratch has been read: the weight may take its place.
        let weight16 = converted.weight ?? scratch.b.convert(weight, count: OC * IC)
        BLAS.gemmBF16(.none, .none, m: T, n: IC, k: OC, a: dout16, lda: OC, b: weight16, ldb: IC,
                      beta: accumulateInput ? 1 : 0, c: dinp, ldc: IC)
    }
}

private func bf16Scratch(_ scratch: GEMMScratch?) -> GEMMScratch {
    guard let scratch else { preconditionFailure("a BF16 product needs a GEMMScratch") }
    return scratch
}

/// Naive reference for `matmulForward`, accumulating in Double.
public func matmulForwardReference(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>,
                                   _ weight: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
                                   T: Int, IC: Int, OC: Int) {
    for t in 0 ..< T {
        for o in 0 ..< OC {
            var sum = Double(bias?[o] ?? 0)
            for i in 0 ..< IC { sum += Double(inp[t * IC + i]) * Double(weight[o * IC + i]) }
            out[t * OC + o] = Float(sum)
        }
    }
}

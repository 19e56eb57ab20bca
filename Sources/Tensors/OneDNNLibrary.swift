import CDNNL
import Foundation

/// oneDNN, loaded at first use where the system has it: BF16 matrix products on AVX512-BF16 and AMX
/// processors, and single-threaded products run on the calling thread alone.
final class OneDNNLibrary: @unchecked Sendable {
    let version: String
    /// The instruction set oneDNN's kernels target on this processor ("avx512_core_amx", ...).
    let isa: String
    /// oneDNN's own cap on its kernels as the user set it ("ONEDNN_MAX_CPU_ISA=AVX2"), nil where the user set none
    /// (the tool's `BERT_TAGGER_MAX_CPU_ISA` sets one of its own, which does not count).
    let capSetByHand: String?

    /// The instruction sets oneDNN's kernels target, narrowest first.
    static let instructionSets = ["sse41", "avx", "avx2", "avx2_vnni", "avx512_core", "avx512_core_vnni",
                                  "avx512_core_bf16", "avx512_core_amx"]

    /// The instruction set oneDNN's kernels should target on a processor: the narrowest that takes in all it has
    /// (AMX, AVX512-BF16, AVX512-VNNI, AVX-512, AVX2); nil below AVX2, where the tool checks nothing.
    static func expectedInstructionSet(for cpu: CPUFeatures) -> String? {
        switch cpu.vectorLevel {
        case .avx512:
            if cpu.hasAMX { return "avx512_core_amx" }
            if cpu.has(.avx512_bf16) { return "avx512_core_bf16" }
            return cpu.has(.avx512_vnni) ? "avx512_core_vnni" : "avx512_core"
        case .avx2: return "avx2"
        case .avx, .sse3: return nil
        }
    }

    /// Whether `isa` (as oneDNN names it) is narrower than what a processor should get
    /// (`expectedInstructionSet(for:)`); an unknown name counts as not narrower.
    static func isNarrower(_ isa: String, thanExpectedFor cpu: CPUFeatures) -> Bool {
        guard let expected = expectedInstructionSet(for: cpu), let want = instructionSets.firstIndex(of: expected),
              let have = instructionSets.firstIndex(of: isa) else { return false }
        return have < want
    }

    /// "JIT kernels up to avx512_core_bf16", with the cap set by hand or a warning where the kernels are narrower
    /// than the processor's.
    var kernelsDescription: String {
        var text = "JIT kernels up to \(isa)"
        if let capSetByHand { text += "; \(capSetByHand) set by hand" }
        else if Self.isNarrower(isa, thanExpectedFor: .current) {
            text += "; WARNING: narrower than this processor's \(Self.expectedInstructionSet(for: .current)!)"
        }
        return text
    }

    static let shared: Result<OneDNNLibrary, KernelLibraryError> = Result { () throws(KernelLibraryError) in
        try OneDNNLibrary()
    }

    private init() throws(KernelLibraryError) {
        // oneDNN's OpenMP threads spin after each product by default, taking the cores from the elementwise
        // kernels that follow (a third slower training step on two cores); waiting passively gives them back.
        // The OpenMP runtime reads the policy while it loads, and a policy set by the user stands.
        let environment = ProcessInfo.processInfo.environment
        capSetByHand = [InstructionSetCap.oneDNNVariable, "DNNL_MAX_CPU_ISA"].lazy.compactMap { name in
            environment[name].map { "\(name)=\($0)" }
        }.first
        let setsPolicy = environment["OMP_WAIT_POLICY"] == nil
        // A cap on the tool's instruction sets caps oneDNN's JIT kernels alike (it reads its variable at its first
        // product), unless oneDNN's own cap was set.
        if let cap = InstructionSetCap.current, capSetByHand == nil {
            setenv(InstructionSetCap.oneDNNVariable, cap.rawValue.uppercased(), 1)
        }
        if setsPolicy { setenv("OMP_WAIT_POLICY", "PASSIVE", 1) }
        defer { if setsPolicy { unsetenv("OMP_WAIT_POLICY") } }
        var message = [CChar](repeating: 0, count: 512)
        guard bt_dnnl_load(&message, Int32(message.count)) == 0 else {
            throw KernelLibraryError(description: "oneDNN is not available (\(String(cString: message))): "
                                     + "install it with `apt-get install libdnnl-dev` (bash Scripts/setup.sh does)")
        }
        var version = [CChar](repeating: 0, count: 32), isa = [CChar](repeating: 0, count: 64)
        bt_dnnl_describe(&version, 32, &isa, 64)
        self.version = String(cString: version)
        self.isa = String(cString: isa)
    }

    /// c = alpha · op(a) · op(b) + beta · c in single precision, on `threads` threads of the caller's own team.
    @inline(__always)
    func sgemm(_ transA: Bool, _ transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
               a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
               beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, threads: Int) {
        let status = bt_dnnl_sgemm(transA ? 1 : 0, transB ? 1 : 0, Int64(m), Int64(n), Int64(k), alpha,
                                   a, Int64(lda), b, Int64(ldb), beta, c, Int64(ldc), Int32(threads))
        precondition(status == 0, "oneDNN sgemm failed: m \(m), n \(n), k \(k), lda \(lda), ldb \(ldb), ldc \(ldc)")
    }

    /// A product's shape, strides, scales and input type: what a matmul primitive is made for. For a primitive
    /// of any shape, m, n and k are zero.
    struct MatmulKey: Hashable {
        var transA: Bool, transB: Bool
        var m: Int, n: Int, k: Int, lda: Int, ldb: Int, ldc: Int
        var alpha: Float, beta: Float
        var bf16: Bool
        /// Signed 8-bit inputs, whose product writes exact int32 sums (alpha 1, beta 0, no bias).
        var int8: Bool
        var shapes: BLAS.OneDNNShapes
        /// b in the layout the primitive chooses (`pack`), not row-major; one shape only.
        var packedWeights: Bool
        /// Each run adds a bias row to the product.
        var bias: Bool

        init(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, lda: Int, ldb: Int, ldc: Int, alpha: Float, beta: Float,
             bf16: Bool, int8: Bool = false, shapes: BLAS.OneDNNShapes = .each, packedWeights: Bool = false,
             bias: Bool = false) {
            let any = shapes == .any
            precondition(!(any && packedWeights), "packed weights need a primitive of one shape")
            precondition(!(bf16 && int8), "a product's inputs are bfloat16 or 8-bit integers, not both")
            self.transA = transA; self.transB = transB
            self.m = any ? 0 : m; self.n = any ? 0 : n; self.k = any ? 0 : k
            self.lda = lda; self.ldb = ldb; self.ldc = ldc
            self.alpha = alpha; self.beta = beta
            self.bf16 = bf16; self.int8 = int8; self.shapes = shapes; self.packedWeights = packedWeights; self.bias = bias
        }
    }

    /// One created primitive; destroyed when neither the cache nor a running product holds it.
    final class Matmul: @unchecked Sendable {
        let pointer: OpaquePointer
        init(_ pointer: OpaquePointer) { self.pointer = pointer }
        deinit { bt_dnnl_matmul_destroy(pointer) }
        var implementation: String { String(cString: bt_dnnl_matmul_implementation(pointer)) }
        /// The bytes of b in the layout of a primitive made with packed weights.
        var packedWeightBytes: Int { bt_dnnl_matmul_packed_weight_bytes(pointer) }
        /// Whether weights packed for this primitive serve `other` as they are.
        func readsPackedWeights(like other: Matmul) -> Bool { bt_dnnl_matmul_same_packed_weights(pointer, other.pointer) != 0 }
    }

    private let lock = NSLock()
    /// Packed batches vary in length, so shapes vary; the cache keeps the shapes used last. oneDNN's own
    /// primitive cache is turned off where it loads (`bt_dnnl_load`), so this one bounds what primitives hold.
    private var cache = PrimitiveCache<MatmulKey, Matmul>(capacity: OneDNNLibrary.primitiveCacheCapacity)

    /// Primitives kept at most. A 640-token training step makes about 20 distinct products and a tagging batch 5;
    /// see the README's Performance section for the hit rates this gives.
    static let primitiveCacheCapacity = 256

    /// What the primitive cache has done so far.
    var cacheStatistics: PrimitiveCacheStatistics {
        lock.lock()
        defer { lock.unlock() }
        return cache.statistics
    }

    /// The capacity of oneDNN's own primitive cache: 0, since this one replaces it, unless its variable set one.
    var oneDNNCacheCapacity: Int { Int(bt_dnnl_primitive_cache_capacity()) }

    /// Primitives held now.
    var cachedPrimitives: Int {
        lock.lock()
        defer { lock.unlock() }
        return cache.count
    }

    /// Told each key a primitive is made for, under the cache's lock: the statistics count every thread's
    /// products, so a test that runs beside others counts its own primitives here.
    private var madeObserver: ((MatmulKey) -> Void)?

    /// Sets (or, with nil, clears) `madeObserver`.
    func observeMade(_ observer: ((MatmulKey) -> Void)?) {
        lock.lock()
        defer { lock.unlock() }
        madeObserver = observer
    }

    /// The primitive for a shape, created at first use and kept while it is among the most recently used.
    func matmul(_ key: MatmulKey) -> Matmul {
        lock.lock()
        defer { lock.unlock() }
        return cache.value(for: key) {
            madeObserver?(key)
            var message = [CChar](repeating: 0, count: 512)
            guard let created = bt_dnnl_matmul_create(key.transA ? 1 : 0, key.transB ? 1 : 0, Int64(key.m), Int64(key.n),
                                                      Int64(key.k), Int64(key.lda), Int64(key.ldb), Int64(key.ldc),
                                                      key.alpha, key.beta, key.int8 ? Int32(BT_DNNL_S8)
                                                        : key.bf16 ? Int32(BT_DNNL_BF16) : Int32(BT_DNNL_F32),
                                                      key.shapes == .any ? 1 : 0,
                                                      key.packedWeights ? 1 : 0, key.bias ? 1 : 0,
                                                      &message, 512) else {
                preconditionFailure(String(cString: message))
            }
            return Matmul(created)
        }
    }

    /// Executions on more than one thread take turns: two OpenMP teams at once would contend for the same cores.
    /// One on a single thread runs at once with any other: every primitive here takes its scratchpad from the
    /// calling thread's own buffer (`bt_dnnl_matmul_run`) and each thread keeps its own stream, which is how the
    /// lanes of a forward or backward (`Parallel.forEachLane`) and INT8's row shares multiply side by side.
    private let executionLock = NSLock()

    /// Writes `weights` (b, row-major as the key describes it) into `packed` in the layout `matmul` reads.
    func pack(_ matmul: Matmul, weights: UnsafeRawPointer, into packed: UnsafeMutableRawPointer, threads: Int) {
        executionLock.lock()
        defer { executionLock.unlock() }
        let status = bt_dnnl_matmul_pack_weights(matmul.pointer, weights, packed, Int32(threads))
        precondition(status == 0, "oneDNN could not pack the weights of \(matmul.implementation)")
    }

    /// Runs `matmul` on an m × k by k × n product (the shape it was made for, unless it takes any); c holds Floats,
    /// or Int32s for 8-bit inputs.
    func run(_ matmul: Matmul, m: Int, n: Int, k: Int, a: UnsafeRawPointer, b: UnsafeRawPointer,
             bias: UnsafePointer<Float>? = nil, c: UnsafeMutableRawPointer, threads: Int) {
        if threads <= 1 {
            runOnCallingThread(matmul, m: m, n: n, k: k, a: a, b: b, bias: bias, c: c)
            return
        }
        executionLock.lock()
        defer { executionLock.unlock() }
        runOnCallingThread(matmul, m: m, n: n, k: k, a: a, b: b, bias: bias, c: c, threads: threads)
    }

    /// `run` without taking turns, for workers that each multiply their own rows on one thread (threads 1) at the
    /// same time: every primitive here takes its scratchpad from the calling thread's own buffer
    /// (`bt_dnnl_matmul_run`), and each thread keeps its own stream.
    func runOnCallingThread(_ matmul: Matmul, m: Int, n: Int, k: Int, a: UnsafeRawPointer, b: UnsafeRawPointer,
                            bias: UnsafePointer<Float>? = nil, c: UnsafeMutableRawPointer, threads: Int = 1) {
        let status = bt_dnnl_matmul_run(matmul.pointer, Int64(m), Int64(n), Int64(k), a, b, bias, c, Int32(threads))
        precondition(status == 0, "oneDNN matmul (\(matmul.implementation)) failed")
    }
}

import CKernels
import Foundation
#if !canImport(Accelerate)
import CDNNL
#endif

// INT8 products for inference: out = inp · weightᵀ + bias with both inputs as signed 8-bit integers, each token's
// row of inp on a scale of its own (dynamic, symmetric) and each output channel's row of the weight on its own
// (symmetric), summed exactly in int32 (by the tool's kernel on AVX512-VNNI without AMX, else by oneDNN: AMX tiles
// or AVX-VNNI) and scaled back to single precision with the bias in one pass. Shape legend: T tokens (rows), IC
// input channels (depth), OC output channels.

/// Rows quantized for an INT8 product: 8-bit values [rows, k], one scale per row and each row's sum of values (which
/// the VNNI kernel takes off its dot products). Sized for a forward's
/// largest input, plus the rows a block of leftover rows is rounded up to (their values are read, their
/// products dropped).
public final class QuantizedRows: @unchecked Sendable {
    /// Values it holds at most, padding rows included.
    public let capacity: Int
    let values: UnsafeMutablePointer<Int8>
    let scales: UnsafeMutablePointer<Float>
    let valueSums: UnsafeMutablePointer<Int32>
    private let scaleCapacity: Int
    /// The rows and depth of the matrix quantized last.
    public private(set) var rows = 0, k = 0

    /// Room for up to `rows` rows of depth up to `k`.
    public init(rows: Int, k: Int) {
        precondition(rows > 0 && k > 0, "quantized rows of \(rows) × \(k)")
        capacity = (rows + BLAS.rowBlock) * k
        scaleCapacity = rows
        values = .allocate(capacity: capacity)
        values.initialize(repeating: 0, count: capacity)
        scales = .allocate(capacity: scaleCapacity)
        scales.initialize(repeating: 0, count: scaleCapacity)
        valueSums = .allocate(capacity: scaleCapacity)
        valueSums.initialize(repeating: 0, count: scaleCapacity)
    }

    deinit {
        values.deallocate()
        scales.deallocate()
        valueSums.deallocate()
    }

    /// Quantizes x [rows, k] row by row (`bt_quantize_rows_s8`) and returns self.
    @discardableResult
    public func quantize(_ x: UnsafePointer<Float>, rows: Int, k: Int) -> QuantizedRows {
        shape(rows: rows, k: k).quantizeRows(0 ..< rows, from: x)
        return self
    }

    /// Makes these the rows of a [rows, k] matrix whose rows are quantized next, in parts (`quantizeRows`).
    @discardableResult
    public func shape(rows: Int, k: Int) -> QuantizedRows {
        precondition((rows + BLAS.rowBlock) * k <= capacity && rows <= scaleCapacity,
                     "quantizing \(rows) × \(k) values into rows sized for \(capacity)")
        self.rows = rows
        self.k = k
        return self
    }

    /// Quantizes rows `range` of the matrix from x, which points at the first of them ([range.count, k]).
    public func quantizeRows(_ range: Range<Int>, from x: UnsafePointer<Float>) {
        precondition(range.lowerBound >= 0 && range.upperBound <= rows, "rows \(range) of a matrix of \(rows)")
        let first = range.lowerBound
        Parallel.forEachChunk(range.count, grain: Swift.max(1, (1 << 14) / Swift.max(k, 1))) { r in
            bt_quantize_rows_s8(values + (first + r.lowerBound) * k, scales + first + r.lowerBound,
                                valueSums + first + r.lowerBound, x + r.lowerBound * k, r.count, k)
        }
    }

    /// The quantized values, scales and sums of values, for tests.
    public var quantizedValues: UnsafeBufferPointer<Int8> { UnsafeBufferPointer(start: values, count: rows * k) }
    public var rowScales: UnsafeBufferPointer<Float> { UnsafeBufferPointer(start: scales, count: rows) }
    public var rowSums: UnsafeBufferPointer<Int32> { UnsafeBufferPointer(start: valueSums, count: rows) }
}

/// A projection's weight [n, k] (a PyTorch Linear weight) quantized per output channel and laid out once as its
/// products read it, for weights that stay put (inference): `pack` again after every change. On the tool's kernel
/// (`BLAS.Int8Products.vnni`) in its panels; on oneDNN as its INT8 primitives read it, whole blocks of
/// `BLAS.rowBlock` rows through one primitive and the rows left over through a primitive made for their count
/// rounded up to `BLAS.int8RowStep`, which reads the same packed weight.
public final class PackedInt8Weights: @unchecked Sendable {
    public let n: Int, k: Int
    /// Who multiplies by this weight.
    public let products: BLAS.Int8Products
    /// Each output channel's scale [n].
    let columnScales: UnsafeMutablePointer<Float>
    #if !canImport(Accelerate)
    /// oneDNN's primitive for a block of rows (nil on the tool's kernel).
    let block: OneDNNLibrary.Matmul?
    private let dnnl: OneDNNLibrary
    #endif
    let storage: UnsafeMutableRawPointer
    /// The int32 sums of one block of rows [rowBlock, n], before they are scaled into the output: one area per
    /// worker that multiplies rows of its own (`BLAS.gemmInt8`), added as the thread count asks for more.
    private var sumAreas: [UnsafeMutablePointer<Int32>]
    private let sumAreasLock = NSLock()
    /// Whether `pack` ran since the weights were made.
    private(set) var packed = false

    /// Nil where oneDNN is absent (INT8 products need it), or where `products` is the tool's kernel and the
    /// processor does not run it.
    public init?(n: Int, k: Int, products: BLAS.Int8Products = BLAS.int8Products) {
        #if canImport(Accelerate)
        return nil
        #else
        guard case .success(let dnnl) = OneDNNLibrary.shared, n > 0, k > 0 else { return nil }
        guard products == .onednn || BLAS.vnniKernelRuns(on: .current) else { return nil }
        self.n = n
        self.k = k
        self.products = products
        self.dnnl = dnnl
        if products == .vnni {
            block = nil
            storage = UnsafeMutableRawPointer.allocate(byteCount: max(bt_vnni_packed_bytes(k, n), 64), alignment: 64)
        } else {
            let block = dnnl.matmul(PackedInt8Weights.key(rows: BLAS.rowBlock, n: n, k: k))
            self.block = block
            storage = UnsafeMutableRawPointer.allocate(byteCount: max(block.packedWeightBytes, 64), alignment: 64)
        }
        columnScales = .allocate(capacity: n)
        columnScales.initialize(repeating: 0, count: n)
        sumAreas = [.allocate(capacity: BLAS.rowBlock * n)]
        #endif
    }

    deinit {
        storage.deallocate()
        columnScales.deallocate()
        for area in sumAreas { area.deallocate() }
    }

    /// The sums areas of `workers` workers, made on first use.
    func sums(workers: Int) -> [UnsafeMutablePointer<Int32>] {
        sumAreasLock.lock()
        defer { sumAreasLock.unlock() }
        while sumAreas.count < workers { sumAreas.append(.allocate(capacity: BLAS.rowBlock * n)) }
        return Array(sumAreas.prefix(workers))
    }

    #if !canImport(Accelerate)
    static func key(rows: Int, n: Int, k: Int) -> OneDNNLibrary.MatmulKey {
        .init(transA: false, transB: true, m: rows, n: n, k: k, lda: k, ldb: k, ldc: n, alpha: 1, beta: 0,
              bf16: false, int8: true, shapes: .each, packedWeights: true)
    }

    /// oneDNN's primitive for `rows` (a multiple of `BLAS.int8RowStep`, at most a block) and the rows it
    /// multiplies: its own where it reads the packed weight as the block's does, else the block's.
    func primitive(rows: Int) -> (OneDNNLibrary.Matmul, rows: Int) {
        guard let block else { preconditionFailure("oneDNN's primitives for a weight packed for the tool's kernel") }
        if rows == BLAS.rowBlock { return (block, rows) }
        let matmul = dnnl.matmul(PackedInt8Weights.key(rows: rows, n: n, k: k))
        return matmul.readsPackedWeights(like: block) ? (matmul, rows) : (block, BLAS.rowBlock)
    }
    #endif

    /// out[r, j] = sums[r, j] · the scale of row `rows.lowerBound + r` of `input` · output channel j's scale
    /// (+ bias[j]), for the rows of one block: the products' sums back in single precision (`bt_dequantize_rows`).
    /// - out [rows.count, n]; sums [rows.count, n]; bias [n] or nil
    public func dequantize(_ out: UnsafeMutablePointer<Float>, sums: UnsafePointer<Int32>, rows: Range<Int>,
                           of input: QuantizedRows, bias: UnsafePointer<Float>?) {
        let scales = input.scales + rows.lowerBound
        Parallel.forEachChunk(rows.count, grain: Swift.max(1, (1 << 14) / n)) { r in
            bt_dequantize_rows(out + r.lowerBound * n, sums + r.lowerBound * n, scales + r.lowerBound,
                               columnScales, bias, r.count, n)
        }
    }

    /// Quantizes `weight` (n × k single-precision values, row-major) per row and lays it out for the products;
    /// the weight itself is not kept.
    public func pack(_ weight: UnsafePointer<Float>) {
        #if !canImport(Accelerate)
        let values = UnsafeMutablePointer<Int8>.allocate(capacity: n * k)
        defer { values.deallocate() }
        bt_quantize_rows_s8(values, columnScales, nil, weight, n, k)
        if let block {
            dnnl.pack(block, weights: values, into: storage, threads: Parallel.threadCount)
        } else {
            bt_vnni_pack(storage.assumingMemoryBound(to: UInt8.self), values, k, n)
        }
        packed = true
        #endif
    }
}

extension PackedInt8Weights {
    /// The intermediate projection's rows after its product: GELU of the sums scaled back (+ bias), quantized into
    /// the same rows of `output` (shaped [rows, n] beforehand), row by row in the first-level cache; the single-
    /// precision activation is not kept. The bits of `dequantize`, the GELU (`geluPiecesForward` for the erf form,
    /// `geluForward` for the others) and `QuantizedRows.quantizeRows`.
    /// - sums [rows.count, n] of a block (`BLAS.gemmInt8`'s rowsDone); bias [n] or nil
    public func geluRows(_ rows: Range<Int>, sums: UnsafePointer<Int32>, of input: QuantizedRows,
                         bias: UnsafePointer<Float>?, form: GELUForm, into output: QuantizedRows) {
        precondition(output.k == n && rows.upperBound <= output.rows, "rows \(rows) of \(n) into \(output.rows) × \(output.k)")
        let first = rows.lowerBound, n = n
        Parallel.forEachChunk(rows.count, grain: 8) { r in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: n) { row in
                let t = first + r.lowerBound
                bt_int8_gelu_rows(output.values + t * n, output.scales + t, output.valueSums + t,
                                  sums + r.lowerBound * n, input.scales + t, columnScales, bias, r.count, n,
                                  form.kernelCode, row.baseAddress!)
            }
        }
    }

    /// An output projection's rows after its product: out = LayerNorm(the sums scaled back + bias + skip), its mean
    /// and rstd kept, and out quantized into the same rows of `quantizing` (shaped [rows, n] beforehand) when
    /// given, row by row in the first-level cache; the residual is not kept. The bits of `dequantize`,
    /// `residualLayerNormForward` and `QuantizedRows.quantizeRows`.
    /// - out, skip [rows.count, n] and mean, rstd [rows.count] from the block's first row; sums [rows.count, n]
    public func residualLayerNormRows(_ rows: Range<Int>, sums: UnsafePointer<Int32>, of input: QuantizedRows,
                                      bias: UnsafePointer<Float>?, skip: UnsafePointer<Float>,
                                      weight: UnsafePointer<Float>, lnBias: UnsafePointer<Float>, eps: Float,
                                      out: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>,
                                      rstd: UnsafeMutablePointer<Float>, quantizing: QuantizedRows?) {
        if let quantizing {
            precondition(quantizing.k == n && rows.upperBound <= quantizing.rows,
                         "rows \(rows) of \(n) into \(quantizing.rows) × \(quantizing.k)")
        }
        let first = rows.lowerBound, n = n
        Parallel.forEachChunk(rows.count, grain: 8) { r in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: n) { row in
                let i = r.lowerBound, t = first + i
                bt_int8_residual_layernorm_rows(out + i * n, mean + i, rstd + i, quantizing.map { $0.values + t * n },
                                                quantizing.map { $0.scales + t }, quantizing.map { $0.valueSums + t },
                                                sums + i * n, input.scales + t, columnScales, bias, skip + i * n, weight,
                                                lnBias, r.count, n, eps, row.baseAddress!)
            }
        }
    }
}

extension BLAS {
    /// Rows left over after the whole blocks of an INT8 product are multiplied in a count rounded up to a multiple
    /// of this: a primitive per multiple (8 at most a weight shape), at the cost of at most this many rows more.
    public static let int8RowStep = 32

    /// Who multiplies INT8 products: `vnni`, the tool's kernel on AVX512-VNNI's dot products (`bt_vnni_gemm.c`), or
    /// `onednn`, oneDNN's INT8 primitives.
    public enum Int8Products: String, CaseIterable, Sendable {
        case vnni, onednn
    }

    /// The variable that chooses INT8 products by hand.
    public static let int8ProductsVariable = "BERT_TAGGER_INT8_PRODUCTS"

    /// Whether the tool's INT8 kernel runs on this processor: AVX-512 with VNNI.
    public static func vnniKernelRuns(on cpu: CPUFeatures) -> Bool {
        cpu.vectorLevel == .avx512 && cpu.has(.avx512_vnni)
    }

    /// What `BERT_TAGGER_INT8_PRODUCTS` asks for in this process (nil: unset, or a value `ComputeLibraries` reports).
    static let int8ProductsAsked = (try? int8ProductsOverride(ProcessInfo.processInfo.environment)) ?? nil

    /// Who runs INT8 products in this process (`int8ProductsChoice`).
    public static let int8Products: Int8Products = int8ProductsChoice(cpu: .current, asked: int8ProductsAsked)

    /// The decision behind `int8Products`: the tool's kernel where the processor runs it and has no AMX tiles for
    /// 8-bit products, unless oneDNN is asked for by hand; oneDNN elsewhere (its AMX kernels, or AVX-VNNI without
    /// AVX-512). On an AMD EPYC of family 25 model 17 the kernel multiplied the encoder's shapes at 400-447 GOP/s on
    /// one core (the instruction's rate there: 457), where oneDNN's primitives made about 337 (README, Performance).
    public static func int8ProductsChoice(cpu: CPUFeatures, asked: Int8Products?) -> Int8Products {
        guard vnniKernelRuns(on: cpu) else { return .onednn }
        if let asked { return asked }
        return cpu.has(.amx_tile) && cpu.has(.amx_int8) ? .onednn : .vnni
    }

    /// What `BERT_TAGGER_INT8_PRODUCTS` asks for: nil when unset or empty, an error naming the value otherwise.
    public static func int8ProductsOverride(_ environment: [String: String]) throws(KernelLibraryError)
        -> Int8Products? {
        try choiceSetByHand(int8ProductsVariable, in: environment, namesNo: "way to run INT8 products")
    }

    /// Whether INT8 products run here: oneDNN is present and its kernels have VNNI's 8-bit dot products (AVX-VNNI,
    /// AVX512-VNNI or AMX). On AVX2 alone oneDNN 2.6's 8-bit products are not exact (their int16 pair sums
    /// saturate), so INT8 is refused there.
    public static var int8Runs: Bool {
        #if canImport(Accelerate)
        return false
        #else
        guard case .success(let dnnl) = OneDNNLibrary.shared else { return false }
        return int8Runs(oneDNNISA: dnnl.isa)
        #endif
    }

    /// The instruction sets oneDNN names (`bt_dnnl_describe`) under which its 8-bit products sum exactly.
    static func int8Runs(oneDNNISA isa: String) -> Bool {
        ["avx2_vnni", "avx512_core_vnni", "avx512_core_bf16", "avx512_core_amx"].contains(isa)
    }

    /// c[m, n] = dequantized (a[m, k] · weightᵀ) + bias: a quantized per row (`QuantizedRows`), the weight per
    /// output channel (`PackedInt8Weights`), the int32 sums scaled by both (`bt_dequantize_rows`).
    public static func gemmInt8(m: Int, a: QuantizedRows, packed: PackedInt8Weights, bias: UnsafePointer<Float>?,
                                c: UnsafeMutablePointer<Float>) {
        gemmInt8(m: m, a: a, packed: packed) { rows, sums in
            packed.dequantize(c + rows.lowerBound * packed.n, sums: sums, rows: rows, of: a, bias: bias)
        }
    }

    /// The int32 sums of a[m, k] · weightᵀ, one block of rows at a time: `rowsDone(rows, sums)` gets each block's
    /// rows and their sums [rows.count, n] (valid until it returns) while they are in cache, to scale them back
    /// (`PackedInt8Weights.dequantize`) and run what follows on the same rows. With more than one thread and
    /// enough rows, each worker multiplies a contiguous share of the rows on its own thread and calls `rowsDone`
    /// for them itself (calls then overlap, on disjoint rows): a block's sums stay in the cache of the core that
    /// made them, and no team of threads hands over between the product and what follows.
    public static func gemmInt8(m: Int, a: QuantizedRows, packed: PackedInt8Weights,
                                rowsDone: (_ rows: Range<Int>, _ sums: UnsafePointer<Int32>) -> Void) {
        gemmInt8(m: m, a: a, packed: packed) { rows, sums, _ in rowsDone(rows, sums) }
    }

    /// `gemmInt8(m:a:packed:rowsDone:)` on rows that hold whole sequences end to end (sequence b is rows
    /// offsets[b] ..< offsets[b + 1], and the last offset is m): a worker's share of the rows begins and ends where
    /// sequences do, so each sequence's rows are multiplied and handed to `rowsDone` by one worker, in order, and a
    /// block that holds a sequence's last row comes after every block with its other rows. `rowsDone` also gets
    /// the worker's index (below the thread count and `workerLimit`, so a caller can keep a scratch area for each),
    /// or nil where every thread shares each block's product (the calls then run on the calling thread, one after
    /// another).
    public static func gemmInt8(m: Int, a: QuantizedRows, packed: PackedInt8Weights,
                                sequenceOffsets offsets: UnsafeBufferPointer<Int32>, workerLimit: Int,
                                rowsDone: (_ rows: Range<Int>, _ sums: UnsafePointer<Int32>, _ worker: Int?) -> Void) {
        precondition(offsets.count >= 1 && offsets.first == 0 && Int(offsets.last!) == m,
                     "sequence offsets from \(offsets.first.map(String.init) ?? "nothing") to "
                     + "\(offsets.last.map(String.init) ?? "nothing") for a product of \(m) rows")
        precondition(workerLimit >= 1, "an INT8 product on at most \(workerLimit) workers")
        gemmInt8(m: m, a: a, packed: packed, sequenceStarts: offsets, workerLimit: workerLimit, rowsDone: rowsDone)
    }

    /// Rows `m · w / workers ..< m · (w + 1) / workers`, each end moved on to the first of `starts` at or past it
    /// (m past the last) where `starts` is given: worker w's share of m rows.
    static func share(_ w: Int, of workers: Int, rows m: Int, cutAt starts: UnsafeBufferPointer<Int32>?) -> Range<Int> {
        func end(_ i: Int) -> Int {
            let even = m * i / workers
            guard let starts, i > 0, i < workers else { return even }
            let next = firstIndex(above: even - 1, in: starts)
            return next < starts.count ? Swift.min(m, Int(starts[next])) : m
        }
        return end(w) ..< end(w + 1)
    }

    /// The sequences whose last row is in `rows` (sequence b is rows offsets[b] ..< offsets[b + 1]): those that
    /// end past rows.lowerBound and at or before rows.upperBound.
    public static func sequences(ending rows: Range<Int>, offsets: UnsafeBufferPointer<Int32>) -> Range<Int> {
        let ends = UnsafeBufferPointer(rebasing: offsets.dropFirst())
        return firstIndex(above: rows.lowerBound, in: ends) ..< firstIndex(above: rows.upperBound, in: ends)
    }

    /// The index of the first value past `x` in `sorted` (ascending), its count where there is none.
    private static func firstIndex(above x: Int, in sorted: UnsafeBufferPointer<Int32>) -> Int {
        var (low, high) = (0, sorted.count)
        while low < high {
            let mid = (low + high) / 2
            if Int(sorted[mid]) <= x { low = mid + 1 } else { high = mid }
        }
        return low
    }

    private static func gemmInt8(m: Int, a: QuantizedRows, packed: PackedInt8Weights,
                                 sequenceStarts starts: UnsafeBufferPointer<Int32>? = nil, workerLimit: Int = .max,
                                 rowsDone: (_ rows: Range<Int>, _ sums: UnsafePointer<Int32>, _ worker: Int?) -> Void) {
        precondition(a.k == packed.k && m <= a.rows,
                     "an INT8 product of \(m) × \(packed.k) given \(a.rows) × \(a.k) quantized rows")
        precondition(packed.packed, "an INT8 product with weights that were never packed")
        if m == 0 { return }
        #if canImport(Accelerate)
        preconditionFailure("INT8 products need oneDNN")
        #else
        if packed.products == .vnni {
            gemmVNNI(m: m, a: a, packed: packed, sequenceStarts: starts, workerLimit: workerLimit, rowsDone: rowsDone)
            return
        }
        guard case .success(let dnnl) = OneDNNLibrary.shared else { preconditionFailure("INT8 products need oneDNN") }
        let workers = Swift.min(Parallel.threadCount, m / int8RowsPerWorker, workerLimit)
        guard workers > 1 else {
            // A lane's own sums area (Parallel.forEachLane), the first outside lanes.
            let lane = Parallel.lane, sums = packed.sums(workers: lane + 1)[lane]
            multiplyInt8Rows(0 ..< m, a: a, packed: packed, sums: sums) {
                dnnl.run($0, m: $1, n: packed.n, k: packed.k, a: $2, b: packed.storage, c: sums, threads: Parallel.threadCount)
            } rowsDone: { rowsDone($0, $1, nil) }
            return
        }
        let areas = packed.sums(workers: workers)
        Parallel.forEachWorker(workers) { w in
            multiplyInt8Rows(share(w, of: workers, rows: m, cutAt: starts), a: a, packed: packed, sums: areas[w]) {
                dnnl.runOnCallingThread($0, m: $1, n: packed.n, k: packed.k, a: $2, b: packed.storage, c: areas[w])
            } rowsDone: { rowsDone($0, $1, w) }
        }
        #endif
    }

    /// Rows a worker takes at least before `gemmInt8` splits the rows between workers (below it, one product on
    /// all threads: a sentence alone).
    static let int8RowsPerWorker = 64

    /// `gemmInt8` on the tool's kernel, in blocks of `epilogueRows` rows (a block's sums, at most 384 KB for 1,536
    /// output channels, stay in the second-level cache for `rowsDone`). With enough rows each worker takes a
    /// contiguous share of them, as on oneDNN; with fewer (a sentence) the workers share each block's panels.
    private static func gemmVNNI(m: Int, a: QuantizedRows, packed: PackedInt8Weights,
                                 sequenceStarts starts: UnsafeBufferPointer<Int32>?, workerLimit: Int,
                                 rowsDone: (_ rows: Range<Int>, _ sums: UnsafePointer<Int32>, _ worker: Int?) -> Void) {
        let n = packed.n, k = packed.k
        let weights = UnsafePointer(packed.storage.assumingMemoryBound(to: UInt8.self))
        let panels = (n + Int(BT_VNNI_PANEL) - 1) / Int(BT_VNNI_PANEL), pairs = (panels + 1) / 2
        let workers = Swift.min(Parallel.threadCount, m / int8RowsPerWorker, workerLimit)
        if workers > 1 {
            let areas = packed.sums(workers: workers)
            Parallel.forEachWorker(workers) { w in
                let rows = share(w, of: workers, rows: m, cutAt: starts)
                var done = rows.lowerBound
                while done < rows.upperBound {
                    let block = done ..< Swift.min(rows.upperBound, done + epilogueRows)
                    bt_vnni_gemm(areas[w], n, a.values + done * k, k, weights, block.count, n, k, 0, panels,
                                 a.valueSums + done)
                    rowsDone(block, areas[w], w)
                    done = block.upperBound
                }
            }
            return
        }
        // A lane's own sums area (Parallel.forEachLane), the first outside lanes.
        let sums = packed.sums(workers: Parallel.lane + 1)[Parallel.lane]
        var done = 0
        while done < m {
            let block = done ..< Swift.min(m, done + epilogueRows)
            // About a million multiply-adds per thread at least.
            let share = Swift.min(Parallel.threadCount, pairs, Swift.max(1, block.count * n * k / 1_000_000))
            Parallel.forEachWorker(share) { w in
                bt_vnni_gemm(sums, n, a.values + done * k, k, weights, block.count, n, k, 2 * (pairs * w / share),
                             Swift.min(panels, 2 * (pairs * (w + 1) / share)), a.valueSums + done)
            }
            rowsDone(block, sums, nil)
            done = block.upperBound
        }
    }

    #if !canImport(Accelerate)
    /// Multiplies `rows` block by block through `run(primitive, rows multiplied, first input row)`: whole
    /// blocks through the block's primitive, the rows left over through one for their count rounded up (the
    /// quantized rows have room for the rows read past the last, whose sums are dropped).
    private static func multiplyInt8Rows(_ rows: Range<Int>, a: QuantizedRows, packed: PackedInt8Weights,
                                         sums: UnsafeMutablePointer<Int32>,
                                         run: (OneDNNLibrary.Matmul, Int, UnsafeRawPointer) -> Void,
                                         rowsDone: (Range<Int>, UnsafePointer<Int32>) -> Void) {
        let k = packed.k
        var done = rows.lowerBound
        while done < rows.upperBound {
            let rest = rows.upperBound - done
            let (matmul, multiplied) = rest >= rowBlock ? (packed.block!, rowBlock)
                : packed.primitive(rows: (rest + int8RowStep - 1) / int8RowStep * int8RowStep)
            run(matmul, multiplied, UnsafeRawPointer(a.values) + done * k)
            let block = done ..< done + Swift.min(rest, rowBlock)
            rowsDone(block, sums)
            done = block.upperBound
        }
    }
    #endif
}

/// The reference for `bt_quantize_rows_s8`, operation for operation in Swift.
public func quantizeRowsReference(_ x: UnsafePointer<Float>, rows: Int, k: Int) -> (values: [Int8], scales: [Float]) {
    var values = [Int8](repeating: 0, count: rows * k), scales = [Float](repeating: 0, count: rows)
    for r in 0 ..< rows {
        var largest: Float = 0
        for i in 0 ..< k where abs(x[r * k + i]) > largest { largest = abs(x[r * k + i]) }
        let inverse: Float = largest > 0 ? 127 / largest : 0
        scales[r] = largest / 127
        for i in 0 ..< k {
            let v = (x[r * k + i] * inverse).rounded(.toNearestOrEven)
            values[r * k + i] = v.isNaN ? 0 : Int8(Swift.min(Swift.max(v, -127), 127))
        }
    }
    return (values, scales)
}

/// The reference for an INT8 projection: both inputs quantized by `quantizeRowsReference`, the sums exact in
/// integers, scaled as `bt_dequantize_rows` scales them.
/// - out [T, OC]; inp [T, IC]; weight [OC, IC]; bias [OC] or nil
public func int8MatmulForwardReference(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>,
                                       _ weight: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
                                       T: Int, IC: Int, OC: Int) {
    let a = quantizeRowsReference(inp, rows: T, k: IC), w = quantizeRowsReference(weight, rows: OC, k: IC)
    for t in 0 ..< T {
        for o in 0 ..< OC {
            var sum = 0
            for i in 0 ..< IC { sum += Int(a.values[t * IC + i]) * Int(w.values[o * IC + i]) }
            var v = Float(Int32(sum)) * a.scales[t] * w.scales[o]
            if let bias { v = v + bias[o] }
            out[t * OC + o] = v
        }
    }
}

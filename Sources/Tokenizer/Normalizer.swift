/// Scratch buffers one `encode` call reuses for every stretch of text and every word.
struct Workspace {
    /// Normalized text, one scalar per entry, and for each the index of the input scalar it came from.
    var scalars: [UInt32] = []
    var origins: [Int32] = []
    /// Non-starters waiting for canonical ordering: scalar, origin, combining class.
    var run: [(scalar: UInt32, origin: Int32, combiningClass: UInt8)] = []
    var decomposed: [UInt32] = []
    /// The current word as UTF-8, the byte where each of its scalars starts, and prefix hashes.
    var bytes: [UInt8] = []
    var charStarts: [Int] = []
    var hashes: [UInt64] = []

    init() {
        scalars.reserveCapacity(256)
        origins.reserveCapacity(256)
        bytes.reserveCapacity(64)
        charStarts.reserveCapacity(64)
        hashes.reserveCapacity(64)
    }
}

/// BertNormalizer, in HF's order: clean_text, handle_chinese_chars, strip_accents (NFD, then drop
/// nonspacing marks), lowercase; every output scalar remembers the input scalar it came from, which
/// is how HF's alignments map offsets back to the original text.
struct Normalizer: Sendable {
    enum PreTokenizerClass: UInt8 { case word, whitespace, punctuation }

    let cleanText: Bool
    let handleChineseChars: Bool
    let stripAccents: Bool
    let lowercase: Bool
    /// For each ASCII byte, the whole normalizer's output byte, or 0xFF when it is removed; ASCII
    /// has no decompositions or combining marks, so one table lookup does all four steps.
    private let asciiOutput: [UInt8]
    private let asciiClass: [PreTokenizerClass]
    private let properties = ScalarProperties.shared

    init(_ configuration: BertTokenizerConfiguration) {
        cleanText = configuration.cleanText
        handleChineseChars = configuration.handleChineseChars
        stripAccents = configuration.stripsAccents
        lowercase = configuration.lowercase
        let properties = ScalarProperties.shared
        var output = [UInt8](repeating: 0xFF, count: 128)
        var classes = [PreTokenizerClass](repeating: .word, count: 128)
        for byte in 0..<128 {
            let flags = properties.flags(UInt32(byte))
            var out = UInt8(byte)
            if cleanText && (byte == 0 || flags.contains(.control)) { out = 0xFF }
            else if cleanText && flags.contains(.whitespace) { out = 0x20 }
            else if lowercase && flags.contains(.lowercases) { out = UInt8(properties.lowercaseMapping(UInt32(byte))[0]) }
            output[byte] = out
            classes[byte] = flags.contains(.whitespace) ? .whitespace : flags.contains(.punctuation) ? .punctuation : .word
        }
        asciiOutput = output
        asciiClass = classes
    }

    /// Where BertPreTokenizer splits: it drops whitespace and isolates each punctuation scalar.
    @inline(__always)
    func preTokenizerClass(_ scalar: UInt32) -> PreTokenizerClass {
        if scalar < 0x80 { return asciiClass[Int(scalar)] }
        let flags = properties.flags(scalar)
        return flags.contains(.whitespace) ? .whitespace : flags.contains(.punctuation) ? .punctuation : .word
    }

    /// Replaces `workspace.scalars`/`origins` with the normalized form of `bytes`, whose first scalar
    /// is input scalar number `scalarBase`.
    func normalize(_ bytes: UnsafeBufferPointer<UInt8>, scalarBase: Int, into workspace: inout Workspace) {
        workspace.scalars.removeAll(keepingCapacity: true)
        workspace.origins.removeAll(keepingCapacity: true)
        var origin = Int32(scalarBase)
        var i = 0
        let count = bytes.count
        while i < count {
            let byte = bytes[i]
            if byte < 0x80 {
                if !workspace.run.isEmpty { flushRun(&workspace) }
                let out = asciiOutput[Int(byte)]
                if out != 0xFF {
                    workspace.scalars.append(UInt32(out))
                    workspace.origins.append(origin)
                }
                i += 1
            } else {
                let (scalar, length) = UTF8Decoding.decode(bytes, at: i)
                feed(scalar, origin, &workspace)
                i += length
            }
            origin += 1
        }
        // Each stretch between added tokens is its own NormalizedString in HF, so ordering stops here.
        flushRun(&workspace)
    }

    private func feed(_ scalar: UInt32, _ origin: Int32, _ workspace: inout Workspace) {
        var scalar = scalar
        let flags = properties.flags(scalar)
        if cleanText {
            if scalar == 0 || scalar == 0xFFFD || flags.contains(.control) { return }
            if flags.contains(.whitespace) { scalar = 0x20 }
        }
        if handleChineseChars && flags.contains(.cjk) {
            decompose(0x20, origin, &workspace)
            decompose(scalar, origin, &workspace)
            decompose(0x20, origin, &workspace)
        } else {
            decompose(scalar, origin, &workspace)
        }
    }

    private func decompose(_ scalar: UInt32, _ origin: Int32, _ workspace: inout Workspace) {
        guard stripAccents else {
            emit(scalar, origin, &workspace)
            return
        }
        if properties.flags(scalar).contains(.decomposes) {
            workspace.decomposed.removeAll(keepingCapacity: true)
            properties.decomposition(scalar, into: &workspace.decomposed)
            for index in workspace.decomposed.indices { order(workspace.decomposed[index], origin, &workspace) }
        } else {
            order(scalar, origin, &workspace)
        }
    }

    /// Canonical ordering: a run of non-starters is stably sorted by combining class before the
    /// marks are dropped, because a dropped starter mark still ends a run.
    private func order(_ scalar: UInt32, _ origin: Int32, _ workspace: inout Workspace) {
        if properties.flags(scalar).contains(.nonStarter) {
            workspace.run.append((scalar, origin, properties.combiningClass(scalar)))
        } else {
            if !workspace.run.isEmpty { flushRun(&workspace) }
            stripAndEmit(scalar, origin, &workspace)
        }
    }

    private func flushRun(_ workspace: inout Workspace) {
        guard !workspace.run.isEmpty else { return }
        var run = workspace.run
        workspace.run.removeAll(keepingCapacity: true)
        // Insertion sort: runs are a few marks long, and it is stable.
        for i in 1..<max(run.count, 1) {
            let item = run[i]
            var j = i
            while j > 0 && run[j - 1].combiningClass > item.combiningClass {
                run[j] = run[j - 1]
                j -= 1
            }
            run[j] = item
        }
        for item in run { stripAndEmit(item.scalar, item.origin, &workspace) }
    }

    private func stripAndEmit(_ scalar: UInt32, _ origin: Int32, _ workspace: inout Workspace) {
        if properties.flags(scalar).contains(.nonspacingMark) { return }
        emit(scalar, origin, &workspace)
    }

    private func emit(_ scalar: UInt32, _ origin: Int32, _ workspace: inout Workspace) {
        if lowercase && properties.flags(scalar).contains(.lowercases) {
            for lowered in properties.lowercaseMapping(scalar) {
                workspace.scalars.append(lowered)
                workspace.origins.append(origin)
            }
        } else {
            workspace.scalars.append(scalar)
            workspace.origins.append(origin)
        }
    }
}

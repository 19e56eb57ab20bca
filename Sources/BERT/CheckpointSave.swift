import FileIO
import Foundation
import SafeTensors
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension Checkpoint {
    /// Writes a directory that HuggingFace's `AutoModelForTokenClassification` and `AutoTokenizer` load as is:
    /// config.json (architectures `BertForTokenClassification`, id2label, label2id and the encoder's settings),
    /// model.safetensors with HuggingFace's names, and the tokenizer files found in `tokenizerSource`.
    ///
    /// Everything is written into a temporary directory beside `directory`, which then replaces it, so an
    /// interrupted save leaves the previous model intact. When `directory` is a symbolic link, the
    /// directory it points at is the one replaced, and the link is kept.
    ///
    /// - Parameter extraFiles: more files (name → content) saved in the same directory, in the same step.
    /// - Parameter writeMore: writes more files into the staging directory it is given (files too large to
    ///   hold in memory first), before that directory takes the place of `requested`.
    public static func save(parameters: UnsafeBufferPointer<Float>, layout: ParameterLayout, config: BertConfig,
                            labels: [String], to requested: URL, tokenizerSource: URL?,
                            extraFiles: [String: Data] = [:], writeMore: ((URL) throws -> Void)? = nil) throws {
        let directory: URL
        do { directory = try OutputFile.resolvingLastLink(requested) } catch {
            throw CheckpointError.saveFailed(path: requested.path, reason: fileErrorReason(error))
        }
        func fail(_ reason: String) -> CheckpointError { .saveFailed(path: directory.path, reason: reason) }
        precondition(parameters.count == layout.totalCount,
                     "the slab holds \(parameters.count) floats but the layout needs \(layout.totalCount)")
        guard let classifier = layout.entry(named: "classifier.bias"), classifier.count == labels.count else {
            throw fail("\(labels.count) labels given but the classifier predicts \(layout.entry(named: "classifier.bias")?.count ?? 0)")
        }
        guard Set(labels).count == labels.count else { throw fail("the label list repeats a name") }

        var config = config
        config.architectures = ["BertForTokenClassification"]
        config.modelType = "bert"
        config.id2label = Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($0.offset, $0.element) })
        config.label2id = Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($0.element, $0.offset) })
        // HuggingFace derives the label count from id2label; a stale num_labels would contradict it.
        config.extra.removeValue(forKey: "num_labels")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]

        let fileManager = FileManager.default
        let parent = directory.deletingLastPathComponent()
        let name = directory.lastPathComponent
        let staging = parent.appendingPathComponent(".\(name)\(partialInfix)\(UUID().uuidString)")
        finishInterruptedSave(of: directory)
        do {
            try fileManager.createDirectory(at: staging, withIntermediateDirectories: false)
        } catch {
            throw fail("cannot create \(staging.path): \(fileErrorReason(error, path: parent.path))")
        }
        do {
            try OutputFile.write(try encoder.encode(config), to: staging.appendingPathComponent(configFileName))
            let tensors = layout.entries.map {
                F32Tensor(name: $0.name, shape: $0.shape, values: Array(parameters[$0.range]))
            }
            // transformers refuses safetensors files whose metadata does not name a framework.
            try SafeTensorsWriter.write(tensors, metadata: ["format": "pt"],
                                        to: staging.appendingPathComponent(weightsFileName))
            if let tokenizerSource {
                for file in tokenizerFileNames {
                    let source = tokenizerSource.appendingPathComponent(file)
                    // Read and written rather than copied: a tokenizer file that is a symbolic link (as in a
                    // HuggingFace cache) is saved as its content, not as a link that may dangle.
                    if fileManager.fileExists(atPath: source.path) {
                        try OutputFile.write(try Data(contentsOf: source), to: staging.appendingPathComponent(file))
                    }
                }
            }
            for (file, data) in extraFiles.sorted(by: { $0.key < $1.key }) {
                try OutputFile.write(data, to: staging.appendingPathComponent(file))
            }
            try writeMore?(staging)
            try replaceDirectory(directory, with: staging)
        } catch {
            try? fileManager.removeItem(at: staging)
            if let error = error as? CheckpointError { throw error }
            if let error = error as? SafeTensorsError { throw fail(String(describing: error)) }
            throw fail(fileErrorReason(error))
        }
    }

    static let partialInfix = ".partial-", asideInfix = ".old-"

    /// Tidies what a save of `directory` killed part-way left beside it: when `directory` is missing (the kill
    /// came between moving the previous model aside and moving the new one in, where the atomic exchange is
    /// not available), the previous model is moved back; unfinished new ones and set-aside old ones are
    /// removed. Runs at the start of every save; a resumed run calls it for the directories it reads.
    public static func finishInterruptedSave(of requested: URL) {
        let directory = (try? OutputFile.resolvingLastLink(requested)) ?? requested
        let fileManager = FileManager.default
        let parent = directory.deletingLastPathComponent()
        let name = directory.lastPathComponent
        guard let entries = try? fileManager.contentsOfDirectory(atPath: parent.path) else { return }
        let partial = entries.filter { $0.hasPrefix(".\(name)\(partialInfix)") }
        var aside = entries.filter { $0.hasPrefix(".\(name)\(asideInfix)") }
        if !fileManager.fileExists(atPath: directory.path), let previous = aside.first,
           rename(parent.appendingPathComponent(previous).path, directory.path) == 0 {
            aside.removeFirst()
        }
        for entry in partial + aside { try? fileManager.removeItem(at: parent.appendingPathComponent(entry)) }
        try? OutputFile.syncDirectory(parent.path)
    }

    /// Puts `staging` where `directory` is, in one atomic exchange of the two where the system has one
    /// (Linux's renameat2 RENAME_EXCHANGE, macOS's renamex_np RENAME_SWAP): at every moment `directory` is the
    /// whole previous model or the whole new one. Elsewhere the old directory is moved aside first and removed
    /// once the new one is in place (rename(2) cannot replace a non-empty directory), and a kill in between is
    /// mended by `finishInterruptedSave` at the next save or resume.
    private static func replaceDirectory(_ directory: URL, with staging: URL) throws {
        func failure(_ what: String) -> CheckpointError {
            .saveFailed(path: directory.path, reason: "\(what): \(String(cString: strerror(errno)))")
        }
        let fileManager = FileManager.default
        var isDirectory: ObjCBool = false
        let parent = directory.deletingLastPathComponent().path
        // The staging folder's own entries, then the renames in the parent, reach the disk before the save returns.
        try OutputFile.syncDirectory(staging.path)
        guard fileManager.fileExists(atPath: directory.path, isDirectory: &isDirectory) else {
            guard rename(staging.path, directory.path) == 0 else { throw failure("cannot move the new model into place") }
            try OutputFile.syncDirectory(parent)
            return
        }
        guard isDirectory.boolValue else {
            throw CheckpointError.saveFailed(path: directory.path, reason: "a file, not a directory, is in the way")
        }
        if exchangeDirectories(staging.path, directory.path) {
            try OutputFile.syncDirectory(parent)
            // `staging` now holds the previous model.
            try? fileManager.removeItem(at: staging)
            return
        }
        let aside = directory.deletingLastPathComponent().appendingPathComponent(".\(directory.lastPathComponent)\(asideInfix)\(UUID().uuidString)")
        guard rename(directory.path, aside.path) == 0 else { throw failure("cannot move the previous model aside") }
        guard rename(staging.path, directory.path) == 0 else {
            let error = failure("cannot move the new model into place")
            _ = rename(aside.path, directory.path)
            throw error
        }
        try OutputFile.syncDirectory(parent)
        try? fileManager.removeItem(at: aside)
    }

    /// Swaps two directories in one step; false when the system or the file system cannot.
    static func exchangeDirectories(_ a: String, _ b: String) -> Bool {
        #if canImport(Glibc)
        // renameat2 is in glibc since 2.28 but not in Swift's Glibc module; looked up by name.
        typealias RenameAt2 = @convention(c) (Int32, UnsafePointer<CChar>, Int32, UnsafePointer<CChar>, UInt32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "renameat2") else { return false }
        let renameExchange: UInt32 = 1 << 1
        return unsafeBitCast(symbol, to: RenameAt2.self)(AT_FDCWD, a, AT_FDCWD, b, renameExchange) == 0
        #elseif canImport(Darwin)
        return renamex_np(a, b, UInt32(RENAME_SWAP)) == 0
        #else
        return false
        #endif
    }
}

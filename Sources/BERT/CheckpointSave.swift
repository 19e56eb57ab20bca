import FileIO
import Foundation
import SafeTensors

extension Checkpoint {
    /// Writes a directory that HuggingFace's `AutoModelForTokenClassification` and `AutoTokenizer` load as is:
    /// config.json (architectures `BertForTokenClassification`, id2label, label2id and the encoder's settings),
    /// model.safetensors with HuggingFace's names, and the tokenizer files found in `tokenizerSource`.
    ///
    /// Everything is written into a temporary directory beside `directory`, which then replaces it, so an
    /// interrupted save leaves the previous model intact. When `directory` is a symbolic link, the
    /// directory it points at is the one replaced, and the link is kept.
    public static func save(parameters: UnsafeBufferPointer<Float>, layout: ParameterLayout, config: BertConfig,
                            labels: [String], to requested: URL, tokenizerSource: URL?) throws {
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
        let staging = parent.appendingPathComponent(".\(name).partial-\(UUID().uuidString)")
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
            try replaceDirectory(directory, with: staging)
        } catch {
            try? fileManager.removeItem(at: staging)
            if let error = error as? CheckpointError { throw error }
            if let error = error as? SafeTensorsError { throw fail(String(describing: error)) }
            throw fail(fileErrorReason(error))
        }
    }

    /// Puts `staging` where `directory` is: an old directory is moved aside first and removed only once the new
    /// one is in place (rename(2) cannot replace a non-empty directory in one step).
    private static func replaceDirectory(_ directory: URL, with staging: URL) throws {
        func failure(_ what: String) -> CheckpointError {
            .saveFailed(path: directory.path, reason: "\(what): \(String(cString: strerror(errno)))")
        }
        let fileManager = FileManager.default
        var isDirectory: ObjCBool = false
        guard fileManager.fileExists(atPath: directory.path, isDirectory: &isDirectory) else {
            guard rename(staging.path, directory.path) == 0 else { throw failure("cannot move the new model into place") }
            return
        }
        guard isDirectory.boolValue else {
            throw CheckpointError.saveFailed(path: directory.path, reason: "a file, not a directory, is in the way")
        }
        let aside = directory.deletingLastPathComponent().appendingPathComponent(".\(directory.lastPathComponent).old-\(UUID().uuidString)")
        guard rename(directory.path, aside.path) == 0 else { throw failure("cannot move the previous model aside") }
        guard rename(staging.path, directory.path) == 0 else {
            let error = failure("cannot move the new model into place")
            _ = rename(aside.path, directory.path)
            throw error
        }
        try? fileManager.removeItem(at: aside)
    }
}

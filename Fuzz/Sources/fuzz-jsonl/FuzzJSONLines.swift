import Datasets
import Foundation
import FuzzSupport

/// JSON Lines corpora. The first byte picks the options (integer-tag names, a per-token extra key, tags
/// optional); the rest is the file.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSONLines(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 1 else { return 0 }
    let options = data[0]
    let reader = JSONLinesReader(tagsKey: "tags", alternativeTagsKeys: ["ner_tags"],
                                 tagsOptional: options & 1 != 0,
                                 labelNames: options & 2 != 0 ? ["O", "B-PER", "I-PER"] : nil,
                                 extraKeys: options & 4 != 0 ? ["predictions"] : [])
    let path = "fuzz/input.jsonl"
    do {
        let corpus = try reader.read(data: Data(bytes: data + 1, count: size - 1), file: path)
        let labelled = corpus.sentences.first?.labels != nil
        require(labelled || reader.tagsOptional, "tags were required but the corpus has none")
        checkCorpus(corpus, labelled: labelled)
        if let names = reader.labelNames {
            for label in corpus.sentences.flatMap({ $0.labels ?? [] }) {
                require(names.contains(label), "tag \(label) is not among the label names")
            }
        }
    } catch {
        requireCleanError(error, DatasetError.self, naming: path)
    }
    return 0
}

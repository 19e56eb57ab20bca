import Datasets
import Foundation
import FuzzSupport

/// `--label-names FILE`: a JSON array, `{"labels": [...]}`, a config.json's id2label, a dataset_info.json,
/// or one label a line. The first byte picks `--tag-field` (none, `ner_tags`, `pos_tags`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLabelNames(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 1 else { return 0 }
    let tagField = [nil, "ner_tags", "pos_tags"][Int(data[0]) % 3]
    let path = "fuzz/labels.json"
    do {
        let names = try LabelNames.fromFile(Data(bytes: data + 1, count: size - 1), source: path, tagField: tagField)
        require(!names.isEmpty, "no labels returned")
        require(!names.contains(""), "an empty label returned")
        require(Set(names).count == names.count, "a label returned twice: \(names)")
    } catch {
        requireCleanError(error, DatasetError.self, naming: path)
    }
    return 0
}

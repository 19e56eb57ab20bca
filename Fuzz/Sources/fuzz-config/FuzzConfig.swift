import BERT
import Foundation
import FuzzSupport

/// config.json: decoded and validated, or one `BertConfigError`; a config that loads is written back as the
/// training saves it and must load again to the same value.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let path = "fuzz/config.json"
    let config: BertConfig
    do {
        config = try BertConfig.decode(Data(bytes: data, count: size), path: path)
    } catch {
        requireCleanError(error, BertConfigError.self, naming: path)
        return 0
    }
    require(config.headSize > 0 && config.headSize * config.numAttentionHeads == config.hiddenSize,
            "hidden_size \(config.hiddenSize) with \(config.numAttentionHeads) heads")
    do {
        let saved = try JSONEncoder().encode(config)
        let again = try BertConfig.decode(saved, path: path)
        require(again == config, "written and read back, \(config) became \(again)")
    } catch {
        fatalError("a config that loaded does not survive saving: \(error)")
    }
    return 0
}

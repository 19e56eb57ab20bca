import Foundation
import FuzzSupport
import Tokenizer

/// tokenizer.json: a tokenizer, or one `TokenizerError`; a tokenizer that loads encodes sample texts soundly.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTokenizerJSON(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let path = "fuzz/tokenizer.json"
    do {
        exercise(try BertTokenizer(tokenizerJSON: Data(bytes: data, count: size), path: path))
    } catch {
        requireCleanError(error, TokenizerError.self, naming: path)
    }
    return 0
}

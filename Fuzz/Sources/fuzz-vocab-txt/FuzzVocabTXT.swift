import Foundation
import FuzzSupport
import Tokenizer

/// vocab.txt with the default configuration: a tokenizer, or one `TokenizerError`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzVocabTXT(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let path = "fuzz/vocab.txt"
    do {
        exercise(try BertTokenizer(vocabTXT: Data(bytes: data, count: size), path: path,
                                   configuration: BertTokenizerConfiguration()))
    } catch {
        requireCleanError(error, TokenizerError.self, naming: path)
    }
    return 0
}

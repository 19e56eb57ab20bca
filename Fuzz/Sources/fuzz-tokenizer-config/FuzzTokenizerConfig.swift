import Foundation
import FuzzSupport
import Tokenizer

/// tokenizer_config.json beside a fixed vocab.txt: a configuration and a tokenizer, or one `TokenizerError`
/// (a special token the vocabulary lacks is reported against the vocabulary).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTokenizerConfig(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let path = "fuzz/tokenizer_config.json"
    let vocabPath = "fuzz/vocab.txt"
    let configuration: BertTokenizerConfiguration
    do {
        configuration = try BertTokenizerConfiguration(tokenizerConfig: Data(bytes: data, count: size), path: path)
    } catch {
        requireCleanError(error, TokenizerError.self, naming: path)
        return 0
    }
    do {
        exercise(try BertTokenizer(vocabTXT: Data(sampleVocabulary.utf8), path: vocabPath, configuration: configuration))
    } catch {
        requireCleanError(error, TokenizerError.self, naming: vocabPath)
    }
    return 0
}

import Datasets
import Foundation
import FuzzSupport
import SeqEval

/// CoNLL column files. The first byte picks the reader's options (token and label columns, a scheme to
/// check tags against); the rest is the file.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCoNLL(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 1 else { return 0 }
    let options = data[0]
    let tokenColumns = [0, 1, -1, -2]
    let labelColumns: [Int?] = [-1, nil, 1, 2]
    let schemes: [TaggingScheme?] = [nil, nil] + TaggingScheme.allCases
    let reader = CoNLLReader(tokenColumn: tokenColumns[Int(options & 3)],
                             labelColumn: labelColumns[Int(options >> 2 & 3)],
                             scheme: schemes[Int(options >> 4) % schemes.count])
    let path = "fuzz/input.conll"
    do {
        let corpus = try reader.read(data: Data(bytes: data + 1, count: size - 1), file: path)
        checkCorpus(corpus, labelled: reader.labelColumn != nil)
        if let scheme = reader.scheme {
            for sentence in corpus.sentences {
                for label in sentence.labels ?? [] {
                    require(scheme.isValid(label), "\(label) passed as a \(scheme) tag")
                }
            }
        }
    } catch {
        requireCleanError(error, DatasetError.self, naming: path)
    }
    return 0
}

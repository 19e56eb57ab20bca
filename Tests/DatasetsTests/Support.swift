import Foundation
import Testing
@testable import Datasets
import SeqEval

/// Reads CoNLL text given inline.
func readCoNLL(_ text: String, file: String = "sample.txt", tokenColumn: Int = 0, labelColumn: Int? = -1,
               scheme: TaggingScheme? = nil) throws -> Corpus {
    try CoNLLReader(tokenColumn: tokenColumn, labelColumn: labelColumn, scheme: scheme).read(data: Data(text.utf8), file: file)
}

/// The error `body` throws, which must be a `DatasetError`.
func datasetError(_ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) -> DatasetError? {
    do {
        try body()
        Issue.record("expected an error", sourceLocation: sourceLocation)
        return nil
    } catch let error as DatasetError {
        return error
    } catch {
        Issue.record("expected a DatasetError, got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

/// A fresh folder in the temporary directory (`Scripts/test.sh` gives the tests one of their own and removes it).
func temporaryFolder() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("datasets-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// A word-piece encoder for tests: a word is split into chunks of `pieceLength` characters,
/// each chunk's id is a stable hash, and words in `empty` give no piece.
func chunkingEncoder(pieceLength: Int = 3, empty: Set<String> = ["\u{200B}"], unknownID: Int32 = 100) -> SentenceEncoder {
    SentenceEncoder(unknownID: unknownID) { word in
        if empty.contains(word) { return [] }
        let characters = Array(word)
        return stride(from: 0, to: characters.count, by: pieceLength).map { start in
            let chunk = String(characters[start..<min(start + pieceLength, characters.count)])
            return Int32(1000 + chunk.unicodeScalars.reduce(0) { ($0 &* 31 &+ Int($1.value)) % 20000 })
        }
    }
}

/// Where the CoNLL-2003 corpus is, if this machine has it: the checkout's `data/conll2003`
/// link, or `../shared/data/conll2003` beside the checkout.
let conll2003Folder: URL? = {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    for candidate in [root.appendingPathComponent("data/conll2003"),
                      root.deletingLastPathComponent().appendingPathComponent("shared/data/conll2003")] {
        if FileManager.default.fileExists(atPath: candidate.appendingPathComponent("train.txt").path) { return candidate }
    }
    return nil
}()

let conll2003Missing: Comment = "CoNLL-2003 not found (looked for data/conll2003/train.txt in the checkout and ../shared/data/conll2003); these tests are skipped."

/// The default encoder's folder, if this checkout has it (Scripts/setup.sh fetches it).
let defaultModelFolder: URL? = {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let model = root.appendingPathComponent("models/all-MiniLM-L6-v2")
    return FileManager.default.fileExists(atPath: model.appendingPathComponent("vocab.txt").path) ? model : nil
}()

let defaultModelMissing: Comment = "models/all-MiniLM-L6-v2 not found (Scripts/setup.sh fetches it); these tests are skipped."

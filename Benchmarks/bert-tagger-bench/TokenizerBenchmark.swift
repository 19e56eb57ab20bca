import ArgumentParser
import Dispatch
import Foundation
import Tokenizer

/// Words per second tokenizing CoNLL-2003 train in word mode on one thread, the figure
/// Scripts/bench_hf_tokenizer.py measures for HuggingFace `tokenizers`.
struct TokenizerBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenizer",
        abstract: "Words per second tokenizing all of CoNLL-2003 train in word mode, one thread (build with -c release).",
        discussion: "Loading the tokenizer and reading the corpus are not timed; the best of --repeats passes is reported.")

    @Option(help: "Folder holding train.txt, or the path of a CoNLL file.")
    var corpus = "data/conll2003"

    @Option(help: "Model folder whose tokenizer is used.")
    var model = "models/all-MiniLM-L6-v2"

    @Option(help: "Timed passes over the corpus; the fastest is reported.")
    var repeats = 3

    func validate() throws {
        guard repeats >= 1 else { throw ValidationError("--repeats must be at least 1") }
    }

    func run() throws {
        try printMachineHeader()
        var file = URL(fileURLWithPath: corpus)
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: file.path, isDirectory: &isDirectory), isDirectory.boolValue {
            file.appendPathComponent("train.txt")
        }
        guard let text = try? String(contentsOf: file, encoding: .utf8) else {
            throw ValidationError("cannot read \(file.path); pass --corpus with CoNLL-2003's train.txt or its folder.")
        }
        let sentences = Self.sentences(text)
        let wordCount = sentences.reduce(0) { $0 + $1.count }
        let tokenizer = try BertTokenizer(directory: URL(fileURLWithPath: model))
        _ = tokenizer.encode(words: ["warm", "up"])

        var best = Double.infinity
        var tokenCount = 0
        for _ in 0..<repeats {
            var tokens = 0
            let start = DispatchTime.now().uptimeNanoseconds
            for words in sentences { tokens += tokenizer.encode(words: words).count }
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            tokenCount = tokens
        }
        print("tokenizer: \(file.lastPathComponent): \(sentences.count) sentences, \(wordCount) words, \(tokenCount) tokens")
        print(String(format: "Swift BertTokenizer, encode(words:) per sentence, 1 thread: %.3f s, %.0f words/s (best of %d)",
                     best, Double(wordCount) / best, repeats))
    }

    /// First column of each line; blank lines end sentences and -DOCSTART- lines are skipped, as the
    /// Python benchmark reads them.
    static func sentences(_ text: String) -> [[String]] {
        var result: [[String]] = []
        var current: [String] = []
        text.enumerateLines { line, _ in
            if let word = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).first {
                if word != "-DOCSTART-" { current.append(String(word)) }
            } else if !current.isEmpty {
                result.append(current)
                current = []
            }
        }
        if !current.isEmpty { result.append(current) }
        return result
    }
}

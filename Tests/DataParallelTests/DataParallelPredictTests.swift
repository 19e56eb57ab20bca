import Foundation
import Testing

/// `bert-tagger predict` under `mpirun -np 2` against one process.
extension DataParallelCommandTests {
    @Test func twoRanksTagAFileByteForByteAsOneProcess() throws {
        let task = try TinyTask()
        defer { task.remove() }
        let run = task.root.appendingPathComponent("run")
        let trained = try alone(trainArguments(task, output: run, extra: ["--epochs", "1"]))
        try #require(trained.status == 0, "\(trained.stderr)")
        let model = run.appendingPathComponent("best").path
        for (input, format) in [(task.corpusToTag, "conll"), (task.corpusToTag, "jsonl"), (task.text, "jsonl"), (task.text, "conll"), (task.text, "html")] {
            let a = task.root.appendingPathComponent("alone.\(format)"), b = task.root.appendingPathComponent("ranks.\(format)")
            // Small batches, so each rank runs several.
            let common = ["predict", "--model", model, "--input", input.path, "--format", format, "--threads", "1", "--batch-tokens", "64"]
            let single = try alone(common + ["--output", a.path])
            try #require(single.status == 0, "\(single.stderr)")
            let parallel = try twoRanks(common + ["--output", b.path])
            try #require(parallel.status == 0, "\(parallel.stderr)")
            #expect(try Data(contentsOf: a) == Data(contentsOf: b), "\(input.lastPathComponent) as \(format)")
        }
    }

    /// Fewer items than one call of the tagger takes at most (512): the ranks still split them, by tokens, and
    /// the output is still what one process writes.
    @Test(arguments: ["conll", "text"])
    func twoRanksSplitAFewSentencesByTokensAndTagThemAsOneProcess(kind: String) throws {
        let task = try TinyTask()
        defer { task.remove() }
        let run = task.root.appendingPathComponent("run")
        let trained = try alone(trainArguments(task, output: run, extra: ["--epochs", "1"]))
        try #require(trained.status == 0, "\(trained.stderr)")
        let input = task.root.appendingPathComponent(kind == "conll" ? "few.conll" : "few.txt")
        try (kind == "conll" ? TinyTask.conll(40, seed: 9) : TinyTask.lines(40, seed: 9)).write(to: input, atomically: true, encoding: .utf8)
        let a = task.root.appendingPathComponent("alone.jsonl"), b = task.root.appendingPathComponent("ranks.jsonl")
        let common = ["predict", "--model", run.appendingPathComponent("best").path, "--input", input.path, "--format", "jsonl",
                      "--threads", "1", "--batch-tokens", "64"]
        let single = try alone(common + ["--output", a.path])
        try #require(single.status == 0, "\(single.stderr)")
        let parallel = try twoRanks(common + ["--output", b.path])
        try #require(parallel.status == 0, "\(parallel.stderr)")
        #expect(try Data(contentsOf: a) == Data(contentsOf: b))
        // Rank 0 tells each rank's share: both have some, and they add up to the input.
        let unit = kind == "conll" ? "sentences" : "lines"
        let line = try #require(parallel.stderr.split(separator: "\n").first { $0.hasPrefix("\(unit) per rank: ") })
        let shares = line.dropFirst("\(unit) per rank: ".count).split(separator: ", ").compactMap { Int($0) }
        #expect(shares.count == 2 && shares.allSatisfy { $0 > 0 } && shares.reduce(0, +) == 40, "\(line)")
        #expect(parallel.stderr.components(separatedBy: "per rank: ").count == 2, "said once, by rank 0: \(parallel.stderr)")
    }

    @Test func predictUnderMPIRunRefusesStandardInputNamingTheFix() throws {
        let task = try TinyTask()
        defer { task.remove() }
        let result = try twoRanks(["predict", "--model", task.model.path, "--threads", "1"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("give --input FILE"), "\(result.stderr)")
    }
}

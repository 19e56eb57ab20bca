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

    @Test func predictUnderMPIRunRefusesStandardInputNamingTheFix() throws {
        let task = try TinyTask()
        defer { task.remove() }
        let result = try twoRanks(["predict", "--model", task.model.path, "--threads", "1"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("give --input FILE"), "\(result.stderr)")
    }
}

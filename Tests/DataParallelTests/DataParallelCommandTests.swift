import Foundation
import SafeTensors
import Testing

/// `bert-tagger train` and `predict` under `mpirun -np 2` against one process, on a tiny model.
@Suite(.serialized) struct DataParallelCommandTests {
    static let tool = MPIRun.product("bert-tagger")

    func alone(_ arguments: [String]) throws -> MPIRun.Result {
        try MPIRun.runProcess(Self.tool, arguments)
    }

    func twoRanks(_ arguments: [String]) throws -> MPIRun.Result {
        try MPIRun.run(ranks: 2, Self.tool, arguments)
    }

    func trainArguments(_ task: TinyTask, output: URL, extra: [String] = []) -> [String] {
        ["train", "--model", task.model.path, "--train", task.train.path, "--dev", task.dev.path, "--output", output.path,
         "--epochs", "3", "--lr", "5e-3", "--batch-tokens", "96", "--threads", "1", "--precision", "fp32",
         "--log-every", "1", "--seed", "3"] + extra
    }

    static func tensors(_ url: URL) throws -> [String: [Float]] {
        let file = try SafeTensorsFile(contentsOf: url)
        return try Dictionary(uniqueKeysWithValues: file.names.map { ($0, try file.floats($0)) })
    }

    static func rows(_ run: URL, _ name: String) throws -> [[String: Any]] {
        let text = try String(contentsOf: run.appendingPathComponent("metrics/\(name).jsonl"), encoding: .utf8)
        return text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    /// Largest |a - b| / max(1, |a|) over every tensor of two checkpoints.
    static func largestRelativeDifference(_ a: URL, _ b: URL) throws -> (Float, String) {
        let left = try tensors(a), right = try tensors(b)
        #expect(Set(left.keys) == Set(right.keys))
        var worst: (Float, String) = (0, "")
        for (name, l) in left {
            guard let r = right[name], r.count == l.count else { return (.infinity, name) }
            for (x, y) in zip(l, r) {
                let d = abs(x - y) / max(1, abs(x))
                if !(d <= worst.0) { worst = (d, name) }
            }
        }
        return worst
    }

    /// With document context, the dev shards are cut between documents; without, between any sentences. With
    /// dropout (hidden, attention and classifier at 0.1) each rank draws the masks of its tokens' batch positions.
    @Test(arguments: [(0, 0.0), (6, 0.0), (0, 0.1)])
    func twoRanksTrainTheRunOneProcessTrains(context: Int, dropout: Double) throws {
        let task = try TinyTask(dropout: dropout)
        defer { task.remove() }
        let one = task.root.appendingPathComponent("one"), two = task.root.appendingPathComponent("two")
        let extra = ["--context", String(context), "--gradient-accumulation", "2"]
        let single = try alone(trainArguments(task, output: one, extra: extra))
        try #require(single.status == 0, "\(single.stderr)")
        let parallel = try twoRanks(trainArguments(task, output: two, extra: extra))
        try #require(parallel.status == 0, "\(parallel.stderr)")
        #expect(parallel.stderr.contains("data-parallel over 2 ranks"), "\(parallel.stderr)")
        #expect(parallel.stdout.components(separatedBy: "best dev f1").count == 2, "rank 0 alone reports: \(parallel.stdout)")

        // The same steps: weights agree to float rounding (the ranks sum their halves in another order); measured
        // 1e-7 to 3e-7 relative here.
        let (difference, tensor) = try Self.largestRelativeDifference(one.appendingPathComponent("last/model.safetensors"),
                                                                       two.appendingPathComponent("last/model.safetensors"))
        #expect(difference < 1e-5, "largest relative difference \(difference) in \(tensor)")
        let stepsOne = try Self.rows(one, "steps"), stepsTwo = try Self.rows(two, "steps")
        #expect(stepsOne.count == stepsTwo.count && stepsOne.count >= 9)
        for (a, b) in zip(stepsOne, stepsTwo) {
            let la = (a["loss"] as? Double) ?? .nan, lb = (b["loss"] as? Double) ?? .nan
            #expect(abs(la - lb) <= 1e-4 * max(1, abs(la)), "step \(a["step"] ?? "?"): loss \(la) alone, \(lb) on 2 ranks")
        }
        // Dev scores from counts over every sentence: the same report.
        let evalOne = try Self.rows(one, "evaluations"), evalTwo = try Self.rows(two, "evaluations")
        #expect(evalOne.map { $0["f1"] as? Double } == evalTwo.map { $0["f1"] as? Double })
        #expect(evalOne.map { $0["accuracy"] as? Double } == evalTwo.map { $0["accuracy"] as? Double })
        #expect(try Data(contentsOf: one.appendingPathComponent("reports/dev.txt"))
                == Data(contentsOf: two.appendingPathComponent("reports/dev.txt")))
        #expect(try Data(contentsOf: one.appendingPathComponent("predictions/dev.conll"))
                == Data(contentsOf: two.appendingPathComponent("predictions/dev.conll")))
    }
}

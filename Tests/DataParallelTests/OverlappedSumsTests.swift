import Foundation
import Testing

/// `train --allreduce overlap` under `mpirun -np 2` against the whole slab summed after backward.
extension DataParallelCommandTests {
    /// Each element's sum over 2 ranks is one addition, whichever part of the slab it travels in, and the scale of
    /// gradient accumulation is applied to each part before it is summed as to the whole slab: the two ways give the
    /// same gradients bit for bit, so the same weights after every step.
    @Test func summingEachLayerDuringBackwardTrainsTheWeightsOfSummingAfterItBitForBit() throws {
        let task = try TinyTask(dropout: 0.1)
        defer { task.remove() }
        let overlap = task.root.appendingPathComponent("overlap"), after = task.root.appendingPathComponent("after")
        let extra = ["--gradient-accumulation", "2"]
        let overlapped = try twoRanks(trainArguments(task, output: overlap, extra: extra + ["--allreduce", "overlap"]))
        try #require(overlapped.status == 0, "\(overlapped.stderr)")
        #expect(overlapped.stderr.contains("gradients summed layer by layer during backward"), "\(overlapped.stderr)")
        let whole = try twoRanks(trainArguments(task, output: after, extra: extra + ["--allreduce", "after-backward"]))
        try #require(whole.status == 0, "\(whole.stderr)")
        #expect(whole.stderr.contains("gradients summed after backward"), "\(whole.stderr)")
        #expect(try Self.rows(overlap, "steps").count >= 9)
        #expect(try Data(contentsOf: overlap.appendingPathComponent("last/model.safetensors"))
                == Data(contentsOf: after.appendingPathComponent("last/model.safetensors")))
        #expect(try Data(contentsOf: overlap.appendingPathComponent("reports/dev.txt"))
                == Data(contentsOf: after.appendingPathComponent("reports/dev.txt")))
    }

    /// Batches of one sentence each leave rank 1 without a share of every micro-batch: it hands its (zero) gradient
    /// over part by part after backward, in backward's order, to match rank 0's sums during backward; the run
    /// ends with the weights of summing after backward.
    @Test func aRankWithoutAShareSumsItsPartsInBackwardsOrderAfterIt() throws {
        let task = try TinyTask()
        defer { task.remove() }
        func arguments(_ output: URL, _ reduction: String) -> [String] {
            var arguments = trainArguments(task, output: output, extra: ["--allreduce", reduction, "--epochs", "1"])
            arguments[arguments.firstIndex(of: "--batch-tokens")! + 1] = "11"  // the longest sentence; no two fit
            return arguments
        }
        let overlap = task.root.appendingPathComponent("overlap"), after = task.root.appendingPathComponent("after")
        let overlapped = try twoRanks(arguments(overlap, "overlap"))
        try #require(overlapped.status == 0, "\(overlapped.stderr)")
        let whole = try twoRanks(arguments(after, "after-backward"))
        try #require(whole.status == 0, "\(whole.stderr)")
        #expect(try Self.rows(overlap, "steps").count == 48, "one sentence of the 48 a step")
        #expect(try Data(contentsOf: overlap.appendingPathComponent("last/model.safetensors"))
                == Data(contentsOf: after.appendingPathComponent("last/model.safetensors")))
    }
}

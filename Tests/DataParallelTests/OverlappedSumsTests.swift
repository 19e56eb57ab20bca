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
}

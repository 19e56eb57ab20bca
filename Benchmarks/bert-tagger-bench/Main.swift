import Tensors
import ArgumentParser

@main
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bert-tagger-bench",
        abstract: "Benchmarks that print the figures in the README's Performance section.",
        subcommands: [
            EngineBenchmark.self,
            GEMMBenchmark.self,
            TrainStepBenchmark.self,
            DataBenchmark.self,
            TokenizerBenchmark.self,
            ScoringBenchmark.self,
            TaggerBenchmark.self,
            DecodingBenchmark.self,
        ]
    )
}

/// The first lines of every benchmark: the machine the figures come from.
func printMachineHeader(threads: Int? = nil) throws {
    try ComputeLibraries.load()
    if let threads { Parallel.setThreadCount(threads) }
    print("machine: \(ComputeLibraries.summary)")
}

/// The last line of the benchmarks that run oneDNN products: how often a product found its primitive made.
func printPrimitiveCache() {
    guard let statistics = ComputeLibraries.primitiveCacheStatistics else { return }
    print("oneDNN primitive cache: \(statistics)")
}

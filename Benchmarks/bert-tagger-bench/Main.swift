import ArgumentParser

@main
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bert-tagger-bench",
        abstract: "Benchmarks that print the figures in the README's Performance section.",
        subcommands: [
            EngineBenchmark.self,
            TrainStepBenchmark.self,
            DataBenchmark.self,
            TokenizerBenchmark.self,
            ScoringBenchmark.self,
        ]
    )
}

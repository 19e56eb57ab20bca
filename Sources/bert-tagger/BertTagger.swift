import ArgumentParser

@main
struct BertTagger: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bert-tagger",
        abstract: "Fine-tune and run BERT-family encoders for token classification (NER, POS, chunking).",
        version: "0.1.0",
        subcommands: [
            EvaluateCommand.self,
            DataCommand.self,
            TrainCommand.self,
            PredictCommand.self,
            TokenizeCommand.self,
        ]
    )
}

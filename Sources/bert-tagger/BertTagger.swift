import ArgumentParser

@main
struct BertTagger: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bert-tagger",
        abstract: "Fine-tune and run BERT-family encoders for token classification (NER, POS, chunking).",
        version: "0.1.0",
        subcommands: [
            TrainCommand.self,
            PredictCommand.self,
            EvaluateCommand.self,
            TokenizeCommand.self,
            DataCommand.self,
            InfoCommand.self,
        ]
    )
}

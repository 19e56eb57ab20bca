import Datasets
import SeqEval
import Tagger

extension TokenClassifier {
    /// `predict(_:batches:decoding:scheme:progress:)` reporting to a progress line.
    public func predict(_ dataset: TokenClassificationDataset, batches: [PackedBatch], decoding: Decoding = .argmax,
                        scheme: TaggingScheme? = nil,
                        progress: ProgressReporter?) throws -> (predictions: [[String]], loss: Double?) {
        try predict(dataset, batches: batches, decoding: decoding, scheme: scheme,
                    progress: progress.map { reporter in { reporter.update($0) } })
    }
}

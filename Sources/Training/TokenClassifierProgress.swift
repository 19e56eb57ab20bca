import Datasets
import Tagger

extension TokenClassifier {
    /// `predict(_:batches:progress:)` reporting to a progress line.
    public func predict(_ dataset: TokenClassificationDataset, batches: [PackedBatch],
                        progress: ProgressReporter?) throws -> (predictions: [[String]], loss: Double?) {
        try predict(dataset, batches: batches, progress: progress.map { reporter in { reporter.update($0) } })
    }
}

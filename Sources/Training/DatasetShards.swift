import DataParallel
import Datasets
import Foundation

extension TokenClassificationDataset {
    /// Contiguous runs of sentences that no window's context crosses, balanced by tokens over `parts`: the
    /// sentences each rank tags when a data set is sharded. Without context every sentence boundary is a cut;
    /// with context, the cuts fall where no window reads across them (document boundaries).
    public func sentenceShards(_ parts: Int) -> [Range<Int>] {
        let sentenceCount = corpus.sentences.count
        // crossing's running sum at c: windows that read across the boundary before sentence c.
        var crossing = [Int](repeating: 0, count: sentenceCount + 1)
        var tokens = [Int](repeating: 0, count: sentenceCount)
        for window in windows {
            let touched = [window.sentence] + window.leftContext.map(\.sentence) + window.rightContext.map(\.sentence)
            let low = touched.min()!, high = touched.max()!
            if high > low {
                crossing[low + 1] += 1
                crossing[high + 1] -= 1
            }
            tokens[window.sentence] += window.tokenCount
        }
        guard sentenceCount > 0 else { return Array(repeating: 0 ..< 0, count: parts) }
        // Units: maximal runs of sentences between boundaries no window crosses.
        var units: [Range<Int>] = []
        var open = 0, start = 0
        for c in 1 ... sentenceCount {
            open += crossing[c]
            if open == 0 || c == sentenceCount {
                units.append(start ..< c)
                start = c
            }
        }
        return Shards.contiguous(costs: units.map { tokens[$0].reduce(0, +) }, parts: parts).map { shard in
            let low = shard.lowerBound < units.count ? units[shard.lowerBound].lowerBound : sentenceCount
            return low ..< (shard.isEmpty ? low : units[shard.upperBound - 1].upperBound)
        }
    }

    /// The sentences `range` as a data set of their own: their encodings and windows, with sentence indices
    /// counted from the range's start. `range` must be one of `sentenceShards`' (no window reads outside it).
    public func shard(sentences range: Range<Int>) -> TokenClassificationDataset {
        let shift = range.lowerBound
        func moved(_ span: ContextSpan) -> ContextSpan {
            precondition(range.contains(span.sentence), "a shard's windows read only its own sentences")
            var span = span
            span.sentence -= shift
            return span
        }
        let kept = windows.filter { range.contains($0.sentence) }.map { window -> SequenceWindow in
            var window = window
            window.sentence -= shift
            window.leftContext = window.leftContext.map(moved)
            window.rightContext = window.rightContext.map(moved)
            return window
        }
        let sub = Corpus(file: corpus.file, sentences: Array(corpus.sentences[range]), documentCount: corpus.documentCount,
                         columnCount: corpus.columnCount, separator: corpus.separator)
        return TokenClassificationDataset(corpus: sub, encoded: Array(encoded[range]), windows: kept, clsID: clsID, sepID: sepID)
    }
}

/// Per-sentence labels as bytes for a gather, and back.
enum PredictionCoding {
    static func encode(_ predictions: [[String]]) throws -> [UInt8] {
        Array(try JSONEncoder().encode(predictions))
    }

    static func decode(_ bytes: [UInt8]) throws -> [[String]] {
        try JSONDecoder().decode([[String]].self, from: Data(bytes))
    }
}

/// A data set every rank holds and evaluates a part of: the rank's sentences and their batches, and the way
/// back to predictions for every sentence.
struct EvaluationShard {
    let dataset: TokenClassificationDataset
    let communicator: any Communicator
    /// This rank's sentences of `dataset` (all of them alone).
    let mine: TokenClassificationDataset
    let batches: [PackedBatch]

    init(_ dataset: TokenClassificationDataset, communicator: any Communicator, planner: BatchPlanner) throws {
        self.dataset = dataset
        self.communicator = communicator
        mine = communicator.size > 1 ? dataset.shard(sentences: dataset.sentenceShards(communicator.size)[communicator.rank])
                                     : dataset
        batches = try mine.batches(planner, order: .lengthSorted)
    }

    /// Every sentence's predictions, in order, on every rank, from each rank's `predictions` of its own; and the
    /// mean loss over all labelled tokens from each rank's mean over its own.
    func combine(_ predictions: [[String]], loss: Double?) throws -> (predictions: [[String]], loss: Double?) {
        guard communicator.size > 1 else { return (predictions, loss) }
        let labelled = batches.reduce(0) { $0 + $1.labels.lazy.filter { $0 != ignoredLabelID }.count }
        let sums = try communicator.allReduceSum([(loss ?? 0) * Double(labelled), Double(labelled)])
        let gathered = try communicator.gather(try PredictionCoding.encode(predictions), root: 0)
        let all = try communicator.broadcast(try PredictionCoding.encode(gathered.map { try $0.flatMap(PredictionCoding.decode) } ?? []),
                                             root: 0)
        return (try PredictionCoding.decode(all), sums[1] > 0 ? sums[0] / sums[1] : nil)
    }
}

import Foundation
import Tokenizer

extension SentenceEncoder {
    /// An encoder that takes each word's pieces from `tokenizer`, one word at a time: BERT
    /// pre-tokenizes words given as a list independently, so this gives the same pieces as
    /// encoding the whole sentence, and lets the pieces of each distinct word be cached.
    public init(tokenizer: BertTokenizer) {
        self.init(unknownID: tokenizer.unkID) { word in
            tokenizer.encode(words: [word], addSpecialTokens: false).ids
        }
    }
}

extension TokenClassificationDataset {
    /// Encodes `corpus` with `tokenizer` (see the memberwise initializer).
    public init(corpus: Corpus, tokenizer: BertTokenizer, labels: LabelSet? = nil, labelAllSubwords: Bool = false,
                windowing: Windowing) throws {
        var encoder = SentenceEncoder(tokenizer: tokenizer)
        try self.init(corpus: corpus, encoder: &encoder, clsID: tokenizer.clsID, sepID: tokenizer.sepID, labels: labels,
                      labelAllSubwords: labelAllSubwords, windowing: windowing)
    }
}

/// The longest sequence a model takes: `max_position_embeddings` from the `config.json` in
/// `modelDirectory`, read on its own so that data handling needs nothing of the model code.
public func maximumSequenceLength(modelDirectory: URL) throws -> Int {
    let url = modelDirectory.appendingPathComponent("config.json")
    let data: Data
    do { data = try Data(contentsOf: url) } catch {
        throw DatasetError.unreadable(file: url.path, reason: CoNLLReader.reason(error, path: url.path))
    }
    guard let object = try? JSONSerialization.jsonObject(with: data), let config = object as? [String: Any] else {
        throw DatasetError.invalidModelConfig(file: url.path, key: "max_position_embeddings", problem: "the file is not a JSON object")
    }
    guard let value = config["max_position_embeddings"] else {
        throw DatasetError.invalidModelConfig(file: url.path, key: "max_position_embeddings", problem: "missing")
    }
    guard let number = value as? NSNumber, let length = Int(exactly: number.doubleValue), length >= 3 else {
        throw DatasetError.invalidModelConfig(file: url.path, key: "max_position_embeddings",
                                              problem: "expected an integer of at least 3, found \(value)")
    }
    return length
}

/// The model's `max_position_embeddings`, after checking that a `--max-length` asked for does not exceed it:
/// a longer window has no position embedding, so it is an error rather than a silent cap.
public func maximumSequenceLength(modelDirectory: URL, checking requested: Int?) throws -> Int {
    let limit = try maximumSequenceLength(modelDirectory: modelDirectory)
    if let requested, requested > limit {
        throw DatasetError.invalidOptions("--max-length \(requested) exceeds the model's max_position_embeddings (\(limit), in "
            + "\(modelDirectory.appendingPathComponent("config.json").path)); give at most \(limit), or leave it out to use the model's maximum.")
    }
    return limit
}

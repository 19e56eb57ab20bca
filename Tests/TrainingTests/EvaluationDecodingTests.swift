import Datasets
import Foundation
import SeqEval
import Tagger
import Tensors
import Testing
@testable import Training

/// Training's dev and test evaluation decodes as the Tagger does: Viterbi under the scheme of the training
/// labels by default, argmax on request (and for runs saved before the choice existed).
@Suite(.serialized) struct EvaluationDecodingTests {
    /// A classifier fresh from the seed (so its labels are close to random) over the tiny task's dev set.
    private func untrained(_ task: TinyTaggingTask, labelColumn: Int = -1)
        throws -> (TokenClassifier, TokenClassificationDataset, [PackedBatch]) {
        Parallel.setThreadCount(1)
        let corpus = try CoNLLReader(labelColumn: labelColumn).read(contentsOf: task.dev)
        let labels = try LabelSet(collecting: corpus).labels
        let classifier = try TokenClassifier(directory: task.model, labels: labels, maxTokens: 96, seed: 11,
                                             purpose: .inference)
        let dataset = try classifier.dataset(corpus, labelled: true, windowing: try Windowing(maxLength: classifier.maxLength))
        return (classifier, dataset, try dataset.batches(try BatchPlanner(maxTokens: 96), order: .lengthSorted))
    }

    @Test func viterbiEvaluationGivesOnlyWellFormedSequencesWhereArgmaxDoesNot() throws {
        let task = try TinyTaggingTask()
        defer { task.remove() }
        let (classifier, dataset, batches) = try untrained(task)
        let transitions = try LabelTransitions(labels: classifier.labels.labels, scheme: .iob2)
        let ids = { (labels: [String]) in labels.map { Int(classifier.labels.id(of: $0)!) } }
        let viterbi = try classifier.predict(dataset, batches: batches, decoding: .viterbi, scheme: .iob2)
        let argmax = try classifier.predict(dataset, batches: batches, decoding: .argmax, scheme: .iob2)
        #expect(viterbi.predictions.count == dataset.corpus.sentences.count)
        for sentence in viterbi.predictions { #expect(transitions.isWellFormed(ids(sentence)), "\(sentence)") }
        let illFormed = argmax.predictions.filter { !transitions.isWellFormed(ids($0)) }.count
        #expect(illFormed > 0, "an untrained classifier's argmax should put I- after O somewhere")
        // Decoding changes the labels, never the loss.
        #expect(try #require(viterbi.loss).bitPattern == (try #require(argmax.loss)).bitPattern)
    }

    @Test func argmaxEvaluationIsEachWordsFirstPieceArgmaxAsBefore() throws {
        let task = try TinyTaggingTask()
        defer { task.remove() }
        let (classifier, dataset, batches) = try untrained(task)
        // What evaluation computed before decoding was a choice: the first piece's argmax over its logits.
        var collected = dataset.makePredictions()
        for batch in batches {
            try classifier.model.forward(inputIDs: batch.inputIDs, positionIDs: batch.positionIDs,
                                         sequenceOffsets: batch.sequenceOffsets, labels: nil, training: false)
            try collected.record(batch, logits: Array(classifier.model.logits), labelCount: classifier.model.numLabels)
        }
        let before = try collected.labels(classifier.labels)
        #expect(try classifier.predict(dataset, batches: batches, decoding: .argmax, scheme: .iob2).predictions == before)
        // The Tagger's argmax over the words' probabilities picks the same labels.
        let (probabilities, _) = try classifier.wordProbabilities(dataset, batches: batches)
        let transitions = try LabelTransitions(labels: classifier.labels.labels, scheme: .iob2)
        let decoded = try probabilities.map { try transitions.decode(probabilities: $0, .argmax).map { classifier.labels.labels[$0] } }
        #expect(decoded == before)
    }

    @Test func labelsWithoutASchemeDecodeTheSameWithViterbiAsWithArgmax() throws {
        let task = try TinyTaggingTask()
        defer { task.remove() }
        let (classifier, dataset, batches) = try untrained(task, labelColumn: 1)
        #expect(TaggingScheme.inferred(labels: classifier.labels.labels) == nil, "POS tags: \(classifier.labels.labels)")
        let viterbi = try classifier.predict(dataset, batches: batches, decoding: .viterbi, scheme: nil)
        let argmax = try classifier.predict(dataset, batches: batches, decoding: .argmax, scheme: nil)
        #expect(viterbi.predictions == argmax.predictions)
    }

    @Test func aRunEvaluatesWithViterbiByDefaultAndRecordsItsDecoding() throws {
        let task = try TinyTaggingTask(sentences: 30, devSentences: 12)
        defer { task.remove() }
        let viterbiRun = task.runDirectory("viterbi"), argmaxRun = task.runDirectory("argmax")
        let viterbiOptions = task.options(output: viterbiRun, epochs: 1)
        #expect(viterbiOptions.decoding == .viterbi)
        var argmaxOptions = task.options(output: argmaxRun, epochs: 1)
        argmaxOptions.decoding = .argmax
        let (_, messages) = try TinyTaggingTask.run(viterbiOptions)
        #expect(messages.contains("decoding: viterbi (the most probable well-formed IOB2 sequence)"), "\(messages)")
        let (_, argmaxMessages) = try TinyTaggingTask.run(argmaxOptions)
        #expect(argmaxMessages.contains("decoding: argmax (each word's most probable label)"))

        for (run, decoding) in [(viterbiRun, Decoding.viterbi), (argmaxRun, .argmax)] {
            let saved = try JSONDecoder().decode(TrainingOptions.self, from: Data(contentsOf: run.appendingPathComponent("options.json")))
            #expect(saved.decoding == decoding)
            #expect(try TaggingSettings.load(from: run.appendingPathComponent("best")).decoding == decoding)
        }
        // Decoding only reads the scores: both runs train alike.
        #expect(column(try metricsRows(viterbiRun, "steps"), "loss") == column(try metricsRows(argmaxRun, "steps"), "loss"))

        let labels = try LabelSet.load(from: viterbiRun.appendingPathComponent("labels.json"))
        let transitions = try LabelTransitions(labels: labels.labels, scheme: .iob2)
        for name in ["dev", "test"] {
            let predicted = try CoNLLReader(labelColumn: -1).read(contentsOf: viterbiRun.appendingPathComponent("predictions/\(name).conll"))
            for sentence in predicted.sentences {
                let tags = try #require(sentence.labels)
                #expect(transitions.isWellFormed(tags.map { Int(labels.id(of: $0)!) }), "\(name): \(tags)")
            }
        }
    }

    @Test func optionsJSONKeepsTheDecodingAndOldFilesReadAsArgmax() throws {
        var options = TrainingOptions(model: "/m", train: "/t", dev: "/d", output: "/o")
        #expect(options.decoding == .viterbi)
        options.decoding = .argmax
        let data = try JSONEncoder().encode(options)
        var object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["decoding"] as? String == "argmax")
        #expect(try JSONDecoder().decode(TrainingOptions.self, from: data) == options)
        // A run saved before the option existed evaluated with argmax; resuming it must pick its best model alike.
        object.removeValue(forKey: "decoding")
        let old = try JSONDecoder().decode(TrainingOptions.self, from: JSONSerialization.data(withJSONObject: object))
        #expect(old.decoding == .argmax)
    }

    @Test func viterbiOverLabelsThatCannotTagEverySentenceIsAnErrorSayingToUseArgmax() throws {
        let task = try TinyTaggingTask()
        defer { task.remove() }
        // IOBES without O or single-word tags: no well-formed sequence of one word exists.
        let corpus = "smith B-PER\njones I-PER\nbrown E-PER\n\nparis B-LOC\nrome E-LOC\n\n"
        try corpus.write(to: task.train, atomically: true, encoding: .utf8)
        try corpus.write(to: task.dev, atomically: true, encoding: .utf8)
        var options = task.options(output: task.runDirectory(), epochs: 1)
        options.test = nil
        #expect(throws: TrainingError.invalidOption(
            "--decoding viterbi: the IOBES labels [\"B-LOC\", \"E-LOC\", \"B-PER\", \"I-PER\", \"E-PER\"] have no O label and no single-word tag, "
                + "so no well-formed sequence exists for every sentence; use --decoding argmax")) {
            try TinyTaggingTask.run(options)
        }
        #expect(!FileManager.default.fileExists(atPath: options.output))
        options.decoding = .argmax
        try TinyTaggingTask.run(options)
    }
}

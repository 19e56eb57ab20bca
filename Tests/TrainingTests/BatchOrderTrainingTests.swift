import Datasets
import Foundation
import Tagger
import Tensors
import Testing
@testable import Training

/// How training batches are drawn: random samples of the corpus by default, grouped by length on request.
@Suite(.serialized) struct BatchOrderTrainingTests {
    /// Optimizer steps of each epoch, read from the step log (a step's epoch is e + done/planned).
    func stepsPerEpoch(_ run: URL, epochs: Int) throws -> [Int] {
        let rows = column(try metricsRows(run, "steps"), "epoch")
        return (0..<epochs).map { e in rows.filter { $0 > Double(e) && $0 <= Double(e + 1) }.count }
    }

    @Test func everyEpochRunsItsOwnRandomPlanAndTheScheduleEndsAtTheLastStep() throws {
        let task = try TinyTaggingTask()
        defer { task.remove() }
        let run = task.runDirectory()
        var options = task.options(output: run, epochs: 3)
        options.seed = 5
        let (summary, messages) = try TinyTaggingTask.run(options)

        // The batches each epoch planned, from the same sequences the trainer encoded.
        Parallel.setThreadCount(1)
        let classifier = try TokenClassifier(directory: run.appendingPathComponent("best"), maxTokens: 64, seed: 0)
        let corpus = try CoNLLReader(labelColumn: -1).read(contentsOf: task.train)
        let dataset = try classifier.dataset(corpus, labelled: true, windowing: try Windowing(maxLength: classifier.maxLength))
        let planner = try BatchPlanner(maxTokens: options.batchTokens)
        let plans = try (0..<3).map { try dataset.plan(planner, order: .shuffled(seed: 5, epoch: $0)) }
        #expect(Set(plans.map(\.count)).count > 1, "random fills give epochs of different lengths: \(plans.map(\.count))")
        #expect(try stepsPerEpoch(run, epochs: 3) == plans.map(\.count))
        #expect(summary.steps == plans.map(\.count).reduce(0, +))
        #expect(messages.contains { $0.contains("\(summary.steps) in all") }, "\(messages)")

        // Random batches mix lengths.
        let mixed = plans[0].filter { batch in Set(batch.map { dataset.windowLengths[$0] }).count > 1 }
        #expect(mixed.count * 2 > plans[0].count)

        // The learning rate decays to its last step's value and no step runs past the schedule.
        let rates = column(try metricsRows(run, "steps"), "learning_rate")
        let schedule = LinearWarmupDecay(peak: Float(options.learningRate),
                                         warmupSteps: options.warmupSteps(totalSteps: summary.steps), totalSteps: summary.steps)
        let expected = (0..<summary.steps).map { Double(schedule.rate(at: $0)) }
        #expect(zip(rates, expected).allSatisfy { abs($0 - $1) <= 1e-15 } && rates.count == expected.count, "\(rates) vs \(expected)")
        #expect(rates.last! > 0)
    }

    @Test func groupByLengthFillsBatchesWithSentencesOfOneLength() throws {
        let task = try TinyTaggingTask()
        defer { task.remove() }
        let randomRun = task.runDirectory("random"), groupedRun = task.runDirectory("grouped")
        try TinyTaggingTask.run(task.options(output: randomRun, epochs: 1))
        var options = task.options(output: groupedRun, epochs: 1)
        options.groupByLength = true
        let (_, messages) = try TinyTaggingTask.run(options)
        #expect(messages.contains { $0.contains("grouped by length") }, "\(messages)")
        // Different batches, so different losses from the same start.
        #expect(column(try metricsRows(randomRun, "steps"), "loss") != column(try metricsRows(groupedRun, "steps"), "loss"))
        let saved = try JSONDecoder().decode(TrainingOptions.self, from: Data(contentsOf: groupedRun.appendingPathComponent("options.json")))
        #expect(saved.groupByLength)
    }

    @Test func optionsJSONKeepsTheBatchOrderAndOldFilesKeepTheirGroupedBatches() throws {
        var options = TrainingOptions(model: "/m", train: "/t", dev: "/d", output: "/o")
        #expect(!options.groupByLength)
        let data = try JSONEncoder().encode(options)
        #expect(try JSONDecoder().decode(TrainingOptions.self, from: data) == options)
        var object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["groupByLength"] as? Bool == false)
        // A run saved before the option existed grouped by length; resuming it must plan the same batches.
        object.removeValue(forKey: "groupByLength")
        let old = try JSONDecoder().decode(TrainingOptions.self, from: JSONSerialization.data(withJSONObject: object))
        options.groupByLength = true
        #expect(old == options)
    }
}

import BERT
import Foundation
import SafeTensors
import Testing
@testable import Training

/// Weight decay reaches the weights it should and only those: the tutorial built the two parameter groups
/// and then handed the optimizer all parameters without them, so nothing ever decayed.
@Suite(.serialized) struct WeightDecayTests {
    @Test func withZeroGradientsWeightsShrinkAndLayerNormsAndBiasesDoNot() {
        let model = BertForTokenClassification(config: TinyTaggingTask.config(), numLabels: 3, maxTokens: 16, seed: 1)
        // Give every bias and LayerNorm parameter a non-zero value, so "unchanged" is not "still zero".
        for entry in model.layout.entries where !entry.decays {
            for i in entry.range { model.parameters[i] = 0.5 + Float(i % 7) / 10 }
        }
        let before = Array(model.parameters)
        model.zeroGradients()
        var optimizer = AdamW(layout: model.layout, learningRate: 0.1, weightDecay: 0.5)
        optimizer.step(parameters: model.parameters, gradients: UnsafeBufferPointer(model.gradients), learningRate: 0.1)

        let factor: Float = 1 - 0.1 * 0.5
        var decayed = 0, kept = 0
        for entry in model.layout.entries {
            let exempt = entry.name.hasSuffix(".bias") || entry.name.contains("LayerNorm.")
            let expected = entry.range.map { exempt ? before[$0] : before[$0] * factor }
            #expect(Array(model.parameters[entry.range]) == expected, "\(entry.name)")
            if exempt { kept += 1 } else { decayed += 1 }
        }
        // Every kind of tensor is covered: embeddings, attention, feed-forward and classifier weights decay.
        #expect(decayed == 3 + 2 * 6 + 1 && kept == 2 + 2 * 10 + 1)
    }

    /// A word the training data never contains gets no gradient, so only decay moves its embedding: after
    /// the run it must equal its starting value times Π (1 − lr_t · wd) over the schedule's rates.
    @Test(arguments: [0.0, 1.0])
    func theTrainerDecaysAnUnusedEmbeddingByTheScheduledFactor(weightDecay: Double) throws {
        let task = try TinyTaggingTask()
        defer { task.remove() }
        let run = task.runDirectory()
        var options = task.options(output: run, epochs: 2)
        options.weightDecay = weightDecay
        let (summary, _) = try TinyTaggingTask.run(options)

        let unused = 4  // [MASK]: never in a CoNLL sentence
        let hidden = TinyTaggingTask.config().hiddenSize
        let rows = unused * hidden ..< (unused + 1) * hidden
        let start = Array(try tensors(task.model.appendingPathComponent("model.safetensors"))["embeddings.word_embeddings.weight"]!)[rows]
        let end = Array(try tensors(run.appendingPathComponent("last/model.safetensors"))["bert.embeddings.word_embeddings.weight"]!)[rows]

        let schedule = LinearWarmupDecay(peak: Float(options.learningRate),
                                         warmupSteps: options.warmupSteps(totalSteps: summary.steps), totalSteps: summary.steps)
        var expected = Array(start)
        for step in 0..<summary.steps {
            let factor = 1 - schedule.rate(at: step) * Float(weightDecay)
            for i in expected.indices { expected[i] *= factor }
        }
        #expect(Array(end) == expected)
        if weightDecay > 0 {
            let shrink = (end.map { $0 * $0 }.reduce(0, +) / start.map { $0 * $0 }.reduce(0, +)).squareRoot()
            #expect(shrink < 0.99, "the unused embedding kept \(shrink) of its norm")
        } else {
            #expect(Array(end) == Array(start))
        }
    }
}

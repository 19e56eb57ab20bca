import Foundation
import SeqEval
import Tagger
import Tensors
import Testing
@testable import Training

/// `train` saves what tagging needs beside the best model, and a Tagger made from that folder tags as the run
/// evaluated.
@Suite(.serialized) struct TaggingSettingsTrainingTests {
    @Test func theBestModelCarriesItsTaggingSettingsAndTagsText() throws {
        let task = try TinyTaggingTask(sentences: 30, devSentences: 10)
        defer { task.remove() }
        var options = task.options(output: task.runDirectory(), epochs: 1)
        options.context = 8
        options.maxLength = 40
        options.stride = 6
        try TinyTaggingTask.run(options)
        let best = URL(fileURLWithPath: options.output).appendingPathComponent("best")
        let settings = try TaggingSettings.load(from: best)
        #expect(settings == TaggingSettings(context: 8, maxLength: 40, stride: 6, scheme: .iob2))

        let tagger = try Tagger(directory: best, precision: .fp32, batchTokens: 96)
        #expect(tagger.settings == settings && tagger.windowing.context == 8)
        let tagged = try tagger.tag(text: "mr Smith went to Paris.")
        #expect(tagged.words.map(\.text) == ["mr", "Smith", "went", "to", "Paris", "."])
    }
}

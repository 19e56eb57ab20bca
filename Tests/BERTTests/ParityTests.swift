import Foundation
import SafeTensors
import Testing
@testable import BERT

/// The engine against transformers, on references saved by Scripts/make_bert_fixtures.py.
///
/// Error measures: "max abs" is the largest |ours − reference| over a tensor; a gradient's or parameter's
/// "relative error" is max abs / max |reference| over that tensor.

/// A packed batch and what transformers computed for it.
struct ParityReference {
    let file: SafeTensorsFile
    let inputIDs: [Int32]
    let positionIDs: [Int32]
    let sequenceOffsets: [Int32]
    let labels: [Int32]?

    init(_ url: URL) throws {
        file = try SafeTensorsFile(contentsOf: url)
        inputIDs = try file.integers("input_ids").map { Int32($0) }
        positionIDs = try file.integers("position_ids").map { Int32($0) }
        sequenceOffsets = try file.integers("sequence_offsets").map { Int32($0) }
        labels = file.info("labels") == nil ? nil : try file.integers("labels").map { Int32($0) }
    }

    func floats(_ name: String) throws -> [Float] { try file.floats(name) }
}

func maxAbsDifference<A: Collection<Float>, B: Collection<Float>>(_ a: A, _ b: B) -> Float {
    precondition(a.count == b.count, "comparing \(a.count) values with \(b.count)")
    return zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
}

func relativeError<A: Collection<Float>, B: Collection<Float>>(_ ours: A, reference: B) -> Float {
    maxAbsDifference(ours, reference) / max(reference.reduce(0) { max($0, abs($1)) }, .leastNormalMagnitude)
}

/// The key projection's bias adds the same amount to every score of a query row, which softmax ignores: its
/// gradient is zero in exact arithmetic (the float64 reference holds ~1e-18), so only an absolute bound means
/// anything, and AdamW, which normalises a gradient by its own size, turns float32 rounding noise there into
/// steps of up to the learning rate.
func isKeyBias(_ name: String) -> Bool { name.hasSuffix("attention.self.key.bias") }

@Suite struct TinyParityTests {
    @Test(arguments: ["tiny-gelu", "tiny-gelu-new"])
    func logitsLossAndEveryGradientMatchPyTorch(fixture: String) throws {
        let directory = BERTFixture.url(fixture)
        let reference = try ParityReference(directory.appendingPathComponent("expected.safetensors"))
        let model = try Checkpoint(directory: directory).makeModel(maxTokens: 64)
        let loss = try #require(try model.forward(inputIDs: reference.inputIDs, positionIDs: reference.positionIDs,
                                                  sequenceOffsets: reference.sequenceOffsets, labels: reference.labels,
                                                  training: false))
        let logitsDiff = maxAbsDifference(model.logits, try reference.floats("logits"))
        #expect(logitsDiff <= 1e-5, "\(fixture) logits: max abs difference \(logitsDiff)")
        let expectedLoss = try reference.floats("loss")[0]
        #expect(abs(loss - expectedLoss) <= 1e-5, "\(fixture) loss \(loss), reference \(expectedLoss)")

        model.zeroGradients()
        model.backward()
        var worst: (name: String, error: Float) = ("", 0)
        for entry in model.layout.entries {
            let ours = model.gradients[entry.range]
            let theirs = try reference.floats("grad.\(entry.name)")
            if isKeyBias(entry.name) {
                let size = ours.reduce(0) { max($0, abs($1)) }
                #expect(size <= 1e-6, "\(fixture) \(entry.name): gradient should vanish, largest entry \(size)")
                continue
            }
            let error = relativeError(ours, reference: theirs)
            if error > worst.error { worst = (entry.name, error) }
        }
        #expect(worst.error <= 1e-3, "\(fixture): largest gradient relative error \(worst.error) on \(worst.name)")
        print("\(fixture): logits max abs \(logitsDiff), loss abs \(abs(loss - expectedLoss)), largest gradient relative error \(worst.error) (\(worst.name))")
    }

    @Test func threeAdamWStepsMatchTorchOptimAdamW() throws {
        let directory = BERTFixture.url("tiny-gelu")
        let reference = try ParityReference(directory.appendingPathComponent("expected.safetensors"))
        let model = try Checkpoint(directory: directory).makeModel(maxTokens: 64)
        let learningRate: Float = 1e-3
        var optimizer = AdamW(layout: model.layout, learningRate: learningRate, weightDecay: 0.01)
        var losses: [Float] = []
        for _ in 0..<3 {
            model.zeroGradients()
            let loss = try #require(try model.forward(inputIDs: reference.inputIDs, positionIDs: reference.positionIDs,
                                                      sequenceOffsets: reference.sequenceOffsets, labels: reference.labels,
                                                      training: false))
            model.backward()
            optimizer.step(parameters: model.parameters, gradients: UnsafeBufferPointer(model.gradients),
                           learningRate: learningRate)
            losses.append(loss)
        }
        let expectedLosses = try reference.floats("adamw.losses")
        #expect(relativeError(losses, reference: expectedLosses) <= 1e-5, "losses \(losses), reference \(expectedLosses)")

        var worst: (name: String, error: Float) = ("", 0)
        for entry in model.layout.entries {
            let ours = model.parameters[entry.range]
            let theirs = try reference.floats("adamw.\(entry.name)")
            if isKeyBias(entry.name) {
                let drift = maxAbsDifference(ours, theirs)
                #expect(drift <= 3 * learningRate, "\(entry.name) moved \(drift) from the reference in 3 steps")
                continue
            }
            let error = relativeError(ours, reference: theirs)
            if error > worst.error { worst = (entry.name, error) }
        }
        #expect(worst.error <= 1e-5, "largest parameter relative error after 3 steps \(worst.error) on \(worst.name)")
        print("tiny-gelu AdamW: losses relative error \(relativeError(losses, reference: expectedLosses)), largest parameter relative error \(worst.error) (\(worst.name))")
    }
}

@Suite struct MiniLMParityTests {
    static let conllLabels = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]

    /// The default encoder with the fixture's classifier.
    func makeModel(purpose: ModelPurpose) throws -> BertForTokenClassification {
        let model = try Checkpoint(directory: BERTFixture.encoderDirectory, labels: Self.conllLabels)
            .makeModel(maxTokens: 512, purpose: purpose)
        let classifier = try SafeTensorsFile(contentsOf: BERTFixture.url("minilm-conll/classifier.safetensors"))
        for name in ["classifier.weight", "classifier.bias"] {
            let entry = try #require(model.layout.entry(named: name))
            try classifier.readFloats(name, into: UnsafeMutableBufferPointer(rebasing: model.parameters[entry.range]))
        }
        return model
    }

    /// Both purposes: a training model's forward, and an inference model's (on weights laid out once for the packed
    /// kernel, where the processor runs it).
    @Test(.enabled(if: BERTFixture.encoderIsPresent, BERTFixture.encoderAbsentMessage),
          arguments: [ModelPurpose.training, .inference])
    func hiddenStatesAndLogitsMatchTransformersPackedAndOneByOne(purpose: ModelPurpose) throws {
        let reference = try ParityReference(BERTFixture.url("minilm-conll/expected.safetensors"))
        let hidden = try reference.floats("last_hidden_state")
        let logits = try reference.floats("logits")
        let model = try makeModel(purpose: purpose)
        let C = model.config.hiddenSize, NL = model.numLabels
        #expect(reference.sequenceOffsets.count - 1 >= 20)

        _ = try model.forward(inputIDs: reference.inputIDs, positionIDs: reference.positionIDs,
                              sequenceOffsets: reference.sequenceOffsets, labels: nil, training: false)
        let packedHidden = maxAbsDifference(model.lastHiddenState, hidden)
        let packedLogits = maxAbsDifference(model.logits, logits)
        #expect(packedHidden <= 1e-4, "packed: last_hidden_state max abs difference \(packedHidden)")
        #expect(packedLogits <= 1e-4, "packed: logits max abs difference \(packedLogits)")

        var worst: (what: String, difference: Float) = ("", 0)
        for b in 0..<(reference.sequenceOffsets.count - 1) {
            let start = Int(reference.sequenceOffsets[b]), end = Int(reference.sequenceOffsets[b + 1])
            _ = try model.forward(inputIDs: Array(reference.inputIDs[start..<end]),
                                  positionIDs: Array(reference.positionIDs[start..<end]),
                                  sequenceOffsets: [0, Int32(end - start)], labels: nil, training: false)
            let h = maxAbsDifference(model.lastHiddenState, hidden[(start * C)..<(end * C)])
            let l = maxAbsDifference(model.logits, logits[(start * NL)..<(end * NL)])
            if h > worst.difference { worst = ("last_hidden_state of sentence \(b) (\(end - start) pieces)", h) }
            if l > worst.difference { worst = ("logits of sentence \(b) (\(end - start) pieces)", l) }
        }
        #expect(worst.difference <= 1e-4, "one by one: largest difference \(worst.difference) in \(worst.what)")
        print("minilm-conll (\(purpose)): packed max abs hidden \(packedHidden), logits \(packedLogits); one by one largest \(worst.difference) (\(worst.what))")
    }
}

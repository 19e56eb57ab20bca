import BERT
import Foundation
import Testing
@testable import Tagger

/// Overlapping calls each get a model of their own, with the same weights, up to the pool's limit.
@Suite("model pool")
struct ModelPoolTests {
    private func model() -> BertForTokenClassification {
        let config = BertConfig(vocabSize: 20, hiddenSize: 8, numHiddenLayers: 1, numAttentionHeads: 2,
                                intermediateSize: 16, maxPositionEmbeddings: 16)
        return BertForTokenClassification(config: config, numLabels: 3, maxTokens: 16, seed: 9, purpose: .inference)
    }

    /// Two threads that each hold a model until both hold one.
    private func overlap(_ pool: ModelPool) -> (first: ObjectIdentifier?, second: ObjectIdentifier?, bothInside: Bool,
                                                parameters: [[Float]]) {
        let inside = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let box = Box()
        let finished = DispatchSemaphore(value: 0)
        // Threads of their own, not the shared dispatch pool, which other tests may hold busy on two cores.
        for slot in 0..<2 {
            Thread {
                pool.withModel { model in
                    box.set(slot, ObjectIdentifier(model), parameters: Array(model.parameters))
                    inside.signal()
                    _ = release.wait(timeout: .now() + 10)
                }
                finished.signal()
            }.start()
        }
        let first = inside.wait(timeout: .now() + 10) == .success
        let second = inside.wait(timeout: .now() + 3) == .success
        release.signal()
        release.signal()
        if !second { _ = inside.wait(timeout: .now() + 10) }
        _ = finished.wait(timeout: .now() + 20)
        _ = finished.wait(timeout: .now() + 20)
        return (box.ids[0], box.ids[1], first && second, box.parameters)
    }

    @Test func overlappingCallsGetDistinctModelsWithTheSameWeights() {
        let pool = ModelPool(model(), limit: 2)
        let (a, b, bothInside, parameters) = overlap(pool)
        #expect(bothInside, "the second call should not wait while the pool may make another model")
        #expect(a != nil && b != nil && a != b)
        #expect(pool.count == 2)
        #expect(!parameters[0].isEmpty && parameters[0] == parameters[1], "a copy carries the first model's weights")
    }

    @Test func beyondTheLimitCallsWaitForAModel() {
        let pool = ModelPool(model(), limit: 1)
        let (a, b, bothInside, _) = overlap(pool)
        #expect(!bothInside, "with one model the second call must wait for the first")
        #expect(a != nil && a == b)
        #expect(pool.count == 1)
    }
}

private final class Box: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var ids: [ObjectIdentifier?] = [nil, nil]
    private(set) var parameters: [[Float]] = [[], []]
    func set(_ slot: Int, _ id: ObjectIdentifier, parameters: [Float]) {
        lock.lock()
        ids[slot] = id
        self.parameters[slot] = parameters
        lock.unlock()
    }
}

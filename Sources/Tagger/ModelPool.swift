import BERT
import Foundation

/// Inference models with the same weights, lent to one caller at a time: a model keeps its activations between
/// the forward and the read of its logits, so two threads must never share one. The first model is loaded; the
/// others are made only when calls overlap, up to `limit`, each a copy of the first's parameters (memory grows
/// by one parameter set and one activation plan per model).
final class ModelPool: @unchecked Sendable {
    let limit: Int
    private let prototype: BertForTokenClassification
    private let condition = NSCondition()
    private var idle: [BertForTokenClassification]
    private var made = 1

    init(_ model: BertForTokenClassification, limit: Int) {
        precondition(limit >= 1, "a pool holds at least one model")
        prototype = model
        idle = [model]
        self.limit = limit
    }

    /// Models made so far.
    var count: Int {
        condition.lock()
        defer { condition.unlock() }
        return made
    }

    /// Runs `body` with a model no other thread is using, waiting for one when `limit` are busy.
    func withModel<R>(_ body: (BertForTokenClassification) throws -> R) rethrows -> R {
        let model = borrow()
        defer { giveBack(model) }
        return try body(model)
    }

    private func borrow() -> BertForTokenClassification {
        condition.lock()
        while idle.isEmpty && made >= limit { condition.wait() }
        if let model = idle.popLast() {
            condition.unlock()
            return model
        }
        made += 1
        condition.unlock()
        return copy()
    }

    private func giveBack(_ model: BertForTokenClassification) {
        condition.lock()
        idle.append(model)
        condition.signal()
        condition.unlock()
    }

    /// A new model with the prototype's weights. Reading the prototype's parameters is safe while it runs: a
    /// forward only reads them, and `parameterValues` leaves its packed or converted weights as they are.
    private func copy() -> BertForTokenClassification {
        let model = BertForTokenClassification(config: prototype.config, numLabels: prototype.numLabels,
                                               maxTokens: prototype.maxTokens, seed: 0, precision: prototype.precision,
                                               purpose: .inference, initializingParameters: false)
        _ = model.parameters.update(fromContentsOf: prototype.parameterValues)
        return model
    }
}

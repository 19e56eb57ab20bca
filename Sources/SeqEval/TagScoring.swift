// Per-tag scores for label sets that are not tagging schemes (POS tags, plain classes), as
// scikit-learn's `classification_report(gold, predicted, output_dict=True)` computes them over the
// flattened tokens: every label is a class, entity spans play no part.

/// How a label set is scored.
public enum Scoring: String, Sendable, Codable, CaseIterable {
    /// Entities (chunks) read from BIO-style tags, as seqeval does.
    case entities
    /// Every tag on its own, per token, as scikit-learn does for classes.
    case tags

    /// Entities when every label is `O` or a scheme prefix (B, I, E, S, L, U), a hyphen and a type;
    /// tags otherwise (POS tags such as NNP or VBD would otherwise be read as B- and I- "entities").
    public init<Labels: Sequence>(labels: Labels) where Labels.Element == String {
        self = labels.allSatisfy(Self.isSchemeLabel) ? .entities : .tags
    }

    /// `O`, or `B-`, `I-`, `E-`, `S-`, `L-`, `U-` followed by a non-empty type.
    public static func isSchemeLabel(_ label: String) -> Bool {
        if label == "O" { return true }
        guard let dash = label.firstIndex(of: "-"), dash != label.startIndex, label.index(after: dash) != label.endIndex
        else { return false }
        return ["B", "I", "E", "S", "L", "U"].contains(String(label[..<dash]))
    }

    /// A line saying how a report was scored.
    public var heading: String {
        switch self {
        case .entities: return "scoring: entities (seqeval, default mode)"
        case .tags: return "scoring: per tag (the labels are not a BIO-style scheme), as scikit-learn's classification_report"
        }
    }
}

/// Per-tag precision, recall, F1 and support for every label in gold or predictions, their micro,
/// macro and weighted averages, and token accuracy: scikit-learn's `classification_report` and
/// `accuracy_score` on the flattened sentences. Labels are sorted by code point (numpy's order).
/// F1 is `2·tp / (gold + predicted)` as scikit-learn computes it; a ratio with a zero denominator
/// is 0 (its `zero_division` default). Throws ``SeqEvalError`` when the inputs differ in sentence
/// count or a sentence's length, on an empty tag, or when there are no tokens.
public func tagClassificationReport(gold: [[String]], predicted: [[String]]) throws -> ClassificationReport {
    guard gold.count == predicted.count else {
        throw SeqEvalError.sentenceCountMismatch(gold: gold.count, predicted: predicted.count)
    }
    var ids: [String: Int] = [:]
    var names: [String] = []
    func id(_ tag: String) -> Int {
        if let id = ids[tag] { return id }
        ids[tag] = names.count
        names.append(tag)
        return names.count - 1
    }
    var truePositives: [Int] = [], goldCounts: [Int] = [], predictedCounts: [Int] = []
    func grow() {
        while goldCounts.count < names.count { truePositives.append(0); goldCounts.append(0); predictedCounts.append(0) }
    }
    var correct = 0, total = 0
    for (sentence, (goldSentence, predictedSentence)) in zip(gold, predicted).enumerated() {
        guard goldSentence.count == predictedSentence.count else {
            throw SeqEvalError.sentenceLengthMismatch(sentence: sentence, gold: goldSentence.count, predicted: predictedSentence.count)
        }
        for (token, (g, p)) in zip(goldSentence, predictedSentence).enumerated() {
            if g.isEmpty { throw SeqEvalError.emptyTag(side: .gold, sentence: sentence, token: token) }
            if p.isEmpty { throw SeqEvalError.emptyTag(side: .predicted, sentence: sentence, token: token) }
            let gi = id(g), pi = id(p)
            grow()
            goldCounts[gi] += 1
            predictedCounts[pi] += 1
            if gi == pi { truePositives[gi] += 1; correct += 1 }
            total += 1
        }
    }
    guard total > 0 else { throw SeqEvalError.noTokens }

    func ratio(_ numerator: Int, _ denominator: Int) -> Double {
        denominator == 0 ? 0 : Double(numerator) / Double(denominator)
    }
    func f1(_ tp: Int, _ gold: Int, _ predicted: Int) -> Double {
        let denominator = 1.0 * Double(gold) + Double(predicted)
        return denominator == 0 ? 0 : 2.0 * Double(tp) / denominator
    }
    let order = names.indices.sorted { names[$0].unicodeScalars.lexicographicallyPrecedes(names[$1].unicodeScalars) }
    let perTag = order.map { i in
        Scores(precision: ratio(truePositives[i], predictedCounts[i]), recall: ratio(truePositives[i], goldCounts[i]),
               f1Score: f1(truePositives[i], goldCounts[i], predictedCounts[i]), support: goldCounts[i])
    }
    let tp = truePositives.reduce(0, +)
    let micro = Scores(precision: ratio(tp, total), recall: ratio(tp, total), f1Score: f1(tp, total, total), support: total)
    let count = Double(perTag.count)
    let macro = Scores(precision: numpySum(perTag.map(\.precision)[...]) / count,
                       recall: numpySum(perTag.map(\.recall)[...]) / count,
                       f1Score: numpySum(perTag.map(\.f1Score)[...]) / count, support: total)
    func weighted(_ value: KeyPath<Scores, Double>) -> Double {
        numpySum(perTag.map { $0[keyPath: value] * Double($0.support) }[...]) / Double(total)
    }
    let weightedAverage = Scores(precision: weighted(\.precision), recall: weighted(\.recall), f1Score: weighted(\.f1Score),
                                 support: total)
    return ClassificationReport(types: Dictionary(uniqueKeysWithValues: zip(order.map { names[$0] }, perTag)),
                                microAverage: micro, macroAverage: macro, weightedAverage: weightedAverage,
                                accuracy: Double(correct) / Double(total), scoring: .tags)
}

/// The report for `scoring`: seqeval's entity report (default mode) or the per-tag report.
public func classificationReport(gold: [[String]], predicted: [[String]], scoring: Scoring) throws -> ClassificationReport {
    switch scoring {
    case .entities: return try classificationReport(gold: gold, predicted: predicted, mode: .default)
    case .tags: return try tagClassificationReport(gold: gold, predicted: predicted)
    }
}

import Foundation

/// seqeval's `classification_report` with `output_dict=True`, plus `accuracy_score`.
public struct ClassificationReport: Sendable, Equatable {
    /// Scores per entity type: every type that gold or predicted entities have, so a type found
    /// only in predictions has support 0.
    public var types: [String: Scores]
    public var microAverage: Scores
    public var macroAverage: Scores
    public var weightedAverage: Scores
    /// Token accuracy: the share of tokens whose predicted tag equals the gold tag.
    public var accuracy: Double
    /// Whether the rows are entity types (seqeval) or tags (scikit-learn).
    public var scoring: Scoring

    public init(types: [String: Scores], microAverage: Scores, macroAverage: Scores,
                weightedAverage: Scores, accuracy: Double, scoring: Scoring = .entities) {
        self.scoring = scoring
        self.types = types
        self.microAverage = microAverage
        self.macroAverage = macroAverage
        self.weightedAverage = weightedAverage
        self.accuracy = accuracy
    }

    /// Type names in seqeval's order: sorted by code point, as Python sorts strings.
    public var typeNames: [String] {
        types.keys.sorted { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }
    }

    private var rows: [(name: String, scores: Scores)] {
        typeNames.map { ($0, types[$0]!) }
    }

    private var averageRows: [(name: String, scores: Scores)] {
        [("micro avg", microAverage), ("macro avg", macroAverage), ("weighted avg", weightedAverage)]
    }

    /// The text `classification_report(..., digits=digits)` prints, byte for byte (`StringReporter`
    /// in seqeval's `reporters.py`): names right-aligned to the longest of the type names,
    /// "weighted avg" and `digits`; each number right-aligned in 9 columns after a space.
    ///
    /// With no types at all seqeval raises instead; this prints the three average rows.
    public func formatted(digits: Int = 2) -> String {
        let nameWidth = typeNames.map(\.unicodeScalars.count).max() ?? 0
        let width = max(nameWidth, "weighted avg".count, digits)
        func rightAligned(_ text: String, _ width: Int) -> String {
            let padding = width - text.unicodeScalars.count
            return padding > 0 ? String(repeating: " ", count: padding) + text : text
        }
        func line(_ name: String, _ scores: Scores) -> String {
            var line = rightAligned(name, width) + " "
            for value in [scores.precision, scores.recall, scores.f1Score] {
                line += " " + rightAligned(String(format: "%.\(max(digits, 0))f", value), 9)
            }
            return line + " " + rightAligned(String(scores.support), 9)
        }

        var text = String(repeating: " ", count: width) + " "
        for header in ["precision", "recall", "f1-score", "support"] {
            text += " " + rightAligned(header, 9)
        }
        text += "\n\n"
        var lines = rows.map { line($0.name, $0.scores) }
        lines.append("")
        lines += averageRows.map { line($0.name, $0.scores) }
        lines.append("")
        return text + lines.joined(separator: "\n")
    }

    /// `classification_report(..., output_dict=True)` with `"accuracy"` added, as JSON: the types
    /// in seqeval's order, then `micro avg`, `macro avg`, `weighted avg` (each with `precision`,
    /// `recall`, `f1-score`, `support`), then `accuracy`. Written as Python's `json.dumps` writes
    /// that dictionary (`indent=2` when pretty-printed), so the bytes match it too.
    ///
    /// With `includingScoring` (always for a per-tag report, which seqeval has no form of), a last
    /// member `"scoring"` says `"entities"` or `"tags"`.
    public func jsonData(prettyPrinted: Bool = false, includingScoring: Bool = false) throws -> Data {
        let newline = prettyPrinted ? "\n" : ""
        let separator = prettyPrinted ? "," : ", "
        func indent(_ level: Int) -> String { prettyPrinted ? String(repeating: "  ", count: level) : "" }

        var members: [String] = []
        for (name, scores) in rows + averageRows {
            let fields = [
                ("precision", pythonFloat(scores.precision)),
                ("recall", pythonFloat(scores.recall)),
                ("f1-score", pythonFloat(scores.f1Score)),
                ("support", String(scores.support)),
            ].map { indent(2) + jsonString($0.0) + ": " + $0.1 }
            members.append(indent(1) + jsonString(name) + ": {" + newline
                + fields.joined(separator: separator + newline) + newline + indent(1) + "}")
        }
        members.append(indent(1) + jsonString("accuracy") + ": " + pythonFloat(accuracy))
        if includingScoring || scoring == .tags {
            members.append(indent(1) + jsonString("scoring") + ": " + jsonString(scoring.rawValue))
        }
        return Data(("{" + newline + members.joined(separator: separator + newline) + newline + "}").utf8)
    }
}

/// A float as Python's `repr` (and so `json.dumps`) writes it: Swift's `description` prints the
/// same shortest round-trip digits and switches to exponent form at the same thresholds
/// (below 1e-4, from 1e16).
private func pythonFloat(_ value: Double) -> String {
    value.description
}

/// A JSON string as Python's `json.dumps` writes it with `ensure_ascii=True`.
private func jsonString(_ text: String) -> String {
    var result = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": result += "\\\""
        case "\\": result += "\\\\"
        case "\n": result += "\\n"
        case "\r": result += "\\r"
        case "\t": result += "\\t"
        case "\u{08}": result += "\\b"
        case "\u{0C}": result += "\\f"
        case " "..."~": result.unicodeScalars.append(scalar)
        default:
            for unit in String(scalar).utf16 {
                let hex = String(unit, radix: 16)
                result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            }
        }
    }
    return result + "\""
}

/// seqeval's `classification_report` for gold and predicted tag sequences, one array per
/// sentence, with `accuracy_score` alongside.
///
/// Default mode follows seqeval's conlleval-compatible reading (`mode=None`); `.strict(scheme)`
/// follows `mode='strict', scheme=...`. Throws ``SeqEvalError`` when the inputs differ in
/// sentence count or in a sentence's length, on an empty tag, in strict mode on a tag whose first
/// character is not a prefix of the scheme (where seqeval raises too), and when there are no
/// tokens at all (where seqeval's accuracy divides by zero).
public func classificationReport(gold: [[String]], predicted: [[String]],
                                 mode: EvaluationMode = .default) throws -> ClassificationReport {
    let counts = try countEntities(gold: gold, predicted: predicted, mode: mode)
    guard counts.totalTokens > 0 else { throw SeqEvalError.noTokens }
    let perType = counts.perType
    return ClassificationReport(
        types: Dictionary(uniqueKeysWithValues: zip(counts.types, perType)),
        microAverage: counts.microAverage,
        macroAverage: counts.macroAverage(perType),
        weightedAverage: counts.weightedAverage(perType),
        accuracy: Double(counts.correctTokens) / Double(counts.totalTokens))
}

/// Micro-averaged entity F1, seqeval's `f1_score(gold, predicted)` (with `mode='strict',
/// scheme=...` for `.strict`). 0 when neither side has an entity.
public func f1Score(gold: [[String]], predicted: [[String]], mode: EvaluationMode = .default) throws -> Double {
    try countEntities(gold: gold, predicted: predicted, mode: mode).microAverage.f1Score
}

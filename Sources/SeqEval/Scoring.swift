// Entity counts per type and seqeval's precision, recall and F1 arithmetic
// (`_precision_recall_fscore_support` in `metrics/v1.py`, which both modes share).

/// Precision, recall, F1 and support (number of gold entities) of one type or one average.
public struct Scores: Sendable, Equatable, Codable {
    public var precision: Double
    public var recall: Double
    public var f1Score: Double
    public var support: Int

    public init(precision: Double, recall: Double, f1Score: Double, support: Int) {
        self.precision = precision
        self.recall = recall
        self.f1Score = f1Score
        self.support = support
    }

    enum CodingKeys: String, CodingKey {
        case precision, recall, f1Score = "f1-score", support
    }
}

/// Entity counts per type, types in seqeval's order (sorted by code point).
struct EntityCounts {
    var types: [String] = []
    var truePositives: [Int] = []
    var predicted: [Int] = []
    var gold: [Int] = []
    var correctTokens = 0
    var totalTokens = 0
}

/// An entity of the whole input: its type and token positions in the concatenated sentences.
/// Ordered by position first, the order chunks are found in, so sorting them is one pass.
private struct Chunk: Comparable {
    var type: Int32
    var start: Int
    var end: Int

    static func < (lhs: Chunk, rhs: Chunk) -> Bool {
        if lhs.start != rhs.start { return lhs.start < rhs.start }
        if lhs.end != rhs.end { return lhs.end < rhs.end }
        return lhs.type < rhs.type
    }
}

/// Reads both sides' entities the way seqeval's scorers do and counts them per type.
///
/// Default mode reads the sentences as `get_entities` reads a list of lists: concatenated, with an
/// `O` after each sentence. Strict mode reads each sentence separately. Entities are compared as
/// sets, so a chunk seqeval reports twice counts once.
func countEntities(gold: [[String]], predicted: [[String]], mode: EvaluationMode) throws -> EntityCounts {
    guard gold.count == predicted.count else {
        throw SeqEvalError.sentenceCountMismatch(gold: gold.count, predicted: predicted.count)
    }
    for (index, (goldSentence, predictedSentence)) in zip(gold, predicted).enumerated()
    where goldSentence.count != predictedSentence.count {
        throw SeqEvalError.sentenceLengthMismatch(sentence: index, gold: goldSentence.count,
                                                  predicted: predictedSentence.count)
    }

    var counts = EntityCounts()
    var reader = TagReader()
    let goldChunks = try chunks(of: gold, side: .gold, mode: mode, reader: &reader)
    let predictedChunks = try chunks(of: predicted, side: .predicted, mode: mode, reader: &reader)

    for (goldSentence, predictedSentence) in zip(gold, predicted) {
        counts.totalTokens += goldSentence.count
        for (goldTag, predictedTag) in zip(goldSentence, predictedSentence) where goldTag == predictedTag {
            counts.correctTokens += 1
        }
    }

    // Types appear when either side has an entity of them, in code point order as Python sorts.
    var rank = Array(repeating: -1, count: reader.typeNames.count)
    var present = Set<Int32>()
    for chunk in goldChunks { present.insert(chunk.type) }
    for chunk in predictedChunks { present.insert(chunk.type) }
    let ordered = present.sorted {
        reader.typeNames[Int($0)].unicodeScalars.lexicographicallyPrecedes(reader.typeNames[Int($1)].unicodeScalars)
    }
    for (position, type) in ordered.enumerated() { rank[Int(type)] = position }
    counts.types = ordered.map { reader.typeNames[Int($0)] }
    counts.truePositives = Array(repeating: 0, count: ordered.count)
    counts.predicted = Array(repeating: 0, count: ordered.count)
    counts.gold = Array(repeating: 0, count: ordered.count)

    for chunk in goldChunks { counts.gold[rank[Int(chunk.type)]] += 1 }
    for chunk in predictedChunks { counts.predicted[rank[Int(chunk.type)]] += 1 }
    var g = 0, p = 0
    while g < goldChunks.count && p < predictedChunks.count {
        if goldChunks[g] == predictedChunks[p] {
            counts.truePositives[rank[Int(goldChunks[g].type)]] += 1
            g += 1
            p += 1
        } else if goldChunks[g] < predictedChunks[p] {
            g += 1
        } else {
            p += 1
        }
    }
    return counts
}

/// The distinct entities of one side, sorted.
private func chunks(of sentences: [[String]], side: SeqEvalError.Side, mode: EvaluationMode,
                    reader: inout TagReader) throws -> [Chunk] {
    var found: [Chunk] = []
    let outside = DefaultToken(prefix: "O", type: reader.outsideType)
    switch mode {
    case .default:
        var chunker = DefaultChunker()
        var position = 0
        for (sentenceIndex, sentence) in sentences.enumerated() {
            for (tokenIndex, tag) in sentence.enumerated() {
                guard let parsed = reader.parse(tag) else {
                    throw SeqEvalError.emptyTag(side: side, sentence: sentenceIndex, token: tokenIndex)
                }
                chunker.step(parsed.defaultToken, at: position) { found.append(Chunk(type: $0, start: $1, end: $2)) }
                position += 1
            }
            chunker.step(outside, at: position) { found.append(Chunk(type: $0, start: $1, end: $2)) }
            position += 1
        }
        chunker.step(outside, at: position) { found.append(Chunk(type: $0, start: $1, end: $2)) }

    case .strict(let scheme):
        let rules = StrictRules.seqeval(scheme)
        let allowed = scheme.allowedPrefixes
        var tokens: [StrictToken] = []
        var offset = 0
        for (sentenceIndex, sentence) in sentences.enumerated() {
            tokens.removeAll(keepingCapacity: true)
            for (tokenIndex, tag) in sentence.enumerated() {
                guard let parsed = reader.parse(tag) else {
                    throw SeqEvalError.emptyTag(side: side, sentence: sentenceIndex, token: tokenIndex)
                }
                guard let prefix = parsed.strictPrefix, allowed.contains(prefix) else {
                    throw SeqEvalError.invalidTag(tag, scheme: scheme, side: side,
                                                  sentence: sentenceIndex, token: tokenIndex)
                }
                tokens.append(StrictToken(prefix: prefix, type: parsed.strictType))
            }
            tokens.withUnsafeBufferPointer { buffer in
                rules.chunks(buffer, outsideType: reader.outsideType) { type, start, end in
                    found.append(Chunk(type: type, start: offset + start, end: offset + end))
                }
            }
            offset += sentence.count + 1
        }
    }
    found.sort()
    var unique = 0
    for chunk in found where unique == 0 || found[unique - 1] != chunk {
        found[unique] = chunk
        unique += 1
    }
    found.removeSubrange(unique...)
    return found
}

// MARK: - seqeval's arithmetic

/// `_prf_divide` with `zero_division='warn'`: a ratio with a zero denominator is 0.
@inline(__always)
private func ratio(_ numerator: Int, _ denominator: Int) -> Double {
    denominator == 0 ? 0 : Double(numerator) / Double(denominator)
}

/// F1 written as numpy evaluates `(1 + beta2) * precision * recall / denom` with beta 1, a zero
/// denominator replaced by 1.
@inline(__always)
private func fScore(_ precision: Double, _ recall: Double) -> Double {
    let denominator = precision + recall
    return 2.0 * precision * recall / (denominator == 0 ? 1 : denominator)
}

/// numpy's `add.reduce` on float64 (`pairwise_sum` in `loops_utils.h`): below 8 elements a plain
/// loop, up to 128 eight interleaved accumulators, above that halves summed recursively. The
/// order matters for the last bit of macro and weighted averages over 8 or more types.
func numpySum(_ values: ArraySlice<Double>) -> Double {
    let n = values.count
    let base = values.startIndex
    if n < 8 {
        var sum = -0.0
        for value in values { sum += value }
        return sum
    } else if n <= 128 {
        var r = (0..<8).map { values[base + $0] }
        var i = 8
        while i < n - n % 8 {
            for j in 0..<8 { r[j] += values[base + i + j] }
            i += 8
        }
        var sum = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
        while i < n {
            sum += values[base + i]
            i += 1
        }
        return sum
    } else {
        var half = n / 2
        half -= half % 8
        return numpySum(values.prefix(half)) + numpySum(values.dropFirst(half))
    }
}

extension EntityCounts {
    var perType: [Scores] {
        types.indices.map { index in
            let precision = ratio(truePositives[index], predicted[index])
            let recall = ratio(truePositives[index], gold[index])
            return Scores(precision: precision, recall: recall, f1Score: fScore(precision, recall),
                          support: gold[index])
        }
    }

    var goldTotal: Int { gold.reduce(0, +) }

    var microAverage: Scores {
        let precision = ratio(truePositives.reduce(0, +), predicted.reduce(0, +))
        let recall = ratio(truePositives.reduce(0, +), goldTotal)
        return Scores(precision: precision, recall: recall, f1Score: fScore(precision, recall), support: goldTotal)
    }

    /// The unweighted mean over types. With no types at all numpy's mean is NaN (and seqeval's
    /// text report fails on `max()` of nothing); it is 0 here, like the other averages then.
    func macroAverage(_ perType: [Scores]) -> Scores {
        guard !perType.isEmpty else { return Scores(precision: 0, recall: 0, f1Score: 0, support: 0) }
        let count = Double(perType.count)
        return Scores(precision: numpySum(perType.map(\.precision)[...]) / count,
                      recall: numpySum(perType.map(\.recall)[...]) / count,
                      f1Score: numpySum(perType.map(\.f1Score)[...]) / count,
                      support: goldTotal)
    }

    /// `np.average(..., weights=true_sum)`, and all zeros when there are no gold entities.
    func weightedAverage(_ perType: [Scores]) -> Scores {
        let total = goldTotal
        guard total > 0 else { return Scores(precision: 0, recall: 0, f1Score: 0, support: 0) }
        func average(_ value: KeyPath<Scores, Double>) -> Double {
            numpySum(perType.map { $0[keyPath: value] * Double($0.support) }[...]) / Double(total)
        }
        return Scores(precision: average(\.precision), recall: average(\.recall),
                      f1Score: average(\.f1Score), support: total)
    }
}

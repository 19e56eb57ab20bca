/// What to do with dev or test labels that training never saw (the model cannot predict them).
public enum UnseenLabelPolicy: String, Sendable, Codable, CaseIterable {
    /// Refuse the data, naming the labels and their lines.
    case error
    /// Score those words as `O` (outside any entity).
    case outside
    /// Leave out the sentences that hold them.
    case skip
}

/// The labels of a corpus that a label set lacks, and how many words and sentences hold them.
public struct UnseenLabels: Sendable, Equatable {
    /// Each unseen label with the line of its first occurrence, in file order.
    public var firstOccurrences: [Occurrence]
    /// Words carrying an unseen label, per label.
    public var wordCounts: [String: Int]
    /// Sentences holding at least one unseen label.
    public var sentenceCount: Int

    public struct Occurrence: Sendable, Equatable {
        public var label: String
        public var line: Int
    }

    public var isEmpty: Bool { firstOccurrences.isEmpty }
    public var wordCount: Int { wordCounts.values.reduce(0, +) }

    /// The unseen labels of `corpus`.
    public init(in corpus: Corpus, labels: LabelSet) {
        firstOccurrences = []
        wordCounts = [:]
        sentenceCount = 0
        for sentence in corpus.sentences {
            var hit = false
            for (index, label) in (sentence.labels ?? []).enumerated() where labels.id(of: label) == nil {
                hit = true
                if wordCounts[label] == nil { firstOccurrences.append(Occurrence(label: label, line: sentence.line(ofWord: index))) }
                wordCounts[label, default: 0] += 1
            }
            if hit { sentenceCount += 1 }
        }
    }

    /// One line for a log or report: what was found and what `policy` did with it.
    public func summary(policy: UnseenLabelPolicy) -> String {
        let list = firstOccurrences.prefix(8).map { "\($0.label) (\(wordCounts[$0.label]!))" }.joined(separator: ", ")
            + (firstOccurrences.count > 8 ? " and \(firstOccurrences.count - 8) more" : "")
        let words = "\(wordCount) word\(wordCount == 1 ? "" : "s")"
        let sentences = "\(sentenceCount) sentence\(sentenceCount == 1 ? "" : "s")"
        switch policy {
        case .error: return "labels never seen in training: \(list) on \(words) in \(sentences)"
        case .outside: return "labels never seen in training scored as O (--unseen-labels outside): \(list) on \(words) in \(sentences)"
        case .skip: return "\(sentences) left out for labels never seen in training (--unseen-labels skip): \(list) on \(words)"
        }
    }
}

extension Corpus {
    /// The corpus with every label outside `labels` handled by `policy`: relabelled `O` (in the labels and
    /// in the label column, so written predictions show what was scored), or its sentences left out.
    /// `.error` returns the corpus unchanged; the caller decides how to refuse it.
    public func handlingUnseenLabels(_ labels: LabelSet, policy: UnseenLabelPolicy,
                                     labelColumn: Int?) throws -> (corpus: Corpus, unseen: UnseenLabels) {
        let unseen = UnseenLabels(in: self, labels: labels)
        guard !unseen.isEmpty else { return (self, unseen) }
        var corpus = self
        switch policy {
        case .error:
            break
        case .outside:
            guard labels.id(of: "O") != nil else {
                throw DatasetError.invalidOptions("\(file): --unseen-labels outside scores unseen labels as O, but the training labels "
                    + "have no O (\(labels.labels.prefix(8).joined(separator: ", "))\(labels.count > 8 ? ", ..." : "")); use --unseen-labels skip, "
                    + "or check --label-column")
            }
            let column = try labelColumn.map { try resolveColumn($0, role: "label") }
            for index in corpus.sentences.indices {
                guard var sentenceLabels = corpus.sentences[index].labels else { continue }
                let width = corpus.sentences[index].columnCount
                for word in sentenceLabels.indices where labels.id(of: sentenceLabels[word]) == nil {
                    sentenceLabels[word] = "O"
                    if let column, column < width { corpus.sentences[index].columns[word * width + column] = "O" }
                }
                corpus.sentences[index].labels = sentenceLabels
            }
        case .skip:
            let keep = sentences.map { sentence in (sentence.labels ?? []).allSatisfy { labels.id(of: $0) != nil } }
            var newIndex = [Int?](repeating: nil, count: sentences.count)
            var kept: [Sentence] = []
            for (index, sentence) in sentences.enumerated() where keep[index] {
                newIndex[index] = kept.count
                kept.append(sentence)
            }
            guard !kept.isEmpty else {
                throw DatasetError.invalidOptions("\(file): every sentence holds a label training never saw, so --unseen-labels skip "
                    + "leaves nothing to score; check --label-column, or train on data with these labels")
            }
            corpus.sentences = kept
            corpus.layout = layout.compactMap { item in
                if case let .sentence(index) = item { return newIndex[index].map { .sentence($0) } }
                return item
            }
        }
        return (corpus, unseen)
    }
}

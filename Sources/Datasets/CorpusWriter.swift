import Foundation

/// Writes corpora back out with a predicted label per word, atomically.
public enum CorpusWriter {
    /// CoNLL text: every original column of every token line, then the predicted label as one
    /// more column, with the file's separator (tabs when a column holds a space); `-DOCSTART-`
    /// and blank lines where they were.
    /// `predictions` holds one label per word of every sentence, or nil to write the corpus as is.
    public static func conllData(_ corpus: Corpus, predictions: [[String]]?) throws -> Data {
        try checkShape(corpus, predictions)
        // Words from JSON Lines may hold spaces; only tabs keep such a column whole.
        let needsTabs = corpus.separator == .tab
            || corpus.sentences.contains { $0.columns.contains { $0.utf8.contains(UInt8(ascii: " ")) } }
            || (predictions ?? []).contains { $0.contains { $0.utf8.contains(UInt8(ascii: " ")) } }
        let separator = needsTabs ? "\t" : " "
        var text = ""
        text.reserveCapacity(corpus.wordCount * 24)

        func appendSentence(_ index: Int) {
            let sentence = corpus.sentences[index]
            let width = sentence.columnCount
            for word in 0..<sentence.words.count {
                for column in 0..<width {
                    if column > 0 { text += separator }
                    text += sentence.columns[word * width + column]
                }
                if let predictions {
                    text += separator
                    text += predictions[index][word]
                }
                text += "\n"
            }
        }

        if corpus.layout.isEmpty {
            var document: Int?
            for index in corpus.sentences.indices {
                let sentenceDocument = corpus.sentences[index].document
                if corpus.documentCount > 1 && sentenceDocument != document {
                    text += "-DOCSTART-\n\n"
                }
                document = sentenceDocument
                appendSentence(index)
                text += "\n"
            }
        } else {
            for item in corpus.layout {
                switch item {
                case let .documentStart(line): text += line + "\n"
                case .blankLine: text += "\n"
                case let .sentence(index): appendSentence(index)
                }
            }
        }
        return Data(text.utf8)
    }

    /// JSON Lines, one object a sentence: `tokens`, `tags` when the corpus has labels, and
    /// `predictions` when given.
    public static func jsonLinesData(_ corpus: Corpus, predictions: [[String]]?) throws -> Data {
        try checkShape(corpus, predictions)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        var data = Data()
        for (index, sentence) in corpus.sentences.enumerated() {
            data += Data("{\"tokens\": ".utf8) + (try encoder.encode(sentence.words))
            if let labels = sentence.labels {
                data += Data(", \"tags\": ".utf8) + (try encoder.encode(labels))
            }
            if let predictions {
                data += Data(", \"predictions\": ".utf8) + (try encoder.encode(predictions[index]))
            }
            data += Data("}\n".utf8)
        }
        return data
    }

    public static func writeCoNLL(_ corpus: Corpus, predictions: [[String]]?, to url: URL) throws {
        try writeAtomically(try conllData(corpus, predictions: predictions), to: url)
    }

    public static func writeJSONLines(_ corpus: Corpus, predictions: [[String]]?, to url: URL) throws {
        try writeAtomically(try jsonLinesData(corpus, predictions: predictions), to: url)
    }

    private static func checkShape(_ corpus: Corpus, _ predictions: [[String]]?) throws {
        guard let predictions else { return }
        guard predictions.count == corpus.sentences.count else {
            throw DatasetError.predictionShape(expected: corpus.sentences.count, found: predictions.count, what: "sentences")
        }
        for (sentence, predicted) in zip(corpus.sentences, predictions) where predicted.count != sentence.words.count {
            throw DatasetError.predictionShape(expected: sentence.words.count, found: predicted.count,
                                               what: "labels for the sentence at \(corpus.file):\(sentence.line)")
        }
    }
}

import Foundation
import Testing
@testable import Datasets

@Suite struct CorpusWriterTests {
    static let sample = "-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\n\nPeter NNP B-NP B-PER\n\n-DOCSTART- -X- -X- O\n\nBRUSSELS NNP B-NP B-LOC\n"

    func predictions(for corpus: Corpus) -> [[String]] {
        corpus.sentences.map { $0.words.map { $0.count > 4 ? "B-X" : "O" } }
    }

    @Test func conllAppendsAPredictedColumnAndKeepsTheLayout() throws {
        let corpus = try readCoNLL(Self.sample)
        let text = String(decoding: try CorpusWriter.conllData(corpus, predictions: predictions(for: corpus)), as: UTF8.self)
        #expect(text == "-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG O\nrejects VBZ B-VP O B-X\n\n\nPeter NNP B-NP B-PER B-X\n\n"
            + "-DOCSTART- -X- -X- O\n\nBRUSSELS NNP B-NP B-LOC B-X\n")
    }

    @Test func conllWithoutPredictionsReproducesANormalizedFile() throws {
        let corpus = try readCoNLL(Self.sample)
        #expect(String(decoding: try CorpusWriter.conllData(corpus, predictions: nil), as: UTF8.self) == Self.sample)
    }

    @Test func conllRoundTripKeepsTokensAndColumns() throws {
        let original = try readCoNLL(Self.sample)
        let predicted = predictions(for: original)
        let written = try CorpusWriter.conllData(original, predictions: predicted)
        let reread = try CoNLLReader(labelColumn: -2).read(data: written, file: "out.txt")
        #expect(reread.sentences.map(\.words) == original.sentences.map(\.words))
        #expect(reread.sentences.map(\.labels) == original.sentences.map(\.labels))
        #expect(reread.sentences.map(\.document) == original.sentences.map(\.document))
        #expect(reread.sentences.map(\.line) == original.sentences.map(\.line))
        #expect(reread.columnCount == original.columnCount + 1)
        for (a, b) in zip(original.sentences, reread.sentences) {
            for column in 0..<a.columnCount { #expect(a.column(column) == b.column(column)) }
        }
        #expect(reread.sentences.map { $0.column(4) } == predicted)
        #expect(reread.layout == original.layout)
    }

    @Test func conllRoundTripOfATabSeparatedFileKeepsTabs() throws {
        let original = try readCoNLL("New York\tB-LOC\nis\tO\n")
        let text = String(decoding: try CorpusWriter.conllData(original, predictions: [["B-LOC", "O"]]), as: UTF8.self)
        #expect(text == "New York\tB-LOC\tB-LOC\nis\tO\tO\n")
        #expect(try readCoNLL(text).sentences[0].words == ["New York", "is"])
    }

    @Test func conllFromACorpusWithoutLayoutSeparatesSentencesAndDocuments() throws {
        let corpus = Corpus(file: "x", sentences: [
            Sentence(words: ["a"], labels: ["O"], document: 0),
            Sentence(words: ["b", "c"], labels: ["B-PER", "I-PER"], document: 0),
            Sentence(words: ["d"], labels: ["O"], document: 1),
        ])
        let text = String(decoding: try CorpusWriter.conllData(corpus, predictions: nil), as: UTF8.self)
        #expect(text == "-DOCSTART-\n\na O\n\nb B-PER\nc I-PER\n\n-DOCSTART-\n\nd O\n\n")
        #expect(try readCoNLL(text).sentences.map(\.document) == [0, 0, 1])
    }

    @Test func wordsWithSpacesAreWrittenTabSeparated() throws {
        let corpus = try JSONLinesReader().read(data: Data(#"{"tokens": ["New York", "is"], "tags": ["B-LOC", "O"]}"#.utf8), file: "in.jsonl")
        let text = String(decoding: try CorpusWriter.conllData(corpus, predictions: [["B-LOC", "O"]]), as: UTF8.self)
        #expect(text == "New York\tB-LOC\tB-LOC\nis\tO\tO\n\n")
        #expect(try readCoNLL(text).sentences[0].words == ["New York", "is"])
    }

    @Test func jsonLinesRoundTripKeepsTokensTagsAndPredictions() throws {
        let original = try JSONLinesReader().read(data: Data("""
            {"tokens": ["Zürich", "a/b", "\\"q\\""], "tags": ["B-LOC", "O", "O"]}
            {"tokens": ["x"], "tags": ["O"]}
            """.utf8), file: "in.jsonl")
        let predicted = [["B-LOC", "B-MISC", "O"], ["I-PER"]]
        let data = try CorpusWriter.jsonLinesData(original, predictions: predicted)
        #expect(String(decoding: data, as: UTF8.self).hasPrefix(#"{"tokens": ["Zürich","a/b","\"q\""], "tags": ["B-LOC","O","O"], "predictions": ["B-LOC","B-MISC","O"]}"#))
        let reread = try JSONLinesReader().read(data: data, file: "out.jsonl")
        #expect(reread.sentences.map(\.words) == original.sentences.map(\.words))
        #expect(reread.sentences.map(\.labels) == original.sentences.map(\.labels))
        let predictionsBack = try JSONLinesReader(tagsKey: "predictions").read(data: data, file: "out.jsonl")
        #expect(predictionsBack.sentences.map(\.labels) == predicted)
    }

    @Test func predictionsOfTheWrongShapeAreRejected() throws {
        let corpus = try readCoNLL(Self.sample)
        #expect(datasetError { _ = try CorpusWriter.conllData(corpus, predictions: [["O"]]) }
            == .predictionShape(expected: 3, found: 1, what: "sentences"))
        #expect(datasetError { _ = try CorpusWriter.jsonLinesData(corpus, predictions: [["O"], ["O"], ["O"]]) }
            == .predictionShape(expected: 2, found: 1, what: "labels for the sentence at sample.txt:3"))
    }

    @Test func writesAtomicallyReplacingAnExistingFileAndLeavingNoTemporaryFile() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("predictions.txt")
        try Data("old".utf8).write(to: url)
        let corpus = try readCoNLL(Self.sample)
        try CorpusWriter.writeCoNLL(corpus, predictions: predictions(for: corpus), to: url)
        #expect(try CoNLLReader().read(contentsOf: url).sentences.count == 3)
        try CorpusWriter.writeJSONLines(corpus, predictions: nil, to: folder.appendingPathComponent("p.jsonl"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() == ["p.jsonl", "predictions.txt"])
    }

    @Test func writingIntoAMissingFolderNamesTheFile() throws {
        let corpus = try readCoNLL(Self.sample)
        let url = URL(fileURLWithPath: "/nonexistent-folder/out.txt")
        guard case let .unwritable(file, _) = datasetError({ try CorpusWriter.writeCoNLL(corpus, predictions: nil, to: url) }) else {
            Issue.record("expected .unwritable")
            return
        }
        #expect(file == url.path)
    }
}

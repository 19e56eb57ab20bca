import Foundation
import Testing
@testable import Datasets

@Suite struct CorpusFormatTests {
    @Test func theExtensionChoosesTheFormat() {
        #expect(CorpusFormat(path: "train.jsonl") == .jsonl)
        #expect(CorpusFormat(path: "dir/train.JSONL") == .jsonl)
        #expect(CorpusFormat(path: "train.ndjson") == .jsonl)
        #expect(CorpusFormat(path: "train.json") == .jsonl, "HuggingFace's to_json writes JSON Lines")
        #expect(CorpusFormat(path: "train.txt") == .conll)
        #expect(CorpusFormat(path: "train.conll") == .conll)
        #expect(CorpusReading(format: .conll).format(of: "x.jsonl") == .conll)
    }

    @Test func jsonLinesReadAsCoNLLIsAnErrorNamingTheFix() {
        // Every line splits into the same four "columns"; read as CoNLL it would train on `["B-LOC"]}`.
        let text = #"{"tokens": ["Paris"], "tags": ["B-LOC"]}"# + "\n" + #"{"tokens": ["Rome"], "tags": ["B-LOC"]}"# + "\n"
        let error = datasetError { _ = try CorpusReading(format: .conll).read(data: Data(text.utf8), file: "train.txt") }
        guard case let .formatMismatch(file, line, readAs, _, fix) = error else {
            Issue.record("expected .formatMismatch, got \(String(describing: error))")
            return
        }
        #expect(file == "train.txt" && line == 1 && readAs == "CoNLL columns")
        #expect(fix.contains("--input-format jsonl"))
        #expect(error!.description.hasPrefix("train.txt:1: read as CoNLL columns, but found a JSON object"))
    }

    @Test func coNLLReadAsJSONLinesIsAnErrorNamingTheFix() {
        let error = datasetError { _ = try CorpusReading().read(data: Data("-DOCSTART- O\n\nEU B-ORG\n".utf8), file: "train.jsonl") }
        guard case let .formatMismatch(_, line, readAs, _, fix) = error else {
            Issue.record("expected .formatMismatch, got \(String(describing: error))")
            return
        }
        #expect(line == 1 && readAs == "JSON Lines")
        #expect(fix.contains("--input-format conll"))
    }

    @Test func aBrokenJSONRecordReadAsCoNLLIsStillRefused() {
        let text = #"{"tokens": ["Paris", "is"], "tags": ["B-LOC", "O"],}"# + "\n"
        let error = datasetError { _ = try CorpusReading(format: .conll).read(data: Data(text.utf8), file: "train.txt") }
        #expect(error?.description.contains("--input-format jsonl") == true, "\(String(describing: error))")
    }

    @Test func aWholeFileJSONArrayIsAnErrorSayingHowToConvertIt() {
        let text = "[\n" + #"{"tokens": ["a"], "tags": ["O"]}"# + "\n]\n"
        let error = datasetError { _ = try CorpusReading().read(data: Data(text.utf8), file: "train.json") }
        #expect(error?.description.contains("jq -c '.[]'") == true, "\(String(describing: error))")
    }

    @Test func columnOptionsForJSONLinesAreErrorsNamingTheTagField() {
        let text = #"{"tokens": ["a"], "tags": ["O"], "pos_tags": ["DT"]}"#
        let error = datasetError { _ = try CorpusReading(labelColumn: 1).read(data: Data(text.utf8), file: "t.jsonl") }
        #expect(error?.description.contains("--tag-field") == true)
    }

    @Test func jsonLinesOptionsForCoNLLAreErrorsNamingTheLabelColumn() throws {
        let text = "EU NNP B-ORG\nrejects VBZ O\n"
        for reading in [CorpusReading(tagField: "pos_tags"), CorpusReading(labelNames: ["O", "B-ORG"]),
                        CorpusReading(labelColumn: nil, tagField: "tags", tagsOptional: true)] {
            let error = datasetError { _ = try reading.read(data: Data(text.utf8), file: "t.txt") }
            guard case let .invalidOptions(message) = error else {
                Issue.record("expected .invalidOptions, got \(String(describing: error))")
                continue
            }
            #expect(message.hasPrefix("t.txt: --tag-field and --label-names apply to JSON Lines; this file is read as CoNLL columns"), "\(message)")
            #expect(message.contains("--label-column") && message.contains("--input-format jsonl"), "\(message)")
        }
        // Without them, the same file reads.
        #expect(try CorpusReading().read(data: Data(text.utf8), file: "t.txt").sentences.count == 1)
    }

    @Test func aBrokenJSONRecordIsStillAJSONError() {
        let error = datasetError { _ = try CorpusReading().read(data: Data(#"{"tokens": ["a"]"#.utf8), file: "x.jsonl") }
        #expect(error == .invalidJSON(file: "x.jsonl", line: 1, key: nil, problem: "not valid JSON"))
    }

    @Test func huggingFaceRecordsWithIntegerNerTagsAreReadThroughLabelNames() throws {
        let text = #"{"id": "0", "tokens": ["EU", "rejects", "German"], "pos_tags": [22, 42, 16], "ner_tags": [3, 0, 7]}"#
        let names = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]
        let corpus = try CorpusReading(labelNames: names).read(data: Data(text.utf8), file: "train.jsonl")
        #expect(corpus.sentences[0].labels == ["B-ORG", "O", "B-MISC"])
        let pos = try CorpusReading(tagField: "pos_tags", labelNames: (0..<50).map { "P\($0)" }).read(data: Data(text.utf8), file: "t.jsonl")
        #expect(pos.sentences[0].labels == ["P22", "P42", "P16"])
    }

    @Test func stringTagsThatLabelNamesDoesNotListAreAnErrorNotReadAsLabels() throws {
        // Integers exported as strings would otherwise train on the labels "0", "3", ...
        let digits = #"{"tokens": ["EU", "rejects"], "ner_tags": ["3", "0"]}"#
        let error = datasetError { _ = try CorpusReading(labelNames: ["O", "B-PER", "I-PER", "B-ORG"]).read(data: Data(digits.utf8), file: "t.jsonl") }
        let message = try #require(error?.description)
        #expect(message.hasPrefix(#"t.jsonl:1: key "ner_tags": tag "3" is a string that --label-names does not list"#), "\(message)")
        #expect(message.contains("integer"))
        // String tags that are among the names read as they are (a dev file with names, a train file with ids).
        let named = #"{"tokens": ["EU", "rejects"], "ner_tags": ["B-ORG", "O"]}"#
        let corpus = try CorpusReading(labelNames: ["O", "B-ORG"]).read(data: Data(named.utf8), file: "t.jsonl")
        #expect(corpus.sentences[0].labels == ["B-ORG", "O"])
    }

    @Test func integerTagsWithoutLabelNamesNameTheOption() {
        let error = datasetError { _ = try CorpusReading().read(data: Data(#"{"tokens": ["a"], "ner_tags": [0]}"#.utf8), file: "t.jsonl") }
        #expect(error?.description.contains("--label-names") == true)
        #expect(error?.description.hasPrefix("t.jsonl:1: key \"ner_tags\"") == true)
    }

    @Test func recordsWithoutATagFieldListTheirArraysAndNameTheOption() {
        let error = datasetError {
            _ = try CorpusReading().read(data: Data(#"{"tokens": ["a"], "labels": ["O"], "id": 3}"#.utf8), file: "t.jsonl")
        }
        let message = error?.description ?? ""
        #expect(message.contains("\"tags\" or \"ner_tags\""))
        #expect(message.contains("\"labels\""))
        #expect(message.contains("--tag-field"))
    }

    @Test func optionalTagsAreKeptWhenTheRecordsHaveThem() throws {
        let reading = CorpusReading(labelColumn: nil, tagsOptional: true)
        let tagged = try reading.read(data: Data(#"{"tokens": ["a", "b"], "tags": ["B-X", "O"]}"#.utf8), file: "t.jsonl")
        #expect(tagged.sentences[0].labels == ["B-X", "O"])
        #expect(tagged.columnCount == 2)
        let bare = try reading.read(data: Data(#"{"tokens": ["a", "b"]}"#.utf8), file: "t.jsonl")
        #expect(bare.sentences[0].labels == nil)
        #expect(bare.columnCount == 1)
    }

    @Test func extraFieldsBecomeColumnsAfterTheTags() throws {
        let text = #"{"tokens": ["a", "b"], "tags": ["B-X", "O"], "predictions": ["O", "O"]}"#
        let corpus = try CorpusReading(extraFields: ["predictions"]).read(data: Data(text.utf8), file: "t.jsonl")
        #expect(corpus.columnCount == 3)
        #expect(try corpus.sentences[0].column(corpus.resolveColumn(-2, role: "gold")) == ["B-X", "O"])
        #expect(try corpus.sentences[0].column(corpus.resolveColumn(-1, role: "predicted")) == ["O", "O"])
        let missing = datasetError { _ = try CorpusReading(extraFields: ["predictions"]).read(data: Data(#"{"tokens": ["a"], "tags": ["O"]}"#.utf8), file: "t.jsonl") }
        #expect(missing == .invalidJSON(file: "t.jsonl", line: 1, key: "predictions", problem: "missing; every record needs one value per token"))
    }

    @Test func aDirectoryIsAnErrorNamingIt() throws {
        let folder = try temporaryFolder()
        let error = datasetError { _ = try CorpusReading().read(folder.path) }
        #expect(error == .unreadable(file: folder.path, reason: "it is a directory; give the corpus file inside it"))
    }
}

@Suite struct LabelNamesTests {
    @Test func aCommaSeparatedListIsTheLabelsInOrder() throws {
        #expect(try LabelNames.parse("O, B-PER,I-PER") == ["O", "B-PER", "I-PER"])
    }

    @Test func filesOfEveryKindGiveTheLabels() throws {
        let folder = try temporaryFolder()
        let files: [(String, String)] = [
            ("array.json", #"["O", "B-PER"]"#),
            ("labels.json", #"{"labels": ["O", "B-PER"]}"#),
            ("config.json", #"{"id2label": {"1": "B-PER", "0": "O"}}"#),
            ("labels.txt", "O\nB-PER\n\n"),
            ("dataset_info.json", #"{"features": {"tokens": {"feature": {"dtype": "string"}}, "ner_tags": {"feature": {"names": ["O", "B-PER"], "_type": "ClassLabel"}, "_type": "Sequence"}}}"#),
        ]
        for (name, text) in files {
            let url = folder.appendingPathComponent(name)
            try Data(text.utf8).write(to: url)
            #expect(try LabelNames.parse(url.path) == ["O", "B-PER"], "\(name)")
        }
    }

    @Test func datasetInfoFollowsTheTagField() throws {
        let url = try temporaryFolder().appendingPathComponent("dataset_info.json")
        try Data(#"{"features": {"pos_tags": {"feature": {"names": ["NN", "VB"]}}, "ner_tags": {"feature": {"names": ["O"]}}}}"#.utf8).write(to: url)
        #expect(try LabelNames.parse(url.path, tagField: "pos_tags") == ["NN", "VB"])
        let error = datasetError { _ = try LabelNames.parse(url.path, tagField: "chunk_tags") }
        #expect(error?.description.contains("ner_tags, pos_tags") == true)
    }

    @Test func badListsAreErrorsNamingTheOption() {
        #expect(datasetError { _ = try LabelNames.parse("O,B-PER,O") } == .invalidLabelNames(source: "O,B-PER,O", problem: "\"O\" appears twice; each integer tag needs its own label"))
        #expect(datasetError { _ = try LabelNames.parse("O,,B-PER") } == .invalidLabelNames(source: "O,,B-PER", problem: "label 1 is empty"))
        let missing = datasetError { _ = try LabelNames.parse("/nonexistent/labels.json") }
        #expect(missing == .invalidLabelNames(source: "/nonexistent/labels.json", problem: "no such file"))
        #expect(missing?.description.hasPrefix("--label-names /nonexistent/labels.json: no such file.") == true)
    }
}

@Suite struct UnseenLabelsTests {
    static let labels = try! LabelSet(["O", "B-PER", "I-PER"])
    static let dev = """
        -DOCSTART- O

        Peter B-PER
        Paris B-LOC

        he O

        Rome B-LOC
        Milan B-CITY

        """

    @Test func unseenLabelsAreCountedWithTheirFirstLines() throws {
        let unseen = UnseenLabels(in: try readCoNLL(Self.dev), labels: Self.labels)
        #expect(unseen.firstOccurrences == [.init(label: "B-LOC", line: 4), .init(label: "B-CITY", line: 9)])
        #expect(unseen.wordCounts == ["B-LOC": 2, "B-CITY": 1])
        #expect(unseen.sentenceCount == 2)
        #expect(unseen.summary(policy: .outside).contains("B-LOC (2), B-CITY (1) on 3 words in 2 sentences"))
    }

    @Test func outsideScoresUnseenLabelsAsOInLabelsAndColumns() throws {
        let (corpus, unseen) = try readCoNLL(Self.dev).handlingUnseenLabels(Self.labels, policy: .outside, labelColumn: -1)
        #expect(unseen.wordCount == 3)
        #expect(corpus.sentences.map(\.labels) == [["B-PER", "O"], ["O"], ["O", "O"]])
        #expect(corpus.sentences[0].columns == ["Peter", "B-PER", "Paris", "O"])
    }

    @Test func skipLeavesOutTheSentencesAndKeepsTheLayoutConsistent() throws {
        let (corpus, unseen) = try readCoNLL(Self.dev).handlingUnseenLabels(Self.labels, policy: .skip, labelColumn: -1)
        #expect(unseen.sentenceCount == 2)
        #expect(corpus.sentences.map(\.words) == [["he"]])
        let written = String(decoding: try CorpusWriter.conllData(corpus, predictions: [["O"]]), as: UTF8.self)
        #expect(written.contains("he O O\n"))
        #expect(!written.contains("Peter"))
    }

    @Test func outsideWithoutAnOLabelIsAnErrorNamingTheOtherChoice() throws {
        let pos = try LabelSet(["NN", "VB"])
        let error = datasetError { _ = try readCoNLL("a NN\nb JJ\n").handlingUnseenLabels(pos, policy: .outside, labelColumn: -1) }
        #expect(error?.description.contains("--unseen-labels skip") == true)
    }

    @Test func skippingEverySentenceIsAnError() throws {
        let error = datasetError { _ = try readCoNLL("a B-LOC\n").handlingUnseenLabels(Self.labels, policy: .skip, labelColumn: -1) }
        #expect(error?.description.contains("leaves nothing to score") == true)
    }
}

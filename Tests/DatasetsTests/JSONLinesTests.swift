import Foundation
import Testing
@testable import Datasets

@Suite struct JSONLinesReaderTests {
    func read(_ text: String, reader: JSONLinesReader = JSONLinesReader(), file: String = "data.jsonl") throws -> Corpus {
        try reader.read(data: Data(text.utf8), file: file)
    }

    @Test func readsStringTagsAndRecordLines() throws {
        let text = """
            {"tokens": ["EU", "rejects"], "tags": ["B-ORG", "O"], "id": "0"}

            {"tokens": ["Peter"], "tags": ["B-PER"]}
            """
        let corpus = try read(text)
        #expect(corpus.sentences.map(\.words) == [["EU", "rejects"], ["Peter"]])
        #expect(corpus.sentences.map(\.labels) == [["B-ORG", "O"], ["B-PER"]])
        #expect(corpus.sentences.map(\.line) == [1, 3])
        #expect(corpus.documentCount == 1)
        #expect(corpus.columnCount == 2)
    }

    @Test func readsIntegerTagsThroughALabelList() throws {
        let reader = JSONLinesReader(tagsKey: "ner_tags", labelNames: ["O", "B-PER", "I-PER"])
        let corpus = try read(#"{"tokens": ["Peter", "Blackburn", "said"], "ner_tags": [1, 2, 0]}"#, reader: reader)
        #expect(corpus.sentences[0].labels == ["B-PER", "I-PER", "O"])
    }

    @Test func readsWordsOnlyWithoutATagsKey() throws {
        let corpus = try read(#"{"tokens": ["a", "b"]}"#, reader: JSONLinesReader(tagsKey: nil))
        #expect(corpus.sentences[0].labels == nil)
        #expect(corpus.columnCount == 1)
    }

    @Test func integerTagsWithoutALabelListNameTheKey() throws {
        let error = datasetError { _ = try read("\n" + #"{"tokens": ["a"], "tags": [1]}"#) }
        #expect(error == .invalidJSON(file: "data.jsonl", line: 2, key: "tags",
                                      problem: "integer tags need the label list they index; pass them in id order with --label-names FILE or --label-names O,B-PER,I-PER"))
        #expect(error?.description.hasPrefix("data.jsonl:2: key \"tags\": integer tags need the label list") == true)
    }

    @Test func anIntegerTagOutsideTheLabelListIsAnError() throws {
        let reader = JSONLinesReader(labelNames: ["O", "B-PER"])
        let error = datasetError { _ = try read(#"{"tokens": ["a", "b"], "tags": [0, 2]}"#, reader: reader) }
        #expect(error == .tagIndexOutOfRange(file: "data.jsonl", line: 1, key: "tags", index: 2, labelCount: 2))
    }

    @Test(arguments: [
        (#"{"tokens": ["a"], "tags": ["O"]"#, nil as String?),
        (#"["a", "b"]"#, nil),
        (#"{"words": ["a"], "tags": ["O"]}"#, "tokens"),
        (#"{"tokens": "a b", "tags": ["O"]}"#, "tokens"),
        (#"{"tokens": [], "tags": []}"#, "tokens"),
        (#"{"tokens": ["a"]}"#, "tags"),
        (#"{"tokens": ["a"], "tags": [true]}"#, "tags"),
        (#"{"tokens": ["a"], "tags": [0.5]}"#, "tags"),
        (#"{"tokens": ["a", "b"], "tags": ["O"]}"#, "tags"),
    ])
    func malformedRecordsNameTheLineAndKey(record: String, key: String?) throws {
        let error = datasetError { _ = try read(#"{"tokens": ["ok"], "tags": ["O"]}"# + "\n" + record + "\n") }
        guard case let .invalidJSON(file, line, foundKey, _) = error else {
            Issue.record("expected .invalidJSON, got \(String(describing: error))")
            return
        }
        #expect(file == "data.jsonl")
        #expect(line == 2)
        #expect(foundKey == key)
        #expect(error!.description.hasPrefix("data.jsonl:2: " + (key.map { "key \"\($0)\"" } ?? "")))
    }

    @Test func validatesTagsAgainstAScheme() throws {
        _ = try read(#"{"tokens": ["a", "b"], "tags": ["B-PER", "E-PER"]}"#, reader: JSONLinesReader(scheme: .iobes))
        let bad = datasetError { _ = try read(#"{"tokens": ["a"], "tags": ["U-PER"]}"#, reader: JSONLinesReader(scheme: .iobes)) }
        #expect(bad == .invalidTag(file: "data.jsonl", line: 1, tag: "U-PER", scheme: "IOBES"))
    }

    @Test func anEmptyFileIsAnError() throws {
        #expect(datasetError { _ = try read("\n\n") } == .noSentences(file: "data.jsonl"))
    }

    @Test func invalidUTF8NamesTheLine() throws {
        let data = Data(#"{"tokens": ["a"], "tags": ["O"]}"#.utf8) + Data([0x0A, 0x7B, 0xFF, 0x7D, 0x0A])
        #expect(datasetError { _ = try JSONLinesReader().read(data: data, file: "x.jsonl") } == .invalidUTF8(file: "x.jsonl", line: 2))
    }
}

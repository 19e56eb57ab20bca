import Foundation
import Testing
@testable import Datasets

@Suite struct LabelSetTests {
    @Test func ordersOFirstThenByTypeThenByPrefix() throws {
        let labels = LabelSet(collecting: [["I-PER", "B-PER", "O", "I-ORG"], ["B-MISC", "S-LOC", "E-LOC", "B-LOC", "I-LOC", "U-ORG", "L-ORG"]])
        #expect(labels.labels == ["O", "B-LOC", "I-LOC", "E-LOC", "S-LOC", "B-MISC", "I-ORG", "L-ORG", "U-ORG", "B-PER", "I-PER"])
    }

    @Test func orderDoesNotDependOnTheOrderLabelsAreMet() throws {
        let a = LabelSet(collecting: [["B-PER", "O", "B-LOC"], ["I-LOC"]])
        let b = LabelSet(collecting: [["I-LOC", "B-LOC"], ["O", "B-PER"]])
        #expect(a == b)
    }

    @Test func typesMayContainHyphens() throws {
        let labels = LabelSet(collecting: [["B-creative-work", "I-creative-work", "B-corporation", "O"]])
        #expect(labels.labels == ["O", "B-corporation", "B-creative-work", "I-creative-work"])
        #expect(LabelSet.continuationLabel(of: "B-creative-work") == "I-creative-work")
    }

    @Test func labelsWithoutASchemePrefixSortAsTheirOwnType() throws {
        let labels = LabelSet(collecting: [["NNP", "VBZ", "(", "NN", "PRP$", "B-NP"]])
        #expect(labels.labels == ["(", "NN", "NNP", "B-NP", "PRP$", "VBZ"])
        #expect(!labels.labels.contains("O"))
    }

    @Test func continuationLabelIsInsideTheSameTypeWhateverThePrefix() throws {
        #expect(["B-PER", "I-PER", "E-PER", "S-PER", "L-PER", "U-PER", "O", "NNP", "X-PER"].map(LabelSet.continuationLabel(of:))
            == ["I-PER", "I-PER", "I-PER", "I-PER", "I-PER", "I-PER", "O", "NNP", "X-PER"])
    }

    @Test func continuationIDsFallBackToTheLabelItselfWhenItsInsideFormIsMissing() throws {
        let labels = try LabelSet(["O", "B-PER", "I-PER", "B-LOC"])
        #expect(labels.continuationIDs == [0, 2, 2, 3])
        let completed = LabelSet(collecting: [["O", "B-LOC", "S-ORG"]], includingContinuations: true)
        #expect(completed.labels == ["O", "B-LOC", "I-LOC", "I-ORG", "S-ORG"])
    }

    @Test func mapsBothWays() throws {
        let labels = try LabelSet(["O", "B-PER", "I-PER"])
        #expect(labels.id2label == [0: "O", 1: "B-PER", 2: "I-PER"])
        #expect(labels.label2id == ["O": 0, "B-PER": 1, "I-PER": 2])
        #expect(labels.id(of: "I-PER") == 2)
        #expect(labels.id(of: "B-LOC") == nil)
        #expect(labels.label(for: 1) == "B-PER")
        #expect(labels.count == 3)
    }

    @Test func anUnknownLabelNamesItselfAndWhereItWasSeen() throws {
        let labels = try LabelSet(["O", "B-PER"])
        let dev = try readCoNLL("a O\n\nb O\nc B-LOC\n", file: "dev.txt")
        let error = datasetError { try labels.validate(dev) }
        #expect(error == .unknownLabel(label: "B-LOC", file: "dev.txt", line: 4, known: ["O", "B-PER"]))
        #expect(error?.description.hasPrefix("dev.txt:4: label \"B-LOC\" is not in the label set (O, B-PER).") == true)
    }

    @Test func duplicateLabelsAreRejected() throws {
        #expect(datasetError { _ = try LabelSet(["O", "B-PER", "O"]) } != nil)
    }

    @Test func savesAndLoadsTheSameOrder() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("labels.json")
        let labels = try LabelSet(["O", "B-PER", "I-PER", "B-creative-work"])
        try labels.save(to: url)
        #expect(try LabelSet.load(from: url) == labels)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: [String]]
        #expect(json == ["labels": ["O", "B-PER", "I-PER", "B-creative-work"]])
    }

    @Test func loadsAPlainArrayAndAHuggingFaceConfig() throws {
        #expect(try LabelSet.decode(Data(#"["O", "B-X"]"#.utf8), file: "a.json").labels == ["O", "B-X"])
        let config = #"{"model_type": "bert", "id2label": {"1": "B-PER", "0": "O", "2": "I-PER"}}"#
        #expect(try LabelSet.decode(Data(config.utf8), file: "config.json").labels == ["O", "B-PER", "I-PER"])
    }

    @Test(arguments: ["not json", "42", #"{"labels": [1, 2]}"#, #"{"names": []}"#, #"{"id2label": {"0": "O", "2": "B"}}"#])
    func malformedLabelFilesNameTheFile(text: String) throws {
        guard case let .invalidLabelFile(file, _) = datasetError({ _ = try LabelSet.decode(Data(text.utf8), file: "labels.json") }) else {
            Issue.record("expected .invalidLabelFile")
            return
        }
        #expect(file == "labels.json")
    }
}

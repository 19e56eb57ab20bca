import Testing
import SeqEval

private func spans(_ tags: String, _ mode: EvaluationMode = .default) -> [String] {
    entities(in: tags.split(separator: " ").map(String.init), mode: mode).map(\.description)
}

@Suite("default mode (conlleval-compatible)")
struct DefaultModeTests {
    @Test func iAfterOStartsAnEntityInDefaultMode() {
        #expect(spans("O I-PER I-PER O") == ["PER[1..<3]"])
        #expect(spans("I-LOC") == ["LOC[0..<1]"])
    }

    @Test func typeChangeEndsAnEntityInDefaultMode() {
        #expect(spans("B-PER I-PER I-LOC I-LOC") == ["PER[0..<2]", "LOC[2..<4]"])
    }

    @Test func bStartsAnEntityEvenAfterTheSameType() {
        #expect(spans("B-PER I-PER B-PER") == ["PER[0..<2]", "PER[2..<3]"])
    }

    @Test func endAndSingleTagsCloseEntitiesInDefaultMode() {
        #expect(spans("B-ORG E-ORG E-ORG S-LOC I-LOC") == ["ORG[0..<2]", "ORG[2..<3]", "LOC[3..<4]", "LOC[4..<5]"])
    }

    @Test func hyphenatedTypesKeepTheirHyphens() {
        #expect(spans("B-creative-work I-creative-work O") == ["creative-work[0..<2]"])
        #expect(spans("B-creative-work I-creative-work O", .strict(.iob2)) == ["creative-work[0..<2]"])
        let tag = Tag(parsing: "B-creative-work")
        #expect(tag.prefix == "B" && tag.type == "creative-work")
        #expect(tag.description == "B-creative-work")
        #expect(Tag(parsing: "O") == Tag(prefix: "O", type: nil))
    }

    @Test func lastUnitTagsStartEntitiesByTypeChangeOnlyInDefaultMode() {
        // seqeval's default mode knows B, I, E, S; an L- or U- tag opens an entity only because
        // its type differs from the token before, and closes at the next type change.
        #expect(spans("U-PER L-PER O") == ["PER[0..<2]"])
        #expect(spans("B-PER L-PER U-PER O") == ["PER[0..<3]"])
    }

    @Test func tagsWithoutHyphenAreReadAsSeqevalReadsThem() {
        // The first character is the prefix, the rest the type.
        #expect(spans("BPER IPER O") == ["PER[0..<2]"])
        // A bare B has the type "_".
        #expect(spans("B I O") == ["_[0..<2]"])
    }

    @Test func unknownPrefixesCanYieldOverlappingEntitiesAsInSeqeval() {
        // get_entities(['B-PER', 'O-PER', 'x-PER', 'O']) == [('PER', 0, 0), ('PER', 0, 2)]
        #expect(spans("B-PER O-PER x-PER O") == ["PER[0..<1]", "PER[0..<3]"])
    }

    @Test func chunksOfUntypedTagsCanCrossSentencesAsInSeqeval() throws {
        // seqeval reads a list of lists as one sequence with O after each sentence. An X chunk
        // (type "_") is not closed by O, and a later X does not restart it, so it ends only at the
        // next sentence's B-LOC, with its start wherever the last chunk started:
        // get_entities([['B-PER', 'X'], ['X', 'B-LOC']]) == [('PER', 0, 0), ('_', 1, 3), ('LOC', 4, 4)]
        // get_entities([['B-PER', 'O'], ['X', 'B-LOC']]) == [('PER', 0, 0), ('_', 0, 3), ('LOC', 4, 4)]
        let report = try classificationReport(gold: [["B-PER", "X"], ["X", "B-LOC"]],
                                              predicted: [["B-PER", "O"], ["X", "B-LOC"]])
        #expect(report.types["_"] == Scores(precision: 0, recall: 0, f1Score: 0, support: 1))
        #expect(report.microAverage.f1Score == 0.6666666666666666)
        // Read alone, the second sentence has its own "_" chunk, the same on both sides.
        #expect(spans("X B-LOC") == ["_[0..<1]", "LOC[1..<2]"])
    }

    @Test func sentencesAreScoredAsSeqevalScoresAListOfLists() throws {
        // Each sentence is followed by O, so an entity ending a sentence is closed there and an
        // I- opening the next sentence starts a new one.
        let gold = [["O", "B-PER"], ["I-PER", "O"]]
        let report = try classificationReport(gold: gold, predicted: gold)
        #expect(report.types["PER"]?.support == 2)
    }
}

import Testing
import SeqEval

private func tags(_ text: String) -> [String] { text.split(separator: " ").map(String.init) }

private func spans(_ text: String, _ scheme: TaggingScheme) -> [String] {
    scheme.entities(in: tags(text)).map(\.description)
}

@Suite("strict mode (seqeval's schemes)")
struct StrictModeTests {
    @Test func strictIOB2DropsIAfterO() {
        #expect(spans("O I-PER I-PER O", .iob2) == [])
        #expect(spans("O B-PER I-PER O", .iob2) == ["PER[1..<3]"])
    }

    @Test func strictIOB2EndsAnEntityAtATypeChangeAndDropsTheRest() {
        #expect(spans("B-PER I-LOC I-LOC", .iob2) == ["PER[0..<1]"])
    }

    @Test func strictIOBESDropsLoneBAndUnclosedEntities() {
        #expect(spans("B-PER O", .iobes) == [])
        #expect(spans("B-PER I-PER O S-LOC", .iobes) == ["LOC[3..<4]"])
        #expect(spans("B-PER I-PER E-PER", .iobes) == ["PER[0..<3]"])
    }

    @Test func strictBILOUNeedsLastOrUnit() {
        #expect(spans("B-ORG L-ORG U-ORG B-ORG I-ORG", .bilou) == ["ORG[0..<2]", "ORG[2..<3]"])
    }

    @Test func strictIOB1StartsWithIAndUsesBBetweenSameTypes() {
        #expect(spans("I-PER I-PER B-PER O", .iob1) == ["PER[0..<2]", "PER[2..<3]"])
        // B after O is ill-formed in IOB1 and is dropped; seqeval then starts an entity at the
        // I- that follows the B.
        #expect(spans("O B-PER I-PER", .iob1) == ["PER[2..<3]"])
    }

    @Test func strictIOE2NeedsEOnTheLastToken() {
        #expect(spans("I-LOC E-LOC E-LOC I-LOC", .ioe2) == ["LOC[0..<2]", "LOC[2..<3]"])
    }

    @Test func strictIOE1DropsAOneTokenEBetweenEntitiesAsSeqevalDoes() {
        // seqeval 1.2.2: Tokens(['E-PER', 'I-PER'], IOE1).entities == [(PER, 1, 2)]
        #expect(spans("E-PER I-PER", .ioe1) == ["PER[1..<2]"])
        #expect(spans("I-PER E-PER I-PER", .ioe1) == ["PER[0..<2]", "PER[2..<3]"])
        // Conversion reads the same tags without losing the first entity.
        #expect(convert(tags("E-PER I-PER"), from: .ioe1, to: .iob2) == ["B-PER", "B-PER"])
    }

    @Test func strictTypesHaveOuterHyphensStripped() {
        // seqeval's Token strips every leading and trailing '-' of the type.
        #expect(spans("B--x- I-x", .iob2) == ["x[0..<2]"])
    }

    @Test func strictModeRejectsPrefixesOutsideTheScheme() {
        #expect(throws: SeqEvalError.invalidTag("E-PER", scheme: .iob2, side: .predicted, sentence: 1, token: 0)) {
            try classificationReport(gold: [["O"], ["B-PER"]], predicted: [["O"], ["E-PER"]], mode: .strict(.iob2))
        }
        #expect(throws: SeqEvalError.self) {
            try classificationReport(gold: [["X-PER"]], predicted: [["O"]], mode: .strict(.iobes))
        }
        // The default mode reads anything.
        #expect(throws: Never.self) {
            try classificationReport(gold: [["X-PER"]], predicted: [["E-PER"]])
        }
    }

    @Test func defaultAndStrictModesScoreIllFormedPredictionsDifferently() throws {
        // The example from seqeval's README.
        let gold = [["B-NP", "I-NP", "O"]]
        let predicted = [["I-NP", "I-NP", "O"]]
        #expect(try f1Score(gold: gold, predicted: predicted) == 1.0)
        #expect(try f1Score(gold: gold, predicted: predicted, mode: .strict(.iob2)) == 0.0)
    }

    @Test func schemesKnowTheirPrefixesAndValidTags() {
        #expect(TaggingScheme.bilou.prefixes == ["B", "I", "L", "O", "U"])
        #expect(TaggingScheme.iob2.prefixes == ["B", "I", "O"])
        #expect(TaggingScheme.iobes.isValid("S-creative-work"))
        #expect(TaggingScheme.iob2.isValid("O"))
        #expect(!TaggingScheme.iob2.isValid("S-PER"))
        #expect(!TaggingScheme.iob2.isValid("B-"))
        #expect(!TaggingScheme.iob2.isValid("BPER"))
        #expect(!TaggingScheme.iob2.isValid("O-PER"))
        #expect(!TaggingScheme.iob2.isValid(""))
        #expect(TaggingScheme(rawValue: "IOBES") == .iobes)
    }
}

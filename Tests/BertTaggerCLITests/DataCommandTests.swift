import Foundation
import Testing

/// The default encoder, when this checkout has it (Scripts/setup.sh fetches it).
let defaultModel: String? = {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let model = root.appendingPathComponent("models/all-MiniLM-L6-v2")
    return FileManager.default.fileExists(atPath: model.appendingPathComponent("config.json").path) ? model.path : nil
}()

@Suite struct DataCommandTests {
    static let corpus = """
        -DOCSTART- -X- O

        EU NNP B-ORG
        rejects VBZ O
        German JJ B-MISC
        call NN O

        Peter NNP B-PER
        Blackburn NNP I-PER
        \u{200B} XX O

        -DOCSTART- -X- O

        BRUSSELS NNP I-LOC

        """

    @Test func countsSentencesDocumentsTokensAndEntities() throws {
        let result = try Binary.run(["data", "stats", try temporaryFile(Self.corpus)])
        #expect(result.status == 0, "\(result.stderr)")
        for line in ["  sentences                   3", "  documents                   2", "  tokens                      8",
                     "  LOC                         1", "  MISC                        1", "  total                       4"] {
            #expect(result.stdout.contains(line + "\n"), "missing \(line)")
        }
        #expect(!result.stdout.contains("sub-word"))
    }

    @Test func jsonCarriesTheSameCountsAndALabelColumnCanBeChosen() throws {
        let result = try Binary.run(["data", "stats", try temporaryFile(Self.corpus), "--json", "--label-column", "1"])
        #expect(result.status == 0, "\(result.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(object["sentences"] as? Int == 3)
        #expect(object["tokens"] as? Int == 8)
        #expect((object["labels"] as? [String: Int])?["NNP"] == 4)
        #expect((object["sentence_words"] as? [String: Any])?["max"] as? Int == 4)
    }

    @Test func aLabelColumnForAJSONLinesFileIsOneLineWithoutTheUsageText() throws {
        let file = try temporaryFile(#"{"tokens": ["EU"], "ner_tags": ["B-ORG"]}"# + "\n", name: "train.jsonl")
        let result = try Binary.run(["data", "stats", file, "--label-column", "1"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("--label-column chooses a CoNLL column; \(file) is read as JSON Lines"), "\(result.stderr)")
        #expect(!result.stderr.contains("Usage:") && result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
    }

    @Test func aOneColumnFileHasNoEntities() throws {
        let result = try Binary.run(["data", "stats", try temporaryFile("a\nb\n\nc\n"), "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(object["entities"] == nil)
        #expect(object["sentences"] as? Int == 2)
    }

    @Test(.enabled(if: defaultModel != nil, "models/all-MiniLM-L6-v2 is missing; run Scripts/setup.sh"))
    func measuresSubwordLengthsWithTheModelsTokenizer() throws {
        let file = try temporaryFile(Self.corpus)
        let result = try Binary.run(["data", "stats", file, "--model", defaultModel!, "--max-length", "5", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        // The zero-width space has no piece and is fed as [UNK].
        #expect(object["words_without_pieces"] as? Int == 1)
        #expect(object["max_length"] as? Int == 5)
        // Every word here is one piece: [CLS] eu rejects german call [SEP] is the longest, [CLS] brussels [SEP] the shortest.
        let tokens = try #require(object["sentence_tokens"] as? [String: Any])
        #expect(tokens["min"] as? Int == 3)
        #expect(tokens["max"] as? Int == 6)
        #expect(object["sentences_over_max_length"] as? Int == 1)
        #expect(object["windows"] as? Int == 4)

        let text = try Binary.run(["data", "stats", file, "--model", defaultModel!])
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.contains("  over 512 tokens             0 sentences (3 model inputs after splitting into windows)"))
        #expect(text.stdout.contains("  words without pieces        1 (each fed as one [UNK])"))
    }

    @Test func maxLengthWithoutAModelIsRejected() throws {
        let result = try Binary.run(["data", "stats", try temporaryFile(Self.corpus), "--max-length", "128"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("--max-length counts sub-word tokens, so it needs --model."))
    }

    @Test func aModelFolderWithoutConfigIsAnErrorNamingTheFile() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("cli-model-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let result = try Binary.run(["data", "stats", try temporaryFile(Self.corpus), "--model", folder.path])
        #expect(result.status != 0)
        #expect(result.stderr.contains(folder.path))
    }
}

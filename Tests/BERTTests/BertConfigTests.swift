import Foundation
import Testing
@testable import BERT

@Suite struct BertConfigTests {
    @Test func decodesHuggingFaceKeysAndKeepsUnknownOnes() throws {
        let json = """
        {"hidden_size": 384, "num_hidden_layers": 6, "num_attention_heads": 12, "intermediate_size": 1536,
         "hidden_act": "gelu", "layer_norm_eps": 1e-12, "vocab_size": 30522, "gradient_checkpointing": false,
         "id2label": {"0": "O", "1": "B-PER"}, "label2id": {"O": 0, "B-PER": 1}}
        """
        let config = try JSONDecoder().decode(BertConfig.self, from: Data(json.utf8))
        #expect(config.hiddenSize == 384)
        #expect(config.headSize == 32)
        #expect(config.maxPositionEmbeddings == 512)  // default
        #expect(config.id2label == [0: "O", 1: "B-PER"])
        #expect(config.extra["gradient_checkpointing"] == .bool(false))
        let again = try JSONDecoder().decode(BertConfig.self, from: JSONEncoder().encode(config))
        #expect(again == config)
    }

    @Test func rejectsHiddenSizeNotDivisibleByHeads() throws {
        let config = BertConfig(hiddenSize: 100, numAttentionHeads: 12)
        #expect(throws: BertConfigError.self) { try config.validate(path: "config.json") }
    }

    @Test func wrongTypeNamesTheKey() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("bad-config-\(UUID()).json")
        try Data(#"{"hidden_size": "wide"}"#.utf8).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        do {
            _ = try BertConfig.load(from: url)
            Issue.record("expected an error")
        } catch let error as BertConfigError {
            #expect(error.description.contains("hidden_size"))
            #expect(error.description.contains(url.path))
        }
    }
}

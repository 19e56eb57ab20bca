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

/// Every field a model relies on is checked when config.json is read: out of range, the error names the
/// file, the field and the allowed range, instead of a crash (or silently zeroed attention) later.
@Suite struct BertConfigRangeTests {
    static func loadError(_ json: String) throws -> String? {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("config-range-\(UUID()).json")
        try Data(json.utf8).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        do {
            _ = try BertConfig.load(from: url)
            return nil
        } catch let error as BertConfigError {
            #expect(error.description.hasPrefix(url.path + ": "), "the error names the file: \(error)")
            return error.description
        }
    }

    @Test(arguments: [
        (#"{"hidden_dropout_prob": 1.0}"#, "hidden_dropout_prob", "0 ≤ p < 1"),
        (#"{"hidden_dropout_prob": -0.1}"#, "hidden_dropout_prob", "0 ≤ p < 1"),
        (#"{"attention_probs_dropout_prob": 1}"#, "attention_probs_dropout_prob", "0 ≤ p < 1"),
        (#"{"classifier_dropout": 1.5}"#, "classifier_dropout", "0 ≤ p < 1"),
        (#"{"layer_norm_eps": 0}"#, "layer_norm_eps", "positive finite"),
        (#"{"layer_norm_eps": -1e-12}"#, "layer_norm_eps", "positive finite"),
        (#"{"initializer_range": -0.02}"#, "initializer_range", "at least 0"),
        (#"{"vocab_size": 0}"#, "vocab_size", "from 1 to 16777216"),
        (#"{"vocab_size": 100000000000}"#, "vocab_size", "from 1 to 16777216"),
        (#"{"hidden_size": -768}"#, "hidden_size", "from 1 to 65536"),
        (#"{"num_hidden_layers": 0}"#, "num_hidden_layers", "from 1 to 1024"),
        (#"{"num_attention_heads": 0}"#, "num_attention_heads", "from 1 to 65536"),
        (#"{"intermediate_size": 0}"#, "intermediate_size", "from 1 to 1048576"),
        (#"{"max_position_embeddings": 0}"#, "max_position_embeddings", "from 1 to 1048576"),
        (#"{"type_vocab_size": 0}"#, "type_vocab_size", "from 1 to 65536"),
        (#"{"hidden_size": 100, "num_attention_heads": 12}"#, "num_attention_heads", "not a multiple"),
        (#"{"pad_token_id": 30522}"#, "pad_token_id", "from 0 to vocab_size - 1 (30521)"),
        (#"{"hidden_act": "swish"}"#, "hidden_act", #""gelu", "gelu_new", "gelu_pytorch_tanh", "relu""#),
    ])
    func outOfRangeFieldIsRefusedNamingFieldAndRange(json: String, field: String, range: String) throws {
        let message = try #require(try Self.loadError(json), "\(json) was accepted")
        #expect(message.contains(field), "\(message)")
        #expect(message.contains(range), "\(message)")
    }

    @Test func boundaryValuesAreAccepted() throws {
        #expect(try Self.loadError(#"{"hidden_dropout_prob": 0, "attention_probs_dropout_prob": 0.999, "classifier_dropout": null,"#
                                   + #" "initializer_range": 0, "pad_token_id": 30521, "hidden_act": "relu"}"#) == nil)
    }
}

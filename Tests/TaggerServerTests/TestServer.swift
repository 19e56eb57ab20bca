import AsyncHTTPClient
import BERT
import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import Tagger
@testable import TaggerServer

/// A tiny random `BertForTokenClassification` (hidden 16, 2 layers, 64 positions) over a small vocab.txt, as the
/// Tagger tests make it: it knows nothing, but its labels vary from word to word, which is all serving needs.
enum TestModel {
    static let labels = ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]
    static let vocabulary: [String] = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
        + ["my", "name", "is", "don", "qui", "##x", "##ote", "and", "i", "live", "in", "la", "man", "##cha",
           "paris", "cafe", "au", "lait", "zurich", "the", "city", "of", "tokyo", "went", "to", "he", "she", "said"]
        + [".", ",", "!", "?", "'", "(", ")", ";", ":", "-", "<", ">", "/"]

    static let directory: URL = {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("server-tests-\(UUID().uuidString)")
        let config = BertConfig(vocabSize: vocabulary.count, hiddenSize: 16, numHiddenLayers: 2, numAttentionHeads: 2,
                                intermediateSize: 37, maxPositionEmbeddings: 64, architectures: ["BertForTokenClassification"])
        let model = BertForTokenClassification(config: config, numLabels: labels.count, maxTokens: 64, seed: 5)
        let weight = model.layout.entry(named: "classifier.weight")!
        for i in weight.range { model.parameters[i] *= 60 }
        try! Checkpoint.save(model, labels: labels, to: directory, tokenizerSource: nil)
        try! (vocabulary.joined(separator: "\n") + "\n")
            .write(to: directory.appendingPathComponent("vocab.txt"), atomically: true, encoding: .utf8)
        try! #"{"do_lower_case": true, "model_max_length": 64}"#
            .write(to: directory.appendingPathComponent("tokenizer_config.json"), atomically: true, encoding: .utf8)
        return directory
    }()

    static let tagger: Tagger = try! Tagger(directory: directory, batchTokens: 256, concurrency: 1)

    static let sentences = [
        "my name is don quixote and i live in la mancha.",
        "she went to paris, the city of cafe au lait!",
        "he said: tokyo (and zurich) ...",
        "i live in la mancha",
        "the city of tokyo",
        "don quixote went to zurich; she went to paris.",
    ]
}

/// An answer as the client saw it.
struct Answer {
    var status: Int
    var headers: [String: String]
    var body: String

    func decoded<T: Decodable>(_ type: T.Type) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(body.utf8))
    }

    /// The message of a `{"error": "..."}` body, or nil when the body is not one.
    var error: String? { (try? decoded(ErrorResponse.self))?.error }
}

/// The real server on a loopback port the system picks, called over HTTP.
struct TestServer {
    let port: Int

    var base: String { "http://127.0.0.1:\(port)" }

    enum Method: String { case GET, POST, DELETE }

    func call(_ method: Method, _ path: String, body: String? = nil, contentType: String = "application/json",
              timeout: TimeAmount = .seconds(60)) async throws -> Answer {
        var request = HTTPClientRequest(url: base + path)
        request.method = .init(rawValue: method.rawValue)
        if let body {
            request.headers.add(name: "Content-Type", value: contentType)
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: timeout)
        let bytes = try await response.body.collect(upTo: 16 << 20)
        var headers: [String: String] = [:]
        for header in response.headers { headers[header.name.lowercased()] = header.value }
        return Answer(status: Int(response.status.code), headers: headers, body: String(buffer: bytes))
    }

    func post(_ path: String, json: some Encodable) async throws -> Answer {
        try await call(.POST, path, body: String(decoding: try JSONEncoder().encode(json), as: UTF8.self))
    }

    /// Runs `body` against a fresh server with `options` (its port replaced by 0), then stops the server
    /// gracefully and waits for it to return.
    static func with(_ options: ServerOptions = ServerOptions(), tagger: Tagger = TestModel.tagger,
                     _ body: @Sendable (TestServer, ServiceGroup) async throws -> Void) async throws {
        var options = options
        options.host = "127.0.0.1"
        options.port = 0
        var logger = Logger(label: "test-server")
        logger.logLevel = .warning
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let app = try buildApplication(tagger: tagger, options: options, logger: logger) { port in
            portContinuation.yield(port)
        }
        let group = ServiceGroup(services: [app], gracefulShutdownSignals: [], logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else { throw TestFailure("the server never reported its port") }
            do {
                try await body(TestServer(port: port), group)
            } catch {
                await group.triggerGracefulShutdown()
                try? await tasks.waitForAll()
                throw error
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Equal labels, spans and texts; scores equal to 1e-5 (a batch's matrix products may round differently from
/// a lone text's).
func sameEntities(_ a: [EntityBody], _ b: [EntityBody]) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { x, y in
        x.type == y.type && x.start == y.start && x.end == y.end && x.text == y.text && abs(x.score - y.score) < 1e-5
    }
}

func sameTags(_ a: [WordTagBody], _ b: [WordTagBody]) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { x, y in
        x.word == y.word && x.label == y.label && abs(x.probability - y.probability) < 1e-5
    }
}

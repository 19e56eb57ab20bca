import Foundation
import Testing
@testable import TaggerServer

@Suite("Bad requests get one JSON error with the right status, and the server keeps serving")
struct ErrorTests {
    static let limits = ServerOptions(maxBodyBytes: 2000, maxTextLength: 100, maxTexts: 4, maxWords: 10)

    /// `answer` is an error with `status` whose message contains every one of `words`.
    func expectError(_ answer: Answer, _ status: Int, _ words: String..., sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(answer.status == status, "\(answer.body)", sourceLocation: sourceLocation)
        #expect(answer.headers["content-type"]?.hasPrefix("application/json") == true, sourceLocation: sourceLocation)
        guard let message = answer.error else {
            Issue.record("not an {\"error\": ...} body: \(answer.body)", sourceLocation: sourceLocation)
            return
        }
        for word in words {
            #expect(message.contains(word), "\(message)", sourceLocation: sourceLocation)
        }
    }

    @Test func malformedJSONIs400() async throws {
        try await TestServer.with(Self.limits) { server, _ in
            expectError(try await server.call(.POST, "/v1/entities", body: #"{"text": "paris""#), 400, "not valid JSON")
            expectError(try await server.call(.POST, "/v1/tags", body: "words=paris"), 400, "not valid JSON")
            expectError(try await server.call(.POST, "/v1/entities", body: ""), 400, "empty")
            #expect(try await server.call(.GET, "/healthz").status == 200)
        }
    }

    @Test func wrongFieldTypesAre422NamingTheField() async throws {
        try await TestServer.with(Self.limits) { server, _ in
            expectError(try await server.call(.POST, "/v1/entities", body: #"{"text": 5}"#), 422, #"field "text""#, "a string")
            expectError(try await server.call(.POST, "/v1/entities", body: #"{"texts": ["a", 7]}"#), 422, #"field "texts[1]""#)
            expectError(try await server.call(.POST, "/v1/tags", body: #"{"words": "paris"}"#), 422, #"field "words""#)
            expectError(try await server.call(.POST, "/v1/tags", body: #"{"sentences": [["a"], null]}"#), 422, #""sentences[1]""#, "null")
            expectError(try await server.call(.POST, "/v1/entities", body: #"["paris"]"#), 422, "the body")
        }
    }

    @Test func missingOrDoubledFieldsAre422() async throws {
        try await TestServer.with(Self.limits) { server, _ in
            expectError(try await server.call(.POST, "/v1/entities", body: "{}"), 422, #""text""#, #""texts""#)
            expectError(try await server.call(.POST, "/v1/entities", body: #"{"text": "a", "texts": ["b"]}"#), 422, "not both")
            expectError(try await server.call(.POST, "/v1/tags", body: #"{"sentence": ["a"]}"#), 422, #""words""#)
            expectError(try await server.call(.POST, "/v1/tags", body: #"{"words": []}"#), 422, "words is empty")
            expectError(try await server.call(.POST, "/v1/tags", body: #"{"sentences": [["a"], ["b", " "]]}"#), 422, "sentences[1][1]")
        }
    }

    @Test func overLimitRequestsAre413NamingTheOption() async throws {
        try await TestServer.with(Self.limits) { server, _ in
            let big = #"{"text": ""# + String(repeating: "a ", count: 1500) + #""}"#
            expectError(try await server.call(.POST, "/v1/entities", body: big), 413, "2000 bytes", "--max-body-bytes")
            let long = String(repeating: "paris ", count: 20)
            expectError(try await server.post("/v1/entities", json: EntitiesRequest(text: long)), 413, "text has 120 characters", "--max-text-length")
            expectError(try await server.post("/v1/entities", json: EntitiesRequest(texts: ["a", long])), 413, "texts[1]")
            expectError(try await server.post("/v1/entities", json: EntitiesRequest(texts: Array(repeating: "a", count: 5))), 413, "5 items", "--max-texts")
            expectError(try await server.post("/v1/tags", json: TagsRequest(sentences: [Array(repeating: "a", count: 6), Array(repeating: "b", count: 6)])),
                        413, "12 words", "--max-words")
            #expect(try await server.post("/v1/entities", json: EntitiesRequest(text: "paris")).status == 200)
        }
    }

    @Test func unknownRouteIs404ListingTheRoutes() async throws {
        try await TestServer.with(Self.limits) { server, _ in
            expectError(try await server.call(.GET, "/v2/entities"), 404, "/v2/entities", "POST /v1/entities")
            expectError(try await server.call(.POST, "/v1/entities/extra", body: "{}"), 404, "no such route")
        }
    }

    @Test func wrongMethodIs405WithAllow() async throws {
        try await TestServer.with(Self.limits) { server, _ in
            let get = try await server.call(.GET, "/v1/entities")
            expectError(get, 405, "GET /v1/entities", "POST")
            #expect(get.headers["allow"] == "POST")
            let post = try await server.call(.POST, "/healthz", body: "{}")
            expectError(post, 405, "use GET")
            #expect(post.headers["allow"] == "GET")
            expectError(try await server.call(.DELETE, "/v1/tags"), 405, "DELETE")
        }
    }

    @Test func optionsThatLeaveNoRoomAreRefused() throws {
        #expect(throws: ServerOptionError.self) { try ServerOptions(maxTexts: 0).validate() }
        #expect(throws: ServerOptionError.self) { try ServerOptions(port: 70000).validate() }
        #expect(throws: ServerOptionError.self) { try ServerOptions(batchWaitMilliseconds: -1).validate() }
        do {
            try ServerOptions(maxBodyBytes: 3).validate()
            Issue.record("a 3-byte body limit was accepted")
        } catch {
            #expect("\(error)".contains("--max-body-bytes 3"))
        }
    }
}

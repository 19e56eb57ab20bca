import AsyncHTTPClient
import Foundation
import Tagger
import Testing
@testable import TaggerServer

@Suite("Routes answer over real HTTP")
struct RoutesTests {
    @Test func healthzAnswersOK() async throws {
        try await TestServer.with { server, _ in
            let answer = try await server.call(.GET, "/healthz")
            #expect(answer.status == 200)
            #expect(answer.body == #"{"status":"ok"}"#)
            #expect(answer.headers["content-type"]?.hasPrefix("application/json") == true)
        }
    }

    @Test func modelDescribesLabelsSchemeDecodingAndEncoder() async throws {
        try await TestServer.with { server, _ in
            let answer = try await server.call(.GET, "/v1/model")
            #expect(answer.status == 200)
            let model = try answer.decoded(ModelResponse.self)
            #expect(model.labels == TestModel.labels)
            #expect(model.scheme == "IOB2")
            #expect(model.decoding == "viterbi")
            #expect(model.aggregation == "first")
            #expect(model.maxLength == 64)
            #expect(model.encoder.layers == 2 && model.encoder.hiddenSize == 16 && model.encoder.heads == 2)
            #expect(model.encoder.vocabularySize == TestModel.vocabulary.count)
        }
    }

    @Test func entitiesOfOneTextEqualTheTaggers() async throws {
        let text = TestModel.sentences[0]
        let expected = try TestModel.tagger.tag(text: text).entities.map(EntityBody.init)
        #expect(!expected.isEmpty, "the tiny model finds entities in this text, so the comparison means something")
        try await TestServer.with { server, _ in
            let answer = try await server.post("/v1/entities", json: EntitiesRequest(text: text))
            #expect(answer.status == 200, "\(answer.body)")
            let entities = try answer.decoded(EntitiesResponse.self).entities
            #expect(sameEntities(entities, expected), "\(entities) vs \(expected)")
            for entity in entities {
                #expect(slice(text, entity.start..<entity.end) == entity.text)
            }
        }
    }

    @Test func entitiesOfSeveralTextsComeInInputOrder() async throws {
        let texts = TestModel.sentences
        let expected = try texts.map { try TestModel.tagger.tag(text: $0).entities.map(EntityBody.init) }
        try await TestServer.with { server, _ in
            let answer = try await server.post("/v1/entities", json: EntitiesRequest(texts: texts))
            #expect(answer.status == 200, "\(answer.body)")
            let results = try answer.decoded(EntitiesBatchResponse.self).results
            #expect(results.count == texts.count)
            for (result, want) in zip(results, expected) {
                #expect(sameEntities(result.entities, want), "\(result.entities) vs \(want)")
            }
        }
    }

    @Test func emptyAndBlankTextsHaveNoEntities() async throws {
        try await TestServer.with { server, _ in
            let answer = try await server.post("/v1/entities", json: EntitiesRequest(texts: ["", "  \n", "paris"]))
            #expect(answer.status == 200, "\(answer.body)")
            let results = try answer.decoded(EntitiesBatchResponse.self).results
            #expect(results.count == 3)
            #expect(results[0].entities.isEmpty && results[1].entities.isEmpty)
        }
    }

    @Test func tagsGiveALabelAndProbabilityPerWord() async throws {
        let words = ["my", "name", "is", "don", "quixote", "."]
        let expected = try TestModel.tagger.tag(words: words)
        try await TestServer.with { server, _ in
            let answer = try await server.post("/v1/tags", json: TagsRequest(words: words))
            #expect(answer.status == 200, "\(answer.body)")
            let tags = try answer.decoded(TagsResponse.self).tags
            #expect(tags.map(\.word) == words)
            #expect(sameTags(tags, TagsResponse(expected).tags), "\(tags)")
            #expect(tags.allSatisfy { TestModel.labels.contains($0.label) && $0.probability > 0 && $0.probability <= 1 })
        }
    }

    @Test func tagsOfSeveralSentencesComeInInputOrder() async throws {
        let sentences = [["i", "live", "in", "paris"], ["tokyo"], ["she", "said", "la", "mancha", "!"]]
        let expected = try sentences.map { TagsResponse(try TestModel.tagger.tag(words: $0)) }
        try await TestServer.with { server, _ in
            let answer = try await server.post("/v1/tags", json: TagsRequest(sentences: sentences))
            #expect(answer.status == 200, "\(answer.body)")
            let results = try answer.decoded(TagsBatchResponse.self).results
            #expect(results.count == 3)
            for (result, want) in zip(results, expected) {
                #expect(sameTags(result.tags, want.tags), "\(result.tags) vs \(want.tags)")
            }
        }
    }

    @Test func metricsCountRequestsByRouteAndStatusAndBatches() async throws {
        try await TestServer.with { server, _ in
            _ = try await server.post("/v1/entities", json: EntitiesRequest(text: "paris"))
            _ = try await server.call(.POST, "/v1/entities", body: "{")
            _ = try await server.call(.GET, "/nowhere")
            let answer = try await server.call(.GET, "/metrics")
            #expect(answer.status == 200)
            #expect(answer.headers["content-type"]?.hasPrefix("text/plain") == true)
            let text = answer.body
            #expect(text.contains(#"http_requests_total{method="POST",route="/v1/entities",status="200"} 1"#), "\(text)")
            #expect(text.contains(#"http_requests_total{method="POST",route="/v1/entities",status="400"} 1"#), "\(text)")
            #expect(text.contains(#"http_requests_total{method="GET",route="unmatched",status="404"} 1"#), "\(text)")
            #expect(text.contains(#"http_request_duration_seconds_bucket{route="/v1/entities",le="+Inf"} 2"#), "\(text)")
            #expect(text.contains("tagger_batch_requests_count 1"), "\(text)")
            #expect(text.contains("tagger_tokens_total 3"), "[CLS] paris [SEP]: \(text)")
            #expect(text.contains("tagger_tokens_per_second "), "\(text)")
        }
    }

    @Test func pageIsOneSelfContainedDocumentCallingTheAPI() async throws {
        try await TestServer.with { server, _ in
            let answer = try await server.call(.GET, "/")
            #expect(answer.status == 200)
            #expect(answer.headers["content-type"] == "text/html; charset=utf-8")
            #expect(answer.headers["content-security-policy"]?.contains("default-src 'none'") == true)
            let html = answer.body
            #expect(html.contains("<textarea") && html.contains("v1/entities") && html.contains("id=\"legend\""))
            #expect(!html.contains("http://") && !html.contains("https://") && !html.contains(" src="),
                    "no external assets")
            #expect(!html.contains("innerHTML"), "text reaches the page only as DOM text")
        }
    }
}

/// The scalars `range` of `text`, as Python's `text[start:end]`.
func slice(_ text: String, _ range: Range<Int>) -> String {
    let scalars = Array(text.unicodeScalars)
    var view = String.UnicodeScalarView()
    view.append(contentsOf: scalars[range])
    return String(view)
}

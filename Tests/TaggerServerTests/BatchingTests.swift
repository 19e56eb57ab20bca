import Foundation
import ServiceLifecycle
import Tagger
import Testing
@testable import TaggerServer

@Suite("Concurrent requests are packed into batches; stopping finishes what is in flight")
struct BatchingTests {
    @Test func aBurstOfConcurrentRequestsGetsTheOneByOneAnswersInFewerBatches() async throws {
        let texts = (0..<24).map { TestModel.sentences[$0 % TestModel.sentences.count] + String(repeating: " paris", count: $0 % 5) }
        try await TestServer.with(ServerOptions(batchTokens: 4096, batchWaitMilliseconds: 50)) { server, _ in
            var oneByOne: [[EntityBody]] = []
            for text in texts {
                let answer = try await server.post("/v1/entities", json: EntitiesRequest(text: text))
                #expect(answer.status == 200)
                oneByOne.append(try answer.decoded(EntitiesResponse.self).entities)
            }
            let together = try await withThrowingTaskGroup(of: (Int, Answer).self) { group in
                for (index, text) in texts.enumerated() {
                    group.addTask { (index, try await server.post("/v1/entities", json: EntitiesRequest(text: text))) }
                }
                var answers = [Answer?](repeating: nil, count: texts.count)
                for try await (index, answer) in group { answers[index] = answer }
                return answers.map { $0! }
            }
            for (index, answer) in together.enumerated() {
                #expect(answer.status == 200, "\(answer.body)")
                let entities = try answer.decoded(EntitiesResponse.self).entities
                #expect(sameEntities(entities, oneByOne[index]), "text \(index): \(entities) vs \(oneByOne[index])")
            }
            let metrics = try await server.call(.GET, "/metrics").body
            let batches = try #require(Self.value(of: "tagger_batch_requests_count", in: metrics))
            #expect(batches < Double(2 * texts.count), "the burst of \(texts.count) was packed: \(batches) batches in all")
            #expect(Self.value(of: "tagger_batch_requests_sum", in: metrics) == Double(2 * texts.count))
        }
    }

    @Test func mixedTextAndWordRequestsInOneBatchGetTheirOwnAnswers() async throws {
        let tagger = TestModel.tagger
        let inputs: [TaggingQueue.Input] = [
            .texts(["i live in paris", "tokyo"]), .sentences([["she", "went", "to", "zurich"], ["la", "mancha"]]),
            .texts(["the city of tokyo"]), .sentences([["don", "quixote"]]),
        ]
        let results = TaggingQueue.tagTogether(inputs, tagger: tagger)
        #expect(try zip(results[0].get(), tagger.tag(texts: ["i live in paris", "tokyo"])).allSatisfy {
            sameEntities($0.entities.map(EntityBody.init), $1.entities.map(EntityBody.init))
        })
        let alone = try tagger.tag(corpus: TaggingQueue.corpus([[["she", "went", "to", "zurich"], ["la", "mancha"]]]))
        #expect(try zip(results[1].get(), alone).allSatisfy { sameTags(TagsResponse($0).tags, TagsResponse($1).tags) })
        #expect(try results[1].get().count == 2)
        #expect(try sameEntities(results[2].get()[0].entities.map(EntityBody.init),
                                 tagger.tag(text: "the city of tokyo").entities.map(EntityBody.init)))
        #expect(try sameTags(TagsResponse(results[3].get()[0]).tags, TagsResponse(tagger.tag(words: ["don", "quixote"])).tags))
    }

    @Test func gracefulStopFinishesRequestsInFlight() async throws {
        // A long wait keeps the requests queued when the stop comes.
        let options = ServerOptions(batchTokens: 100_000, batchWaitMilliseconds: 700)
        let expected = try TestModel.sentences.map { try TestModel.tagger.tag(text: $0).entities.map(EntityBody.init) }
        try await TestServer.with(options) { server, group in
            try await withThrowingTaskGroup(of: (Int, Answer).self) { tasks in
                for (index, text) in TestModel.sentences.enumerated() {
                    tasks.addTask { (index, try await server.post("/v1/entities", json: EntitiesRequest(text: text))) }
                }
                try await Task.sleep(for: .milliseconds(250))
                let stop = ContinuousClock.now
                await group.triggerGracefulShutdown()
                var answered = 0
                for try await (index, answer) in tasks {
                    #expect(answer.status == 200, "\(answer.body)")
                    #expect(sameEntities(try answer.decoded(EntitiesResponse.self).entities, expected[index]))
                    answered += 1
                }
                #expect(answered == TestModel.sentences.count)
                #expect(ContinuousClock.now - stop < .seconds(10), "the queued requests were tagged at once, not left to time out")
            }
            // Stopped: the port no longer answers.
            try await Task.sleep(for: .milliseconds(200))
            // (The client retries a refused connection until its deadline: keep that short.)
            await #expect(throws: (any Error).self) { _ = try await server.call(.GET, "/healthz", timeout: .seconds(2)) }
        }
    }

    /// The value of an unlabelled sample in Prometheus text.
    static func value(of name: String, in text: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(name + " ") {
            return Double(line.dropFirst(name.count + 1))
        }
        return nil
    }
}

@Suite("A request the model cannot take fails alone")
struct FailingRequestTests {
    /// Windows of 16 tokens: a word of 16 pieces does not fit.
    static let shortWindows = try! Tagger(directory: TestModel.directory, settings: TaggingSettings(maxLength: 16),
                                          batchTokens: 256, concurrency: 1)
    static let longWord = "man" + String(repeating: "cha", count: 15)

    @Test func aWordTooLongForAWindowFailsOnlyItsOwnRequestInABatch() throws {
        let results = TaggingQueue.tagTogether([.texts(["i live in paris"]), .texts(["she said " + Self.longWord]),
                                                .texts(["tokyo"])], tagger: Self.shortWindows)
        #expect(try results[0].get().count == 1)
        #expect(try results[2].get().count == 1)
        #expect(throws: TaggerError.self) { try results[1].get() }
    }

    @Test func aWordTooLongForAWindowIs422NamingTheWord() async throws {
        try await TestServer.with(tagger: Self.shortWindows) { server, _ in
            let answer = try await server.post("/v1/entities", json: EntitiesRequest(texts: ["tokyo", "she said " + Self.longWord]))
            #expect(answer.status == 422, "\(answer.body)")
            #expect(answer.error?.contains("text 2, offset 9") == true, "\(answer.body)")
            #expect(answer.error?.contains("max_length") == true, "\(answer.body)")
            #expect(try await server.post("/v1/entities", json: EntitiesRequest(text: "tokyo")).status == 200)
        }
    }
}

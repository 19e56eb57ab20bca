import Foundation
import Hummingbird
import Tagger

/// The handlers, one per route.
struct TaggingAPI: Sendable {
    let tagger: Tagger
    let queue: TaggingQueue
    let options: ServerOptions
    let metricsStore: ServerMetrics
    /// The page at `/`, made once: the model's entity types (labels without their scheme prefix) fix its colours.
    let pageHTML: String

    init(tagger: Tagger, queue: TaggingQueue, options: ServerOptions, metrics: ServerMetrics) {
        self.tagger = tagger
        self.queue = queue
        self.options = options
        metricsStore = metrics
        let types = Set(tagger.labels.labels.filter { $0 != "O" }.map { label -> String in
            guard let dash = label.firstIndex(of: "-"), label.distance(from: label.startIndex, to: dash) == 1 else { return label }
            return String(label[label.index(after: dash)...])
        })
        pageHTML = TaggerPage.html(types: types.sorted())
    }

    static let routes: [String: [HTTPRequest.Method]] = [
        "/": [.get], "/healthz": [.get], "/metrics": [.get], "/v1/model": [.get],
        "/v1/entities": [.post], "/v1/tags": [.post],
    ]

    // MARK: - Routes

    @Sendable func page(_ request: Request, context: some RequestContext) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/html; charset=utf-8"
        headers[.contentSecurityPolicy] = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: pageHTML)))
    }

    @Sendable func health(_ request: Request, context: some RequestContext) -> Response {
        json(["status": "ok"])
    }

    @Sendable func metrics(_ request: Request, context: some RequestContext) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: metricsStore.exposition())))
    }

    @Sendable func model(_ request: Request, context: some RequestContext) -> Response {
        let config = tagger.config
        return json(ModelResponse(
            labels: tagger.labels.labels, scheme: tagger.scheme?.rawValue, decoding: tagger.settings.decoding.rawValue,
            aggregation: tagger.settings.aggregation.rawValue, context: tagger.settings.context,
            maxLength: tagger.windowing.maxLength, stride: tagger.windowing.stride,
            encoder: .init(layers: config.numHiddenLayers, hiddenSize: config.hiddenSize, heads: config.numAttentionHeads,
                           vocabularySize: config.vocabSize, maxPositionEmbeddings: config.maxPositionEmbeddings,
                           precision: tagger.precision.rawValue)))
    }

    @Sendable func entities(_ request: Request, context: some RequestContext) async throws -> Response {
        let body = try await decode(EntitiesRequest.self, from: request)
        let texts: [String]
        switch (body.text, body.texts) {
        case let (text?, nil): texts = [text]
        case let (nil, many?): texts = many
        case (nil, nil): throw APIError.unprocessable(#"give "text": "..." or "texts": ["...", ...]"#)
        case (_?, _?): throw APIError.unprocessable(#"give either "text" or "texts", not both"#)
        }
        try checkCount(texts.count, field: "texts")
        for (index, text) in texts.enumerated() {
            let length = text.unicodeScalars.count
            guard length <= options.maxTextLength else {
                throw APIError.tooLarge("\(body.text != nil ? "text" : "texts[\(index)]") has \(length) characters, more than the limit of \(options.maxTextLength) (--max-text-length); split it")
            }
        }
        let tagged = try await tag(.texts(texts))
        let answers = tagged.map { EntitiesResponse(entities: $0.entities.map(EntityBody.init)) }
        return body.text != nil ? json(answers[0]) : json(EntitiesBatchResponse(results: answers))
    }

    @Sendable func tags(_ request: Request, context: some RequestContext) async throws -> Response {
        let body = try await decode(TagsRequest.self, from: request)
        let sentences: [[String]]
        switch (body.words, body.sentences) {
        case let (words?, nil): sentences = [words]
        case let (nil, many?): sentences = many
        case (nil, nil): throw APIError.unprocessable(#"give "words": ["...", ...] or "sentences": [["...", ...], ...]"#)
        case (_?, _?): throw APIError.unprocessable(#"give either "words" or "sentences", not both"#)
        }
        try checkCount(sentences.count, field: "sentences")
        var words = 0
        for (index, sentence) in sentences.enumerated() {
            let field = body.words != nil ? "words" : "sentences[\(index)]"
            guard !sentence.isEmpty else { throw APIError.unprocessable("\(field) is empty; give at least one word") }
            for (w, word) in sentence.enumerated() {
                guard !word.isEmpty, !word.unicodeScalars.allSatisfy(\.properties.isWhitespace) else {
                    throw APIError.unprocessable("\(field)[\(w)] is empty or only spaces; every word needs a character")
                }
                guard word.unicodeScalars.count <= options.maxTextLength else {
                    throw APIError.tooLarge("\(field)[\(w)] has \(word.unicodeScalars.count) characters, more than the limit of \(options.maxTextLength) (--max-text-length)")
                }
            }
            words += sentence.count
        }
        guard words <= options.maxWords else {
            throw APIError.tooLarge("the request has \(words) words, more than the limit of \(options.maxWords) (--max-words); send fewer per request")
        }
        let tagged = try await tag(.sentences(sentences))
        let answers = tagged.map(TagsResponse.init)
        return body.words != nil ? json(answers[0]) : json(TagsBatchResponse(results: answers))
    }

    // MARK: - Helpers

    private func tag(_ input: TaggingQueue.Input) async throws -> [TaggedText] {
        do {
            return try await queue.tag(input)
        } catch {
            throw APIError(tagging: error)
        }
    }

    private func checkCount(_ count: Int, field: String) throws {
        guard count <= options.maxTexts else {
            throw APIError.tooLarge("\"\(field)\" has \(count) items, more than the limit of \(options.maxTexts) (--max-texts); send fewer per request")
        }
    }

    private func decode<T: Decodable>(_ type: T.Type, from request: Request) async throws -> T {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: options.maxBodyBytes)
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            throw APIError.tooLarge("the body is larger than the limit of \(options.maxBodyBytes) bytes (--max-body-bytes); send fewer or shorter texts per request")
        }
        guard buffer.readableBytes > 0 else {
            throw APIError.badRequest("the body is empty; send a JSON object such as {\"text\": \"...\"}")
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer: buffer))
        } catch let error as DecodingError {
            throw APIError(decoding: error)
        }
    }

    private func json(_ value: some Encodable) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        var headers = HTTPFields()
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

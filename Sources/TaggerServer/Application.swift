import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import Tagger

/// The HTTP tagging service for `tagger`: its routes, limits, batching queue, metrics and access logs. Both
/// `bert-tagger serve` and the tests run what this builds; `onServerRunning` hears the bound port (useful with
/// port 0).
public func buildApplication(
    tagger: Tagger, options: ServerOptions, logger: Logger = Logger(label: "bert-tagger.serve"),
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) throws -> some ApplicationProtocol {
    try options.validate()
    let metrics = ServerMetrics()
    let queue = TaggingQueue(tagger: tagger, tokenBudget: options.batchTokens,
                             wait: .milliseconds(options.batchWaitMilliseconds), metrics: metrics, logger: logger)
    let api = TaggingAPI(tagger: tagger, queue: queue, options: options, metrics: metrics)

    let router = Router()
    router.middlewares.add(AccessLogMiddleware(metrics: metrics, logger: logger))
    router.middlewares.add(JSONErrorMiddleware(routes: TaggingAPI.routes))
    router.get("/", use: api.page)
    router.get("/healthz", use: api.health)
    router.get("/metrics", use: api.metrics)
    router.get("/v1/model", use: api.model)
    router.post("/v1/entities", use: api.entities)
    router.post("/v1/tags", use: api.tags)

    return Application(
        router: router,
        configuration: .init(address: .hostname(options.host, port: options.port), serverName: "bert-tagger"),
        services: [queue],
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? options.port) },
        logger: logger
    )
}

extension ServerOptions {
    /// Every limit must leave room for some work.
    public func validate() throws {
        func check(_ value: Int, _ option: String, atLeast minimum: Int) throws {
            guard value >= minimum else {
                throw ServerOptionError(message: "--\(option) \(value): must be at least \(minimum)")
            }
        }
        try check(port, "port", atLeast: 0)
        guard port <= 65535 else { throw ServerOptionError(message: "--port \(port): must be at most 65535") }
        try check(maxBodyBytes, "max-body-bytes", atLeast: 16)
        try check(maxTextLength, "max-text-length", atLeast: 1)
        try check(maxTexts, "max-texts", atLeast: 1)
        try check(maxWords, "max-words", atLeast: 1)
        try check(batchTokens, "batch-tokens", atLeast: 1)
        try check(batchWaitMilliseconds, "batch-wait-ms", atLeast: 0)
    }
}

public struct ServerOptionError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

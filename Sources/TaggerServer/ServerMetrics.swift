import Foundation
import Metrics
import Prometheus

/// The server's metrics, kept in a registry of its own (not the process-wide `MetricsSystem`, so that several
/// servers in one process, as in the tests, count apart) and written out in Prometheus text format.
public final class ServerMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory
    private let batchRequests: Metrics.Recorder
    private let batchTokens: Metrics.Recorder
    private let tokens: Metrics.Counter
    private let tokensPerSecond: Metrics.Gauge

    public init() {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets = [
            "http_request_duration_seconds": [.milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
                                              .milliseconds(25), .milliseconds(50), .milliseconds(100),
                                              .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5),
                                              .seconds(5), .seconds(10)],
        ]
        factory.valueHistogramBuckets = [
            "tagger_batch_requests": [1, 2, 4, 8, 16, 32, 64, 128],
            "tagger_batch_tokens": [16, 64, 256, 1024, 4096, 16384, 65536],
        ]
        self.factory = factory
        batchRequests = Metrics.Recorder(label: "tagger_batch_requests", dimensions: [], aggregate: true, factory: factory)
        batchTokens = Metrics.Recorder(label: "tagger_batch_tokens", dimensions: [], aggregate: true, factory: factory)
        tokens = Metrics.Counter(label: "tagger_tokens_total", dimensions: [], factory: factory)
        tokensPerSecond = Metrics.Gauge(label: "tagger_tokens_per_second", dimensions: [], factory: factory)
    }

    /// One answered request: `route` is the matched route's path, or "unmatched".
    func recordRequest(method: String, route: String, status: Int, duration: Duration) {
        let dimensions = [("method", method), ("route", route), ("status", String(status))]
        Metrics.Counter(label: "http_requests_total", dimensions: dimensions, factory: factory).increment()
        Metrics.Timer(label: "http_request_duration_seconds", dimensions: [("route", route)], factory: factory)
            .recordNanoseconds(duration.nanoseconds)
    }

    /// One Tagger call of the queue: how many requests and tokens it packed, how long it took.
    func recordBatch(requests: Int, tokens count: Int, duration: Duration) {
        batchRequests.record(requests)
        batchTokens.record(count)
        tokens.increment(by: count)
        let seconds = Double(duration.nanoseconds) / 1e9
        if seconds > 0 { tokensPerSecond.record(Double(count) / seconds) }
    }

    /// Every metric in Prometheus text format.
    public func exposition() -> String {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}

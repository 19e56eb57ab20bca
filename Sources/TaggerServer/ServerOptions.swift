import Foundation

/// Where the server listens and the limits it answers with a JSON error instead of work.
public struct ServerOptions: Sendable, Equatable {
    public var host: String
    /// 0 asks the system for a free port (tests read the bound port back).
    public var port: Int
    /// Largest request body in bytes (413 beyond).
    public var maxBodyBytes: Int
    /// Longest single text in Unicode scalars (413 beyond).
    public var maxTextLength: Int
    /// Most texts or sentences in one request (413 beyond).
    public var maxTexts: Int
    /// Most words in one sentence of `/v1/tags` (413 beyond).
    public var maxWords: Int
    /// Most model tokens the queue packs into one Tagger call.
    public var batchTokens: Int
    /// How long the queue waits for more requests to join a batch, in milliseconds.
    public var batchWaitMilliseconds: Int

    public init(host: String = "127.0.0.1", port: Int = 8080, maxBodyBytes: Int = 1 << 20, maxTextLength: Int = 100_000,
                maxTexts: Int = 256, maxWords: Int = 10_000, batchTokens: Int = 4096, batchWaitMilliseconds: Int = 2) {
        self.host = host
        self.port = port
        self.maxBodyBytes = maxBodyBytes
        self.maxTextLength = maxTextLength
        self.maxTexts = maxTexts
        self.maxWords = maxWords
        self.batchTokens = batchTokens
        self.batchWaitMilliseconds = batchWaitMilliseconds
    }
}

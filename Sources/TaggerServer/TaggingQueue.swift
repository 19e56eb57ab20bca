import Datasets
import Dispatch
import Foundation
import Logging
import ServiceLifecycle
import Tagger

/// Packs the requests that arrive together into one Tagger call: the first request waits `wait` for others to
/// join, unless the requests waiting already fill the token budget, then all that fit the budget are tagged in one
/// call (each request at least, however large). One batch runs at a time; requests arriving meanwhile form the
/// next. Each request's texts stay their own documents and its sentences one document, so an answer never depends
/// on which requests shared its batch.
///
/// A batch that fails (one text with an unsplittable word, say) is retried request by request, so only the
/// request at fault gets the error.
///
/// As a `Service` it stops after the HTTP server: on graceful shutdown it tags what is still waiting, then returns.
public final class TaggingQueue: Service, @unchecked Sendable {
    public enum Input: Sendable {
        /// Raw texts, each a document of its own.
        case texts([String])
        /// Pre-split sentences forming one document.
        case sentences([[String]])
    }

    private struct Job {
        let input: Input
        let tokens: Int
        let continuation: CheckedContinuation<[TaggedText], any Error>
    }

    let tagger: Tagger
    let tokenBudget: Int
    let wait: Duration
    private let metrics: ServerMetrics?
    private let logger: Logger
    private let lock = NSLock()
    private var pending: [Job] = []
    private var pendingTokens = 0
    private var stopped = false
    private let signals: AsyncStream<Void>
    private let signal: AsyncStream<Void>.Continuation

    public init(tagger: Tagger, tokenBudget: Int, wait: Duration, metrics: ServerMetrics? = nil,
                logger: Logger = Logger(label: "bert-tagger.queue")) {
        self.tagger = tagger
        self.tokenBudget = tokenBudget
        self.wait = wait
        self.metrics = metrics
        self.logger = logger
        (signals, signal) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Model tokens of an input, [CLS] and [SEP] included: what it takes of the budget.
    func tokenCount(_ input: Input) -> Int {
        switch input {
        case let .texts(texts):
            return texts.reduce(0) { $0 + tagger.tokenizer.encode($1).ids.count }
        case let .sentences(sentences):
            return sentences.reduce(0) { $0 + tagger.tokenizer.encode(words: $1).ids.count }
        }
    }

    /// Tags `input` with the requests that arrive with it; one `TaggedText` per text or sentence, in order.
    public func tag(_ input: Input) async throws -> [TaggedText] {
        let tokens = tokenCount(input)
        return try await withCheckedThrowingContinuation { continuation in
            lock.lock()
            if stopped {
                lock.unlock()
                continuation.resume(throwing: QueueStopped())
                return
            }
            pending.append(Job(input: input, tokens: tokens, continuation: continuation))
            pendingTokens += tokens
            lock.unlock()
            signal.yield()
        }
    }

    public func run() async throws {
        for await _ in signals.cancelOnGracefulShutdown() {
            await drain(waiting: true)
        }
        lock.withLock { stopped = true }
        await drain(waiting: false)
    }

    /// Tags batches until nothing waits; `waiting` lets a batch that is not full wait for company first.
    private func drain(waiting: Bool) async {
        while true {
            let (count, tokens) = lock.withLock { (pending.count, pendingTokens) }
            if count == 0 { return }
            if waiting && tokens < tokenBudget {
                try? await Task.sleep(for: wait)
            }
            let batch = takeBatch()
            await run(batch)
        }
    }

    /// The waiting requests that fit the token budget, in arrival order (the first always).
    private func takeBatch() -> [Job] {
        lock.lock()
        defer { lock.unlock() }
        var taken = 0, tokens = 0
        while taken < pending.count, taken == 0 || tokens + pending[taken].tokens <= tokenBudget {
            tokens += pending[taken].tokens
            taken += 1
        }
        let batch = Array(pending.prefix(taken))
        pending.removeFirst(taken)
        pendingTokens -= tokens
        return batch
    }

    private func run(_ batch: [Job]) async {
        let tagger = tagger
        let started = ContinuousClock.now
        let results: [Result<[TaggedText], any Error>] = await withCheckedContinuation { done in
            DispatchQueue.global().async {
                done.resume(returning: Self.tagTogether(batch.map(\.input), tagger: tagger))
            }
        }
        let elapsed = ContinuousClock.now - started
        metrics?.recordBatch(requests: batch.count, tokens: batch.reduce(0) { $0 + $1.tokens }, duration: elapsed)
        for (job, result) in zip(batch, results) {
            job.continuation.resume(with: result)
        }
    }

    /// Tags every input in as few Tagger calls as the kinds allow (one for texts, one for sentences); when a call
    /// fails, each of its inputs is tagged alone.
    static func tagTogether(_ inputs: [Input], tagger: Tagger) -> [Result<[TaggedText], any Error>] {
        var results = [Result<[TaggedText], any Error>](repeating: .success([]), count: inputs.count)
        var textJobs: [(index: Int, texts: [String])] = []
        var sentenceJobs: [(index: Int, sentences: [[String]])] = []
        for (index, input) in inputs.enumerated() {
            switch input {
            case let .texts(texts): textJobs.append((index, texts))
            case let .sentences(sentences): sentenceJobs.append((index, sentences))
            }
        }
        if !textJobs.isEmpty {
            do {
                var tagged = try tagger.tag(texts: textJobs.flatMap(\.texts))[...]
                for job in textJobs {
                    results[job.index] = .success(Array(tagged.prefix(job.texts.count)))
                    tagged = tagged.dropFirst(job.texts.count)
                }
            } catch {
                for job in textJobs {
                    results[job.index] = textJobs.count == 1 ? .failure(error) : Result { try tagger.tag(texts: job.texts) }
                }
            }
        }
        if !sentenceJobs.isEmpty {
            do {
                var tagged = try tagger.tag(corpus: corpus(sentenceJobs.map(\.sentences)))[...]
                for job in sentenceJobs {
                    results[job.index] = .success(Array(tagged.prefix(job.sentences.count)))
                    tagged = tagged.dropFirst(job.sentences.count)
                }
            } catch {
                for job in sentenceJobs {
                    results[job.index] = sentenceJobs.count == 1
                        ? .failure(error) : Result { try tagger.tag(corpus: corpus([job.sentences])) }
                }
            }
        }
        return results
    }

    /// One document per request.
    static func corpus(_ documents: [[[String]]]) -> Corpus {
        var sentences: [Sentence] = []
        for (document, words) in documents.enumerated() {
            for sentence in words {
                sentences.append(Sentence(words: sentence, document: document, line: sentences.count + 1))
            }
        }
        return Corpus(file: "request", sentences: sentences, documentCount: documents.count)
    }
}

/// A request reached the queue after it stopped (the server is shutting down).
struct QueueStopped: Error, CustomStringConvertible {
    var description: String { "the server is shutting down; retry against another instance" }
}

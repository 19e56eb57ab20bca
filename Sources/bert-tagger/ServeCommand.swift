import ArgumentParser
import Dispatch
import Foundation
import Logging
import Tagger
import TaggerServer
import Tensors
import Training

/// `bert-tagger serve`: the HTTP tagging service.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a token-classification model over HTTP: a JSON API, Prometheus metrics and a page to try it.",
        discussion: """
            Routes: POST /v1/entities {"text": "..."} or {"texts": [...]}; POST /v1/tags {"words": [...]} or \
            {"sentences": [[...], ...]}; GET /v1/model; GET /healthz; GET /metrics; GET / (the page). Requests \
            that arrive together are tagged in one batch (up to --batch-tokens, after waiting up to \
            --batch-wait-ms for company). Every error is {"error": "..."} with its status: 400 malformed JSON, \
            404 unknown route, 405 wrong method, 413 over a limit, 422 wrong or missing fields. SIGTERM or \
            SIGINT stops accepting connections, finishes the requests in flight and exits 0.
            """
    )

    @Option(help: "Token-classification model directory (config.json with id2label, model.safetensors, tokenizer files), such as a `train` run's best/ folder.")
    var model: String
    @Option(help: "Address to listen on (0.0.0.0 for every interface).") var host = "127.0.0.1"
    @Option(help: "Port to listen on (0: a free one, printed at start).") var port = 8080
    @Option(help: "Largest request body in bytes (413 beyond).") var maxBodyBytes = ServerOptions().maxBodyBytes
    @Option(help: "Longest text, or word of /v1/tags, in characters (Unicode scalars; 413 beyond).")
    var maxTextLength = ServerOptions().maxTextLength
    @Option(help: "Most texts or sentences in one request (413 beyond).") var maxTexts = ServerOptions().maxTexts
    @Option(help: "Most words in one /v1/tags request (413 beyond).") var maxWords = ServerOptions().maxWords
    @Option(help: "Sub-word tokens the queue packs into one batch, and the most tokens of one forward pass.")
    var batchTokens = ServerOptions().batchTokens
    @Option(name: .customLong("batch-wait-ms"), help: "Milliseconds a request waits for others to share its batch (0: none).")
    var batchWaitMilliseconds = ServerOptions().batchWaitMilliseconds
    @Option(help: "Threads of the matrix products. Default: all cores.") var threads: Int?
    @Option(help: "Number format of the encoder's matrix products: fp32, bf16, int8 (8-bit inputs quantized per token and per output channel, fastest where oneDNN has AMX or AVX512-VNNI; slightly different tags), or auto (bf16 on CPUs with AMX and on AMD CPUs with AVX512-BF16, else fp32).")
    var precision: PrecisionChoice = .auto
    @Option(help: "Least severe log level written to standard error: trace, debug, info (access logs), notice, warning, error, critical.")
    var logLevel: LogLevelChoice = .info

    enum LogLevelChoice: String, ExpressibleByArgument, CaseIterable {
        case trace, debug, info, notice, warning, error, critical
    }

    var options: ServerOptions {
        ServerOptions(host: host, port: port, maxBodyBytes: maxBodyBytes, maxTextLength: maxTextLength, maxTexts: maxTexts,
                      maxWords: maxWords, batchTokens: batchTokens, batchWaitMilliseconds: batchWaitMilliseconds)
    }

    func validate() throws {
        do {
            try options.validate()
        } catch let error as ServerOptionError {
            throw ValidationError(error.message + ".")
        }
        if batchTokens < 3 { throw ValidationError("--batch-tokens must be at least 3 ([CLS], a word, [SEP]).") }
        if batchTokens > TrainingOptions.maxBatchTokens {
            throw ValidationError("--batch-tokens must be at most \(TrainingOptions.maxBatchTokens) (activations are planned for a full batch).")
        }
        if let threads, threads <= 0 || threads > TrainingOptions.maxThreads {
            throw ValidationError("--threads must be between 1 and \(TrainingOptions.maxThreads).")
        }
    }

    func run() throws {
        let level = Logger.Level(rawValue: logLevel.rawValue)!
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        try ComputeLibraries.load()
        Parallel.setThreadCount(threads ?? ProcessInfo.processInfo.activeProcessorCount)
        // One batch runs at a time, so one model suffices.
        let tagger = try Tagger(directory: URL(fileURLWithPath: model), precision: precision, batchTokens: batchTokens,
                                concurrency: 1)
        FileHandle.standardError.write(Data("compute: \(ComputeLibraries.summary); matrix products in \(tagger.precision)\n".utf8))
        let host = host
        let app = try buildApplication(tagger: tagger, options: options) { port in
            FileHandle.standardError.write(Data("serving \(model) on http://\(host):\(port)/\n".utf8))
        }
        let outcome = ServeOutcome()
        let finished = DispatchSemaphore(value: 0)
        Task {
            do {
                try await app.runService()
            } catch {
                outcome.error = error
            }
            finished.signal()
        }
        finished.wait()
        if let error = outcome.error { throw error }
        FileHandle.standardError.write(Data("stopped\n".utf8))
    }
}

/// How the server's task ended, read after it signals.
private final class ServeOutcome: @unchecked Sendable {
    var error: (any Error)?
}

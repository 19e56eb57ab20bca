import Foundation
import Testing

/// A tiny BERT encoder (2 layers, 16 wide) and a synthetic NER corpus, written once per test process: what
/// the train and predict command tests run on, so they take seconds in a debug build. The weights are
/// written by hand (this test target links only the tool), in the format a pretrained BertModel ships in.
enum TinyCLIFixture {
    static let words = ["smith", "jones", "brown", "taylor", "paris", "london", "berlin", "rome", "acme", "globex",
                        "corp", "mr", "said", "went", "to", "the", "news", "from", "was", "good", "she", "visited",
                        "city", "."]
    static let vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + words
    static let hidden = 16, layers = 2, intermediate = 37, positions = 64

    struct Files {
        var root: URL
        var model: URL
        var train: URL
        var dev: URL
    }

    /// Written on first use and shared by every test (Swift runs this initialiser once).
    static let files: Result<Files, any Error> = Result {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("cli-train-\(UUID().uuidString)")
        let model = root.appendingPathComponent("tiny-bert")
        try FileManager.default.createDirectory(at: model, withIntermediateDirectories: true)
        try writeModel(to: model)
        let files = Files(root: root, model: model, train: root.appendingPathComponent("train.txt"),
                          dev: root.appendingPathComponent("dev.txt"))
        try corpus(sentences: 40, seed: 1).write(to: files.train, atomically: true, encoding: .utf8)
        try corpus(sentences: 12, seed: 2).write(to: files.dev, atomically: true, encoding: .utf8)
        return files
    }

    /// A run of `train` on the fixture, made once and shared by the predict tests.
    static let trainedRun: Result<(output: URL, result: ToolResult), any Error> = Result {
        let files = try TinyCLIFixture.files.get()
        let output = files.root.appendingPathComponent("shared-run")
        let result = try runTool(["train", "--model", files.model.path, "--train", files.train.path, "--dev", files.dev.path,
                                  "--output", output.path, "--epochs", "6", "--lr", "1e-2", "--batch-tokens", "96",
                                  "--threads", "1"])
        return (output, result)
    }

    /// Arguments of a short training run into `output`.
    static func trainArguments(_ files: Files, output: URL, epochs: Int = 1) -> [String] {
        ["train", "--model", files.model.path, "--train", files.train.path, "--dev", files.dev.path,
         "--output", output.path, "--epochs", String(epochs), "--lr", "5e-3", "--batch-tokens", "96", "--threads", "1"]
    }

    /// Sentences from four templates, a `-DOCSTART-` line before every fourth; columns word, POS, NER.
    static func corpus(sentences: Int, seed: UInt64) -> String {
        var state = seed
        func next() -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int(state >> 33)
        }
        func pick(_ options: [String]) -> String { options[next() % options.count] }
        var text = ""
        for index in 0..<sentences {
            if index % 4 == 0 { text += "-DOCSTART- -X- O\n\n" }
            let person = pick(["Smith", "Jones", "Brown", "Taylor"]), place = pick(["Paris", "London", "Berlin", "Rome"])
            let company = pick(["Acme", "Globex"])
            let lines: [String]
            switch next() % 4 {
            case 0: lines = ["mr NNP O", "\(person) NNP B-PER", "said VBD O", ". . O"]
            case 1: lines = ["\(person) NNP B-PER", "went VBD O", "to TO O", "\(place) NNP B-LOC", ". . O"]
            case 2: lines = ["the DT O", "news NN O", "from IN O", "\(company) NNP B-ORG", "corp NNP I-ORG", "was VBD O", "good JJ O", ". . O"]
            default: lines = ["she PRP O", "visited VBD O", "the DT O", "city NN O", ". . O"]
            }
            text += lines.joined(separator: "\n") + "\n\n"
        }
        return text
    }

    /// config.json, vocab.txt, tokenizer_config.json and model.safetensors of a BertModel without pooler.
    static func writeModel(to directory: URL) throws {
        let config: [String: Any] = [
            "architectures": ["BertModel"], "model_type": "bert", "vocab_size": vocabulary.count,
            "hidden_size": hidden, "num_hidden_layers": layers, "num_attention_heads": 2,
            "intermediate_size": intermediate, "max_position_embeddings": positions, "type_vocab_size": 2,
            "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
            "initializer_range": 0.02, "layer_norm_eps": 1e-12, "pad_token_id": 0,
        ]
        try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys])
            .write(to: directory.appendingPathComponent("config.json"))
        try (vocabulary.joined(separator: "\n") + "\n").write(to: directory.appendingPathComponent("vocab.txt"),
                                                              atomically: true, encoding: .utf8)
        try #"{"do_lower_case": true}"#.write(to: directory.appendingPathComponent("tokenizer_config.json"),
                                               atomically: true, encoding: .utf8)

        var shapes: [(String, [Int])] = [
            ("embeddings.word_embeddings.weight", [vocabulary.count, hidden]),
            ("embeddings.position_embeddings.weight", [positions, hidden]),
            ("embeddings.token_type_embeddings.weight", [2, hidden]),
            ("embeddings.LayerNorm.weight", [hidden]), ("embeddings.LayerNorm.bias", [hidden]),
        ]
        for layer in 0..<layers {
            let p = "encoder.layer.\(layer)."
            for name in ["attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"] {
                shapes += [(p + name + ".weight", [hidden, hidden]), (p + name + ".bias", [hidden])]
            }
            shapes += [(p + "attention.output.LayerNorm.weight", [hidden]), (p + "attention.output.LayerNorm.bias", [hidden]),
                       (p + "intermediate.dense.weight", [intermediate, hidden]), (p + "intermediate.dense.bias", [intermediate]),
                       (p + "output.dense.weight", [hidden, intermediate]), (p + "output.dense.bias", [hidden]),
                       (p + "output.LayerNorm.weight", [hidden]), (p + "output.LayerNorm.bias", [hidden])]
        }
        // BERT's initialisation: weights small and centred (uniform here, std 0.02), biases 0, LayerNorm scales 1.
        var state: UInt64 = 12345
        var payload = Data()
        var header: [String: Any] = ["__metadata__": ["format": "pt"]]
        for (name, shape) in shapes {
            let count = shape.reduce(1, *)
            var values = [Float](repeating: 0, count: count)
            if name.hasSuffix("LayerNorm.weight") {
                values = [Float](repeating: 1, count: count)
            } else if !name.hasSuffix(".bias") {
                for i in values.indices {
                    state = state &* 6364136223846793005 &+ 1442695040888963407
                    values[i] = (Float(state >> 40) / Float(1 << 24) - 0.5) * 0.0693
                }
            }
            let start = payload.count
            values.withUnsafeBytes { payload.append(contentsOf: $0) }  // little-endian on every supported host
            header[name] = ["dtype": "F32", "shape": shape, "data_offsets": [start, payload.count]]
        }
        var headerBytes = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while headerBytes.count % 8 != 0 { headerBytes.append(UInt8(ascii: " ")) }
        var file = Data()
        withUnsafeBytes(of: UInt64(headerBytes.count).littleEndian) { file.append(contentsOf: $0) }
        file.append(headerBytes)
        file.append(payload)
        try file.write(to: directory.appendingPathComponent("model.safetensors"))
    }
}

struct ToolResult { var status: Int32; var stdout: String; var stderr: String }

/// Runs the tool in `directory` (default: the current one) with its output in files, so a long run cannot
/// block on a full pipe.
func runTool(_ arguments: [String], in directory: URL? = nil) throws -> ToolResult {
    let process = try startTool(arguments, in: directory)
    process.process.waitUntilExit()
    return process.finish()
}

final class RunningTool {
    let process: Process
    let stdoutURL: URL, stderrURL: URL
    init(process: Process, stdoutURL: URL, stderrURL: URL) {
        self.process = process
        self.stdoutURL = stdoutURL
        self.stderrURL = stderrURL
    }
    func finish() -> ToolResult {
        let result = ToolResult(status: process.terminationStatus,
                                stdout: (try? String(contentsOf: stdoutURL, encoding: .utf8)) ?? "",
                                stderr: (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? "")
        try? FileManager.default.removeItem(at: stdoutURL.deletingLastPathComponent())
        return result
    }
}

func startTool(_ arguments: [String], in directory: URL? = nil) throws -> RunningTool {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tool-output-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    let out = folder.appendingPathComponent("stdout"), err = folder.appendingPathComponent("stderr")
    for file in [out, err] { try Data().write(to: file) }
    let process = Process()
    process.executableURL = Binary.url
    process.arguments = arguments
    if let directory { process.currentDirectoryURL = directory }
    process.standardInput = FileHandle.nullDevice
    process.standardOutput = try FileHandle(forWritingTo: out)
    process.standardError = try FileHandle(forWritingTo: err)
    try process.run()
    return RunningTool(process: process, stdoutURL: out, stderrURL: err)
}

@Suite struct TrainCommandTests {
    @Test func trainingTheTinyModelExitsZeroAndPrintsTheSummary() throws {
        let (output, result) = try TinyCLIFixture.trainedRun.get()
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("best dev f1: ") == true, "\(result.stdout)")
        #expect(lines.contains { $0.hasSuffix(" s per epoch") })
        #expect(lines.last == "best model: \(output.path)/best   reports: \(output.path)/reports   plot: \(output.path)/training.svg")
        #expect(result.stderr.hasPrefix("run directory: \(output.path)\n"))
        #expect(result.stderr.contains("note: new classifier for 5 labels"), "O, B-LOC, B-ORG, I-ORG, B-PER")
        // What runs the products, before the first one: the machine line `info` and the benchmarks print.
        #expect(result.stderr.contains("\ncompute: CPU ") && result.stderr.contains("; 1 thread"), "\(result.stderr)")
        for file in ["best/model.safetensors", "reports/dev.json", "predictions/dev.conll", "training.svg", "last/trainer_state.json"] {
            #expect(FileManager.default.fileExists(atPath: output.appendingPathComponent(file).path), "missing \(file)")
        }
        // No --test: no test report.
        #expect(!FileManager.default.fileExists(atPath: output.appendingPathComponent("reports/test.json").path))
    }

    /// By default a batch holds 32 sentences (transformers' Trainer's batches) under a 4,096-token ceiling:
    /// the 40 training sentences make 2 batches; `--batch-sentences 0` leaves the token budget alone to bound them.
    @Test(arguments: [([String](), "2 batches of ≤32 sentences and ≤4096 tokens"),
                      (["--batch-sentences", "0"], "1 batch of ≤4096 tokens"),
                      (["--batch-sentences", "8", "--batch-tokens", "96"], "of ≤8 sentences and ≤96 tokens")])
    func batchesHold32SentencesByDefault(extra: [String], expected: String) throws {
        let files = try TinyCLIFixture.files.get()
        let output = files.root.appendingPathComponent("default-batches-\(UUID().uuidString.prefix(8))")
        let result = try runTool(["train", "--model", files.model.path, "--train", files.train.path, "--dev", files.dev.path,
                                  "--output", output.path, "--epochs", "1", "--threads", "1"] + extra)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("40 training sequences"), "\(result.stderr)")
        #expect(result.stderr.contains(expected), "\(result.stderr)")
    }

    @Test func theDevPredictionsOfARunScoreWithEvaluate() throws {
        let (output, result) = try TinyCLIFixture.trainedRun.get()
        try #require(result.status == 0, "\(result.stderr)")
        let evaluation = try runTool(["evaluate", output.appendingPathComponent("predictions/dev.conll").path, "--json",
                                      "--digits", "4"])
        #expect(evaluation.status == 0, "\(evaluation.stderr)")
        let scored = try #require(try JSONSerialization.jsonObject(with: Data(evaluation.stdout.utf8)) as? [String: Any])
        let saved = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: output.appendingPathComponent("reports/dev.json"))) as? [String: Any])
        let scoredF1 = (scored["micro avg"] as? [String: Any])?["f1-score"] as? Double
        let savedF1 = (saved["micro avg"] as? [String: Any])?["f1-score"] as? Double
        #expect(scoredF1 != nil && scoredF1 == savedF1)
    }

    @Test func ctrlCSavesAResumableStateAndResumeCompletes() throws {
        let files = try TinyCLIFixture.files.get()
        let output = files.root.appendingPathComponent("interrupted-\(UUID().uuidString.prefix(8))")
        let arguments = TinyCLIFixture.trainArguments(files, output: output, epochs: 8) + ["--log-every", "1"]
        let running = try startTool(arguments)
        let steps = output.appendingPathComponent("metrics/steps.jsonl")
        let deadline = Date().addingTimeInterval(60)
        while running.process.isRunning, Date() < deadline,
              ((try? Data(contentsOf: steps))?.isEmpty ?? true) {
            usleep(5_000)
        }
        try #require(running.process.isRunning, "the run ended before a step was seen: \(running.finish().stderr)")
        running.process.interrupt()  // SIGINT, as Ctrl-C sends
        running.process.waitUntilExit()
        let stopped = running.finish()
        #expect(stopped.status == 130, "\(stopped.stderr)")
        #expect(stopped.stderr.contains("continue with: \(Binary.url.path) train --resume \(output.path)"), "\(stopped.stderr)")
        let stateURL = output.appendingPathComponent("last/trainer_state.json")
        let state = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: stateURL)) as? [String: Any])
        let savedStep = try #require(state["step"] as? Int)
        #expect(savedStep >= 1 && state["finished"] as? Bool == false)

        let resumed = try runTool(["train", "--resume", output.path])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("resuming at epoch"), "\(resumed.stderr)")
        #expect(resumed.stdout.hasPrefix("best dev f1: "))
        let logged = try String(contentsOf: steps, encoding: .utf8).split(separator: "\n").map { line -> Int in
            let row = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            return row?["step"] as? Int ?? -1
        }
        #expect(logged == Array(1...(logged.last ?? 0)), "every step logged once across the two processes")
        let finalState = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: stateURL)) as? [String: Any])
        #expect(finalState["finished"] as? Bool == true && (finalState["step"] as? Int ?? 0) > savedStep)
    }

    /// A kill in the final save leaves, beside the `last/` that stands, the state being written
    /// (`.last.partial-UUID/`) or the previous one not yet removed (`.last.old-UUID/`; an earlier build's
    /// `last.saving/` and `last.previous/`); resuming the finished run removes them and keeps `last/`.
    @Test func resumingAFinishedRunRemovesWhatAKilledSaveLeftBesideLast() throws {
        let files = try TinyCLIFixture.files.get()
        let output = files.root.appendingPathComponent("killed-final-save-\(UUID().uuidString.prefix(8))")
        let trained = try runTool(TinyCLIFixture.trainArguments(files, output: output))
        try #require(trained.status == 0, "\(trained.stderr)")
        let fm = FileManager.default, last = output.appendingPathComponent("last")
        let previous = output.appendingPathComponent("last.previous"), saving = output.appendingPathComponent("last.saving")
        let aside = output.appendingPathComponent(".last.old-\(UUID().uuidString)")
        let partial = output.appendingPathComponent(".last.partial-\(UUID().uuidString)")
        try fm.copyItem(at: last, to: previous)
        try fm.copyItem(at: last, to: aside)
        for unfinished in [saving, partial] {
            try fm.createDirectory(at: unfinished, withIntermediateDirectories: false)
            try Data("{".utf8).write(to: unfinished.appendingPathComponent("trainer_state.json"))
        }
        let state = try Data(contentsOf: last.appendingPathComponent("trainer_state.json"))

        let resumed = try runTool(["train", "--resume", output.path])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect([previous, saving, aside, partial].allSatisfy { !fm.fileExists(atPath: $0.path) },
                "\(String(describing: try? fm.contentsOfDirectory(atPath: output.path)))")
        #expect(try Data(contentsOf: last.appendingPathComponent("trainer_state.json")) == state)
    }

    /// Without `last/` (an earlier build killed between moving it aside and moving the new one in),
    /// `last.previous/` is the saved state: a resume puts it back as `last/`, also when there is nothing left to train.
    @Test func aKillBetweenTheMovesOfASaveResumesFromThePreviousState() throws {
        let files = try TinyCLIFixture.files.get()
        let output = files.root.appendingPathComponent("killed-between-moves-\(UUID().uuidString.prefix(8))")
        let arguments = TinyCLIFixture.trainArguments(files, output: output, epochs: 2) + ["--save-every", "2"]
        let trained = try runTool(arguments)
        try #require(trained.status == 0, "\(trained.stderr)")
        let fm = FileManager.default, last = output.appendingPathComponent("last")
        let stateURL = last.appendingPathComponent("trainer_state.json")
        var state = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: stateURL)) as? [String: Any])
        state["finished"] = false
        try JSONSerialization.data(withJSONObject: state).write(to: stateURL)
        try fm.moveItem(at: last, to: output.appendingPathComponent("last.previous"))

        let resumed = try runTool(["train", "--resume", output.path])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(fm.fileExists(atPath: stateURL.path) && !fm.fileExists(atPath: output.appendingPathComponent("last.previous").path),
                "\(String(describing: try? fm.contentsOfDirectory(atPath: output.path)))")
    }

    @Test func withoutDataAtTheDefaultLocationTheErrorSaysWhereToPutIt() throws {
        let files = try TinyCLIFixture.files.get()
        let empty = files.root.appendingPathComponent("empty-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        let result = try runTool(["train", "--model", files.model.path, "--output", "run"], in: empty)
        #expect(result.status != 0)
        #expect(result.stderr.contains("CoNLL-2003 is not at data/conll2003/"), "\(result.stderr)")
        #expect(result.stderr.contains("Scripts/setup.sh") && result.stderr.contains("--train FILE --dev FILE"))
        #expect(!result.stderr.contains("Usage:") && !result.stderr.contains("--help"),
                "a missing corpus is one line, not the usage text: \(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: empty.appendingPathComponent("run").path))
    }

    @Test(arguments: [
        (["--resume"], "Missing value for '--resume <DIR>'"),
        (["--train", "a.txt"], "give both --train and --dev"),
        (["--train", "a.txt", "--dev", "b.txt", "--output", "o", "--max-length", "2"], "--max-length must be at least 3"),
        (["--train", "a.txt", "--dev", "b.txt", "--output", "o", "--epochs", "0"], "--epochs must be positive"),
        (["--train", "a.txt", "--dev", "b.txt", "--output", "o", "--decoding", "beam"], "--decoding must be viterbi or argmax, not 'beam'"),
        (["--train", "a.txt", "--dev", "b.txt", "--output", "o", "--precision", "int8"],
         "--precision int8 is for tagging (predict, serve); train in fp32, bf16 or auto, then tag with --precision int8"),
    ])
    func inconsistentOptionsAreRejected(arguments: [String], message: String) throws {
        let result = try runTool(["train"] + arguments)
        #expect(result.status != 0)
        #expect(result.stderr.contains(message), "\(result.stderr)")
    }

    @Test func anOutputHoldingAnotherRunIsAnErrorThatSaysWhatToDo() throws {
        let (output, first) = try TinyCLIFixture.trainedRun.get()
        try #require(first.status == 0, "\(first.stderr)")
        let files = try TinyCLIFixture.files.get()
        let result = try runTool(TinyCLIFixture.trainArguments(files, output: output))
        #expect(result.status != 0)
        #expect(result.stderr.contains("\(output.path) already holds a run. Pass --resume to continue it, or choose another --output."),
                "\(result.stderr)")
    }
}

import Foundation
import Testing

/// `predict` on raw text: one document a line, entities with offsets out.
@Suite struct PredictTextTests {
    func bestModel() throws -> URL {
        let (output, result) = try TinyCLIFixture.trainedRun.get()
        try #require(result.status == 0, "training the model to predict with failed: \(result.stderr)")
        return output.appendingPathComponent("best")
    }

    func scratch(_ name: String) throws -> URL {
        try TinyCLIFixture.files.get().root.appendingPathComponent("\(UUID().uuidString.prefix(8))-\(name)")
    }

    /// Every line of JSON Lines output as an object.
    func records(_ stdout: String) throws -> [[String: Any]] {
        try stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any], "not a JSON object: \($0)")
        }
    }

    func entities(_ record: [String: Any]) -> [[String: Any]] { record["entities"] as? [[String: Any]] ?? [] }

    @Test func textOnStandardInputGivesOneJSONObjectPerLineInOrderAndNothingElseOnStandardOutput() throws {
        let model = try bestModel()
        let text = "mr Smith said .\n\nJones went to Paris .\nthe news from Acme corp was good .\n"
        let result = try Binary.run(["predict", "--model", model.path, "--threads", "1"], stdin: text)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("compute:") && result.stderr.contains("tagged 4 lines"), "\(result.stderr)")
        let rows = try records(result.stdout)
        #expect(rows.map { $0["text"] as? String } == ["mr Smith said .", "", "Jones went to Paris .", "the news from Acme corp was good ."])
        for line in result.stdout.split(separator: "\n") { #expect(line.hasPrefix("{\"text\": "), "keys in their fixed order: \(line)") }
        #expect(entities(rows[1]).isEmpty, "a blank line gives an empty result")
        #expect(entities(rows[0]).map { $0["text"] as? String } == ["Smith"])
        #expect(entities(rows[0]).map { $0["type"] as? String } == ["PER"])
        #expect(entities(rows[0]).map { [$0["start"] as? Int, $0["end"] as? Int] } == [[3, 8]])
        let types = Set(rows.flatMap(entities).compactMap { $0["type"] as? String })
        #expect(types == ["PER", "LOC", "ORG"], "\(result.stdout)")
        for entity in rows.flatMap(entities) {
            let score = try #require(entity["score"] as? Double)
            #expect(score > 0 && score <= 1)
        }
    }

    @Test func offsetsSliceTheInputExactlyOnEmojiAccentsCJKAndCombiningMarks() throws {
        let model = try bestModel()
        let lines = [
            "👍🏽 Smith went to Paris . 👨‍👩‍👧",
            "Cafe\u{301} und A\u{30A}ngstro\u{308}m : Jones went to Paris .",
            "東京 ありがとう mr Taylor said .",
            "e\u{301}\u{302}\u{303} the news from Acme corp was good . 🇫🇷",
            "ﬁ Ⅻ ½ Brown went to Rome . ｆｕｌｌ",
        ]
        let input = try scratch("hard.txt")
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: input)
        let result = try Binary.run(["predict", "--model", model.path, "--input", input.path, "--input-format", "text", "--threads", "1"])
        #expect(result.status == 0, "\(result.stderr)")
        let rows = try records(result.stdout)
        try #require(rows.count == lines.count)
        for (line, row) in zip(lines, rows) {
            #expect(row["text"] as? String == line)
            let found = entities(row)
            #expect(!found.isEmpty, "every line names someone or somewhere: \(row)")
            let scalars = Array(line.unicodeScalars)
            for entity in found {
                let start = try #require(entity["start"] as? Int), end = try #require(entity["end"] as? Int)
                try #require(0 <= start && start < end && end <= scalars.count, "\(entity) in \(line)")
                var slice = String.UnicodeScalarView()
                slice.append(contentsOf: scalars[start..<end])
                #expect(String(slice) == entity["text"] as? String, "input[start:end] is the entity's text: \(entity)")
            }
        }
        // Python's offsets: the thumbs-up with its skin tone is two scalars, so "Smith" starts at 3.
        #expect(entities(rows[0]).contains { $0["text"] as? String == "Smith" && $0["start"] as? Int == 3 && $0["end"] as? Int == 8 },
                "\(rows[0])")
    }

    @Test func invalidUTF8IsAnErrorNamingTheFileAndLine() throws {
        let model = try bestModel()
        let input = try scratch("latin1.txt"), output = try scratch("never.jsonl")
        try (Data("mr Smith said .\n".utf8) + Data([0x63, 0x61, 0x66, 0xE9, 0x0A])).write(to: input)
        let result = try Binary.run(["predict", "--model", model.path, "--input", input.path, "--input-format", "text",
                                     "--output", output.path])
        #expect(result.status != 0)
        #expect(result.stderr.contains("\(input.path):2: not valid UTF-8 (byte 4 of the line: 0xE9)"), "\(result.stderr)")
        #expect(result.stdout.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: output.path))
    }

    @Test func invalidUTF8OnStandardInputNamesStandardInputAndTheLine() throws {
        let model = try bestModel()
        let process = Process()
        process.executableURL = Binary.url
        process.arguments = ["predict", "--model", model.path]
        let input = try scratch("stdin.bin")
        try Data([0x61, 0x0A, 0x62, 0x0A, 0xC3, 0x28, 0x0A]).write(to: input)
        process.standardInput = try FileHandle(forReadingFrom: input)
        let err = Pipe()
        process.standardError = err
        process.standardOutput = Pipe()
        try process.run()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus != 0)
        #expect(stderr.contains("standard input:3: not valid UTF-8 (byte 1 of the line: 0xC3)"), "\(stderr)")
    }

    @Test func aLineLongerThanMaxLineBytesIsAnErrorNamingTheLine() throws {
        let model = try bestModel()
        let text = "mr Smith said .\nshort\n" + String(repeating: "smith ", count: 10) + "\n"
        let result = try Binary.run(["predict", "--model", model.path, "--max-line-bytes", "40"], stdin: text)
        #expect(result.status != 0)
        #expect(result.stderr.contains("standard input:3: the line is 60 bytes long, more than --max-line-bytes 40 allows"), "\(result.stderr)")
        #expect(result.stderr.contains("split it into shorter lines"), "\(result.stderr)")
        #expect(result.stdout.isEmpty, "nothing is written before the input is known good")
        let zero = try Binary.run(["predict", "--model", model.path, "--max-line-bytes", "0"], stdin: "")
        #expect(zero.stderr.contains("--max-line-bytes must be at least 1"), "\(zero.stderr)")
    }

    @Test func aWordTooLongForAWindowIsAnErrorNamingTheLineAndNothingIsWritten() throws {
        // A copy of the model whose vocabulary has a continuation piece, so "smithth" is two pieces: smith ##th.
        let copy = try scratch("two-piece-model")
        try FileManager.default.copyItem(at: try bestModel(), to: copy)
        let vocabulary = copy.appendingPathComponent("vocab.txt")
        let words = try String(contentsOf: vocabulary, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        try #require(words.contains("city"))
        try words.map { $0 == "city" ? "##th" : $0 }.joined(separator: "\n").write(to: vocabulary, atomically: true, encoding: .utf8)
        let output = try scratch("never-long.jsonl")
        // A window of 3 tokens holds one piece between [CLS] and [SEP].
        let result = try Binary.run(["predict", "--model", copy.path, "--max-length", "3", "--output", output.path],
                                    stdin: "mr Smith said .\nJones smithth went\n")
        #expect(result.status != 0)
        #expect(result.stderr.contains("standard input:2: the word \"smithth\" at offset 6 has 2 sub-word pieces, more than fit in a window of 3 tokens"),
                "\(result.stderr)")
        #expect(result.stderr.contains("raise --max-length"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: output.path))
    }

    @Test func anEncoderWithoutAClassifierIsTheTaggersErrorForTextToo() throws {
        let files = try TinyCLIFixture.files.get()
        let result = try Binary.run(["predict", "--model", files.model.path], stdin: "mr Smith said .\n")
        #expect(result.status != 0)
        #expect(result.stderr.contains("no classifier (classifier.weight, classifier.bias)"), "\(result.stderr)")
        #expect(result.stdout.isEmpty)
    }

    @Test func textToCoNLLGivesEachLinesWordsWithTheirLabels() throws {
        let model = try bestModel()
        let result = try Binary.run(["predict", "--model", model.path, "--format", "conll"], stdin: "mr Smith said.\n\nJones went to Paris\n")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "mr O\nSmith B-PER\nsaid O\n. O\n\n\nJones B-PER\nwent O\nto O\nParis B-LOC\n\n", "\(result.stdout)")
    }

    @Test func theInputFormatFollowsTheFileNameAndStandardInputIsText() throws {
        let model = try bestModel()
        let files = try TinyCLIFixture.files.get()
        // A .jsonl file is JSON Lines of words; its output keeps them and adds predictions.
        let jsonl = try scratch("words.jsonl")
        try "{\"tokens\": [\"mr\", \"Smith\", \"said\", \".\"]}\n".write(to: jsonl, atomically: true, encoding: .utf8)
        let fromJSONL = try Binary.run(["predict", "--model", model.path, "--input", jsonl.path])
        #expect(fromJSONL.status == 0, "\(fromJSONL.stderr)")
        #expect(fromJSONL.stdout == "{\"tokens\": [\"mr\",\"Smith\",\"said\",\".\"], \"predictions\": [\"O\",\"B-PER\",\"O\",\"O\"]}\n",
                "\(fromJSONL.stdout)")
        // Any other file is CoNLL (CoNLL-2003's files end in .txt): one more column.
        let fromCoNLL = try Binary.run(["predict", "--model", model.path, "--input", files.dev.path])
        #expect(fromCoNLL.status == 0, "\(fromCoNLL.stderr)")
        #expect(fromCoNLL.stdout.hasPrefix("-DOCSTART- -X- O\n\n"), "\(fromCoNLL.stdout.prefix(200))")
        // CoNLL on standard input, when asked for.
        let conllText = try String(contentsOf: files.dev, encoding: .utf8)
        let piped = try Binary.run(["predict", "--model", model.path, "--input-format", "conll"], stdin: conllText)
        #expect(piped.status == 0, "\(piped.stderr)")
        #expect(piped.stdout == fromCoNLL.stdout)
    }

    @Test func aTxtFileIsReadAsRawTextOrCoNLLByItsContentAndStandardErrorSaysWhich() throws {
        let model = try bestModel()
        // Raw text, even with the same number of words on every line.
        let raw = try scratch("notes.txt")
        try "mr Smith said .\nJones went to .\n".write(to: raw, atomically: true, encoding: .utf8)
        let text = try Binary.run(["predict", "--model", model.path, "--input", raw.path])
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stderr.contains("reading \(raw.path) as raw text, one document a line"), "\(text.stderr)")
        #expect(try records(text.stdout).map { $0["text"] as? String } == ["mr Smith said .", "Jones went to ."])
        // CoNLL without -DOCSTART-: tags in the last column.
        let conll = try scratch("tagged.txt")
        try "mr O\nSmith B-PER\n\nJones B-PER\nwent O\n".write(to: conll, atomically: true, encoding: .utf8)
        let corpus = try Binary.run(["predict", "--model", model.path, "--input", conll.path])
        #expect(corpus.status == 0, "\(corpus.stderr)")
        #expect(corpus.stderr.contains("reading \(conll.path) as CoNLL (from its content; --input-format text for raw text)"), "\(corpus.stderr)")
        #expect(corpus.stdout == "mr O O\nSmith B-PER B-PER\n\nJones B-PER B-PER\nwent O O\n", "\(corpus.stdout)")
        // One word a line, without tags.
        let words = try scratch("words.txt")
        try "mr\nSmith\nsaid\n".write(to: words, atomically: true, encoding: .utf8)
        let column = try Binary.run(["predict", "--model", model.path, "--input", words.path])
        #expect(column.stdout == "mr O\nSmith B-PER\nsaid O\n", "\(column.stdout)")
        // The option decides over the content.
        let forced = try Binary.run(["predict", "--model", model.path, "--input", conll.path, "--input-format", "text"])
        #expect(try records(forced.stdout).count == 5)
        #expect(!forced.stderr.contains("reading \(conll.path) as"), "\(forced.stderr)")
    }

    @Test func theModelsTaggingSettingsAreReadAndOptionsOverrideThem() throws {
        let model = try bestModel()
        // A copy of the model whose tagging.json cuts every text into windows of 4 tokens and argmax-decodes.
        let copy = try scratch("model-copy")
        try FileManager.default.copyItem(at: model, to: copy)
        let settings = "{\"context\": 0, \"max_length\": 4, \"stride\": 1, \"decoding\": \"argmax\", \"aggregation\": \"max\", \"scheme\": null}\n"
        try settings.write(to: copy.appendingPathComponent("tagging.json"), atomically: true, encoding: .utf8)
        let text = "mr Smith said . Jones went to Paris . the news from Acme corp was good .\n"
        let fromFile = try Binary.run(["predict", "--model", copy.path, "--threads", "1"], stdin: text)
        let fromOptions = try Binary.run(["predict", "--model", model.path, "--threads", "1", "--max-length", "4", "--stride", "1",
                                          "--decoding", "argmax", "--aggregation", "max"], stdin: text)
        #expect(fromFile.status == 0 && fromOptions.status == 0, "\(fromFile.stderr) \(fromOptions.stderr)")
        #expect(fromFile.stdout == fromOptions.stdout)
        // The copy's options in place of its file give the original's output.
        let original = try Binary.run(["predict", "--model", model.path, "--threads", "1"], stdin: text)
        let overridden = try Binary.run(["predict", "--model", copy.path, "--threads", "1", "--max-length", "64", "--stride", "16",
                                         "--decoding", "viterbi", "--aggregation", "first"], stdin: text)
        #expect(original.stdout == overridden.stdout)
        #expect(!original.stdout.isEmpty)
        // A saved stride too wide for a shorter --max-length gives way to the default, and says so.
        try "{\"max_length\": 64, \"stride\": 16}".write(to: copy.appendingPathComponent("tagging.json"), atomically: true, encoding: .utf8)
        let shorter = try Binary.run(["predict", "--model", copy.path, "--max-length", "10"], stdin: text)
        #expect(shorter.status == 0, "\(shorter.stderr)")
        #expect(shorter.stderr.contains("the stride 16 of tagging.json does not fit windows of --max-length 10; using the default"), "\(shorter.stderr)")
        // A bad tagging.json is named.
        try "{\"decoding\": \"beam\"}".write(to: copy.appendingPathComponent("tagging.json"), atomically: true, encoding: .utf8)
        let bad = try Binary.run(["predict", "--model", copy.path], stdin: text)
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("\(copy.path)/tagging.json: key \"decoding\""), "\(bad.stderr)")
    }

    @Test func corpusOptionsOnTextInputAreAnErrorNotIgnored() throws {
        let model = try bestModel()
        let result = try Binary.run(["predict", "--model", model.path, "--token-column", "1", "--tag-field", "ner"], stdin: "mr Smith said .\n")
        #expect(result.status != 0)
        #expect(result.stderr.contains("--token-column, --tag-field apply to CoNLL or JSONL input, but standard input is read as raw text"),
                "\(result.stderr)")
        #expect(result.stdout.isEmpty)
    }

    @Test func decodingAndAggregationChoicesAreChecked() throws {
        let result = try Binary.run(["predict", "--model", "m", "--decoding", "beam"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("viterbi") && result.stderr.contains("argmax"), "\(result.stderr)")
        let aggregation = try Binary.run(["predict", "--model", "m", "--aggregation", "mean"])
        #expect(aggregation.status != 0)
        #expect(aggregation.stderr.contains("first") && aggregation.stderr.contains("average"), "\(aggregation.stderr)")
    }

    @Test func decodingAndAggregationWorkOnCoNLLInput() throws {
        let model = try bestModel()
        let files = try TinyCLIFixture.files.get()
        for (decoding, aggregation) in [("argmax", "average"), ("viterbi", "max")] {
            let result = try Binary.run(["predict", "--model", model.path, "--input", files.dev.path, "--decoding", decoding,
                                         "--aggregation", aggregation, "--threads", "1"])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stderr.contains("tagged 12 sentences"), "\(result.stderr)")
        }
    }

    @Test func theHelpShowsThePipeAndTheOptions() throws {
        let help = try Binary.run(["predict", "--help"])
        let text = help.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        for expected in ["echo \"My name is Don Quixote .\" | bert-tagger predict --model runs/conll/best",
                         "--input-format <input-format>", "--decoding <decoding>", "--aggregation <aggregation>",
                         "--max-line-bytes <BYTES>", "{\"type\", \"start\", \"end\", \"text\", \"score\"}"] {
            #expect(text.contains(expected), "\(expected) in \(help.stdout)")
        }
    }
}

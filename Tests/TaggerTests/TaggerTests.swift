import BERT
import Datasets
import Foundation
import SafeTensors
import SeqEval
import Tensors
import Testing
@testable import Tagger

/// Random texts over the tiny model's words, with emoji, accents, CJK and combining marks mixed in.
func randomTexts(_ count: Int, words: ClosedRange<Int>, seed: UInt64) -> [String] {
    let pool = ["my", "name", "is", "Don", "Quixote", "and", "I", "live", "in", "La", "Mancha", "Paris", "café",
                "Zürich", "the", "city", "of", "Tokyo", "went", "to", "he", "said", "São", "Paulo's", "New", "York", ".",
                ",", "!", "(", ")", "东京", "日本", "😀", "👍🏽", "❤\u{FE0F}", "Cafe\u{301}", "👨\u{200D}👩\u{200D}👧",
                "Ωmega", "x\u{308}y", "—", "«quoted»"]
    var random = Datasets.SplitMix64(seed: seed)
    return (0..<count).map { _ in
        (0..<Int.random(in: words, using: &random)).map { _ in pool.randomElement(using: &random)! }
            .joined(separator: Bool.random(using: &random) ? " " : "  ")
    }
}

@Suite("the Tagger", .serialized)
struct TaggerTests {
    init() { Parallel.setThreadCount(2) }

    private func tagger(_ settings: TaggingSettings? = nil, concurrency: Int = 2) throws -> (Tagger, URL) {
        let directory = try TaggerTestModels.tiny(settings: settings)
        return (try Tagger(directory: directory, precision: .fp32, batchTokens: 256, concurrency: concurrency), directory)
    }

    @Test func entityOffsetsSliceTheInputExactly() throws {
        let (tagger, directory) = try tagger()
        defer { try? FileManager.default.removeItem(at: directory) }
        var entityCount = 0
        for text in randomTexts(60, words: 1...25, seed: 1) {
            let tagged = try tagger.tag(text: text)
            #expect(tagged.text == text)
            for word in tagged.words { #expect(slice(text, word.start..<word.end) == word.text) }
            for entity in tagged.entities {
                entityCount += 1
                #expect(slice(text, entity.start..<entity.end) == entity.text, "\(entity) in \(text)")
                #expect(entity.start == tagged.words[entity.words.lowerBound].start)
                #expect(entity.end == tagged.words[entity.words.upperBound - 1].end)
                #expect(!entity.text.unicodeScalars.first!.properties.isWhitespace)
            }
        }
        #expect(entityCount > 20, "the random model should find some entities")
    }

    @Test func entitiesAreTypedSpansWithTheMeanWordProbabilityAsScore() throws {
        let (tagger, directory) = try tagger()
        defer { try? FileManager.default.removeItem(at: directory) }
        for tagged in try tagger.tag(texts: randomTexts(20, words: 3...20, seed: 2)) {
            for entity in tagged.entities {
                let words = tagged.words[entity.words]
                let mean = words.reduce(0) { $0 + $1.probability } / Double(words.count)
                #expect(abs(entity.score - mean) < 1e-12)
                #expect(words.allSatisfy { Tag(parsing: $0.label).type == entity.type })
            }
            for word in tagged.words { #expect(word.probability > 0 && word.probability <= 1) }
        }
    }

    @Test func viterbiDecodingIsAlwaysWellFormedWhereArgmaxIsNot() throws {
        let (viterbi, directory) = try tagger()
        defer { try? FileManager.default.removeItem(at: directory) }
        let argmax = try Tagger(directory: directory, settings: TaggingSettings(decoding: .argmax), precision: .fp32,
                                batchTokens: 256)
        #expect(viterbi.scheme == .iob2)
        let index = Dictionary(uniqueKeysWithValues: viterbi.labels.labels.enumerated().map { ($0.element, $0.offset) })
        var illFormedArgmax = 0
        let texts = randomTexts(40, words: 2...20, seed: 3)
        for (v, a) in zip(try viterbi.tag(texts: texts), try argmax.tag(texts: texts)) {
            #expect(viterbi.transitions.isWellFormed(v.words.map { index[$0.label]! }), "\(v.words.map(\.label))")
            if !viterbi.transitions.isWellFormed(a.words.map { index[$0.label]! }) { illFormedArgmax += 1 }
            // An entity read from a well-formed sequence covers every word that is not O.
            let covered = v.entities.reduce(0) { $0 + $1.words.count }
            #expect(covered == v.words.filter { $0.label != "O" }.count)
        }
        #expect(illFormedArgmax > 0, "argmax over the random model should produce I- after O somewhere")
    }

    @Test func longTextsAreWindowedAndEveryWordIsPredictedOnceByTheWindowThatOwnsIt() throws {
        // Windows of 12 tokens sharing 4 pieces; the same text in one window for comparison.
        let (windowed, directory) = try tagger(TaggingSettings(maxLength: 12, stride: 4, decoding: .argmax))
        defer { try? FileManager.default.removeItem(at: directory) }
        let whole = try Tagger(directory: directory, settings: TaggingSettings(decoding: .argmax), precision: .fp32,
                               batchTokens: 256)
        let text = randomTexts(1, words: 120...120, seed: 4)[0]
        let tagged = try windowed.tag(text: text)
        let split = TextWords(text, tokenizer: windowed.tokenizer)
        #expect(tagged.words.count == split.spans.count)
        #expect(tagged.words.map(\.start) == split.spans.map(\.lowerBound))

        let sentence = Sentence(words: tagged.words.map(\.text))
        let windows = try windowed.windowing.windows(of: split.encoded, sentence: sentence, index: 0, file: "text")
        #expect(windows.count > 5)
        #expect(windows.map(\.ownedWords.count).reduce(0, +) == tagged.words.count)
        for window in windows {
            // The window's words tagged on their own are exactly what the window saw.
            let alone = try whole.tag(words: Array(sentence.words[window.words]))
            for w in window.ownedWords {
                let expected = alone.words[w - window.words.lowerBound], found = tagged.words[w]
                #expect(found.label == expected.label, "word \(w) '\(found.text)'")
                #expect(abs(found.probability - expected.probability) < 1e-5, "word \(w) '\(found.text)'")
            }
        }
    }

    @Test func concurrentCallsGiveWhatSerialCallsGive() throws {
        let (tagger, directory) = try tagger(concurrency: 3)
        defer { try? FileManager.default.removeItem(at: directory) }
        let texts = randomTexts(24, words: 1...30, seed: 5)
        let serial = try texts.map { try tagger.tag(text: $0) }
        let results = ConcurrentResults(count: texts.count * 4)
        DispatchQueue.concurrentPerform(iterations: texts.count * 4) { i in
            results.set(i, Result { try tagger.tag(text: texts[i % texts.count]) })
        }
        for i in 0..<(texts.count * 4) {
            #expect(try results.get(i).get() == serial[i % texts.count], "call \(i)")
        }
        #expect(tagger.modelCount <= 3)
    }

    @Test func batchingTextsTogetherDoesNotChangeTheirTags() throws {
        let (tagger, directory) = try tagger()
        defer { try? FileManager.default.removeItem(at: directory) }
        let texts = randomTexts(30, words: 0...30, seed: 6)
        let together = try tagger.tag(texts: texts)
        for (text, batched) in zip(texts, together) {
            let alone = try tagger.tag(text: text)
            #expect(alone.words.map(\.label) == batched.words.map(\.label))
            #expect(zip(alone.words, batched.words).allSatisfy { abs($0.probability - $1.probability) < 1e-5 })
            #expect(alone.entities.map(\.text) == batched.entities.map(\.text))
        }
    }

    @Test func blankTextGivesAnEmptyResult() throws {
        let (tagger, directory) = try tagger()
        defer { try? FileManager.default.removeItem(at: directory) }
        for text in ["", "   ", "\t\n"] {
            let tagged = try tagger.tag(text: text)
            #expect(tagged.words.isEmpty && tagged.entities.isEmpty && tagged.text == text)
        }
        #expect(try tagger.tag(texts: []).isEmpty)
        #expect(try tagger.tag(words: []).words.isEmpty)
    }

    @Test func preSplitWordsAreTaggedWithOffsetsInTheWordsJoinedBySpaces() throws {
        let (tagger, directory) = try tagger()
        defer { try? FileManager.default.removeItem(at: directory) }
        let words = ["Don", "Quixote", "went", "to", "São", "Paulo", "😀", "."]
        let tagged = try tagger.tag(words: words)
        #expect(tagged.text == "Don Quixote went to São Paulo 😀 .")
        #expect(tagged.words.map(\.text) == words)
        #expect(tagged.words.map(\.start) == [0, 4, 12, 17, 20, 24, 30, 32])
        for entity in tagged.entities { #expect(slice(tagged.text, entity.start..<entity.end) == entity.text) }
    }

    @Test func documentContextFromTheSettingsFeedsNeighbouringSentences() throws {
        let (alone, directory) = try tagger(TaggingSettings(decoding: .argmax))
        defer { try? FileManager.default.removeItem(at: directory) }
        let withContext = try Tagger(directory: directory, settings: TaggingSettings(context: 16, decoding: .argmax),
                                     precision: .fp32, batchTokens: 256)
        let sentences = [["he", "went", "to", "Paris"], ["she", "said", "Tokyo"], ["my", "name", "is", "Don"]]
        let sameDocument = Corpus(file: "doc", sentences: sentences.map { Sentence(words: $0, document: 0) })
        let ownDocuments = Corpus(file: "doc", sentences: sentences.enumerated().map { Sentence(words: $1, document: $0) })
        let a = try alone.tag(corpus: sameDocument), b = try withContext.tag(corpus: sameDocument)
        let c = try withContext.tag(corpus: ownDocuments)
        #expect(a.map { $0.words.map(\.probability) } != b.map { $0.words.map(\.probability) },
                "context changes what the model sees")
        for (x, y) in zip(a, c) {
            #expect(zip(x.words, y.words).allSatisfy { abs($0.probability - $1.probability) < 1e-6 },
                    "no context crosses documents")
        }
    }

    @Test func settingsSavedWithTheModelAreUsed() throws {
        let saved = TaggingSettings(maxLength: 16, stride: 3, decoding: .argmax, aggregation: .max, scheme: .iob1)
        let (tagger, directory) = try tagger(saved)
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(tagger.settings == saved)
        #expect(tagger.scheme == .iob1)
        #expect(tagger.windowing.maxLength == 16 && tagger.windowing.stride == 3)
        let overridden = try Tagger(directory: directory, settings: TaggingSettings(), precision: .fp32, batchTokens: 256)
        #expect(overridden.settings == TaggingSettings() && overridden.scheme == .iob2)
        #expect(overridden.windowing.maxLength == 64)
    }

    @Test func aSchemeTheLabelsDoNotFitIsAnErrorNamingTheSettingsFile() throws {
        let directory = try TaggerTestModels.tiny(settings: TaggingSettings(scheme: .iobes))
        defer { try? FileManager.default.removeItem(at: directory) }
        // IOB2's labels are IOBES tags too; IOE2 has no B-.
        try TaggingSettings(scheme: .ioe2).save(in: directory)
        let error = #expect(throws: TaggerError.self) { try Tagger(directory: directory, precision: .fp32) }
        #expect("\(error!)".contains(directory.appendingPathComponent("tagging.json").path), "\(error!)")
        #expect("\(error!)".contains("label 'B-LOC' is not a tag of IOE2"), "\(error!)")
    }

    @Test func aStrideTooLargeForTheLengthIsAnErrorNamingTheKey() throws {
        let directory = try TaggerTestModels.tiny(settings: TaggingSettings(maxLength: 8, stride: 6))
        defer { try? FileManager.default.removeItem(at: directory) }
        let error = #expect(throws: TaggerError.self) { try Tagger(directory: directory, precision: .fp32) }
        #expect("\(error!)".contains("tagging.json: key \"stride\""), "\(error!)")
    }

    @Test func aWordLongerThanAWindowIsAnErrorNamingTheTextAndOffset() throws {
        let (tagger, directory) = try tagger(TaggingSettings(maxLength: 4))
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(try tagger.tag(text: "he went to Paris").words.count == 4)
        #expect(throws: TaggerError.wordTooLong(text: 1, start: 4, word: "Quixote", pieces: 3, maxLength: 4)) {
            try tagger.tag(texts: ["he", "Don Quixote"])
        }
    }

    @Test(.enabled(if: TaggerTestModels.hasEncoder, "needs models/all-MiniLM-L6-v2"))
    func thePretrainedEncoderIsAnErrorThatSaysToFineTuneIt() {
        let weights = TaggerTestModels.encoder.appendingPathComponent("model.safetensors").path
        #expect(throws: TaggerError.noClassifier(path: weights)) { try Tagger(directory: TaggerTestModels.encoder) }
    }

    @Test func aDirectorySavedByTransformersTagsText() throws {
        // Tests/BERTTests/Fixtures/tiny-gelu: config.json and model.safetensors as transformers wrote them.
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("BERTTests/Fixtures/tiny-gelu")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tagger-hf-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        for file in ["config.json", "model.safetensors"] {
            try FileManager.default.copyItem(at: fixture.appendingPathComponent(file), to: directory.appendingPathComponent(file))
        }
        let words = ["paris", "london", "smith", "went", "to", "the", "city", ".", ","]
        let vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + words
            + (0..<(99 - 5 - words.count)).map { "##x\($0)" }
        try vocabulary.joined(separator: "\n").write(to: directory.appendingPathComponent("vocab.txt"), atomically: true, encoding: .utf8)

        let tagger = try Tagger(directory: directory, precision: .fp32)
        #expect(tagger.labels.labels == ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"] && tagger.scheme == .iob2)
        #expect(tagger.settings == TaggingSettings())
        let tagged = try tagger.tag(text: "Smith went to Paris, the city.")
        #expect(tagged.words.map(\.text) == ["Smith", "went", "to", "Paris", ",", "the", "city", "."])
        #expect(tagged.words.allSatisfy { tagger.labels.labels.contains($0.label) })
    }

    @Test func labelsWithoutASchemeAreDecodedUnconstrainedAndMarkNoEntities() throws {
        let directory = try TaggerTestModels.tiny(labels: ["NN", "VB", "DT", "IN"])
        defer { try? FileManager.default.removeItem(at: directory) }
        let tagger = try Tagger(directory: directory, precision: .fp32)
        let argmax = try Tagger(directory: directory, settings: TaggingSettings(decoding: .argmax), precision: .fp32)
        #expect(tagger.scheme == nil)
        let texts = randomTexts(10, words: 3...12, seed: 8)
        for (v, a) in zip(try tagger.tag(texts: texts), try argmax.tag(texts: texts)) {
            #expect(v.words.map(\.label) == a.words.map(\.label))
            #expect(v.entities.isEmpty)
        }
    }

    @Test func aMissingDirectoryIsAnError() {
        #expect(throws: TaggerError.missingModelDirectory(path: "/nonexistent/model")) {
            try Tagger(directory: URL(fileURLWithPath: "/nonexistent/model"))
        }
    }

    @Test func anEncoderWithoutAClassifierIsAnErrorThatSaysToFineTuneIt() throws {
        let directory = try TaggerTestModels.tiny()
        defer { try? FileManager.default.removeItem(at: directory) }
        let weights = directory.appendingPathComponent("model.safetensors")
        let file = try SafeTensorsFile(contentsOf: weights)
        let tensors = try file.names.filter { !$0.hasPrefix("classifier.") }.map {
            F32Tensor(name: $0, shape: file.info($0)!.shape, values: try file.floats($0))
        }
        try SafeTensorsWriter.write(tensors, metadata: ["format": "pt"], to: weights)
        #expect(throws: TaggerError.noClassifier(path: weights.path)) { try Tagger(directory: directory, precision: .fp32) }
        #expect(TaggerError.noClassifier(path: weights.path).description.contains("Fine-tune it first"))
    }
}

/// Results written from many threads, one slot each.
final class ConcurrentResults: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [Result<TaggedText, any Error>?]
    init(count: Int) { slots = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ result: Result<TaggedText, any Error>) { lock.lock(); slots[i] = result; lock.unlock() }
    func get(_ i: Int) throws -> Result<TaggedText, any Error> {
        lock.lock(); defer { lock.unlock() }
        return try #require(slots[i])
    }
}

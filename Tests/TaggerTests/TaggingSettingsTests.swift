import Foundation
import SeqEval
import Testing
@testable import Tagger

@Suite("tagging settings saved with a model")
struct TaggingSettingsTests {
    private func folder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("tagging-settings-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test func settingsReadBackAsSaved() throws {
        let directory = try folder()
        defer { try? FileManager.default.removeItem(at: directory) }
        let settings = TaggingSettings(context: 64, maxLength: 256, stride: 32, decoding: .argmax, aggregation: .average,
                                       scheme: .iob1)
        try settings.save(in: directory)
        #expect(try TaggingSettings.load(from: directory) == settings)
        try TaggingSettings().save(in: directory)
        #expect(try TaggingSettings.load(from: directory) == TaggingSettings())
    }

    @Test func aDirectoryWithoutTheFileGetsTheDefaults() throws {
        let directory = try folder()
        defer { try? FileManager.default.removeItem(at: directory) }
        let settings = try TaggingSettings.load(from: directory)
        #expect(settings == TaggingSettings())
        #expect(settings.decoding == .viterbi && settings.aggregation == .first && settings.context == 0)
    }

    @Test func aPartialFileKeepsTheDefaultsForWhatItOmits() throws {
        let settings = try TaggingSettings.decode(Array(#"{"aggregation": "max"}"#.utf8), file: "tagging.json")
        #expect(settings == TaggingSettings(aggregation: .max))
    }

    @Test(arguments: [
        (#"{"strides": 3}"#, #"key "strides": unknown key"#),
        (#"{"context": -1}"#, #"key "context": expected an integer of at least 0"#),
        (#"{"max_length": 2}"#, #"key "max_length": expected an integer of at least 3 or null"#),
        (#"{"decoding": "beam"}"#, #"key "decoding": expected one of "viterbi", "argmax", found "beam""#),
        (#"{"scheme": "IOB3"}"#, #"key "scheme": expected one of"#),
        (#"{"context": 1, "context": 2}"#, #"key "context": appears twice"#),
        (#"[1]"#, "expected a JSON object, found an array"),
        (#"{"context": 1"#, "not valid JSON"),
    ])
    func badSettingsAreAnErrorNamingTheFileAndKey(json: String, message: String) {
        do {
            _ = try TaggingSettings.decode(Array(json.utf8), file: "/m/tagging.json")
            Issue.record("\(json) was accepted")
        } catch {
            let text = "\(error)"
            #expect(text.hasPrefix("/m/tagging.json: "), "\(text)")
            #expect(text.contains(message), "\(text)")
            #expect(!text.contains(".."), "\(text)")
        }
    }

    @Test func anUnreadableFileIsNamedInPlainWords() throws {
        let directory = try folder()
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.createDirectory(at: directory.appendingPathComponent(TaggingSettings.fileName),
                                                withIntermediateDirectories: false)
        do {
            _ = try TaggingSettings.load(from: directory)
            Issue.record("a directory named tagging.json was read as settings")
        } catch {
            let text = "\(error)"
            #expect(text.contains("tagging.json: unreadable (") && text.contains("directory"), "\(text)")
            #expect(!text.contains("NSCocoaErrorDomain") && !text.contains("could not be completed"), "\(text)")
        }
    }
}

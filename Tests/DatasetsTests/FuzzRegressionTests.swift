import Foundation
import Testing
import Datasets

/// Inputs the fuzz targets (Fuzz/) found a fault with, kept in Fuzz/Regressions/<target>/.
@Suite("Fuzz regressions")
struct FuzzRegressionTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fuzz/Regressions")

    static func fixture(_ path: String) throws -> (path: String, data: Data) {
        let url = folder.appendingPathComponent(path)
        return (url.path, try Data(contentsOf: url))
    }

    @Test(arguments: ["duplicate-label.json", "duplicate-label-id2label.json"])
    func aLabelNamesFileListingALabelTwiceIsRefusedNamingTheFile(name: String) throws {
        let (path, data) = try Self.fixture("label-names/" + name)
        let error = datasetError { _ = try LabelNames.fromFile(data, source: path, tagField: nil) }
        #expect(error == .invalidLabelNames(source: path, problem: "label \"O\" appears twice in the label list; each label needs one id"))
        #expect(error?.description.hasPrefix("--label-names \(path): label \"O\" appears twice") == true)
    }
}

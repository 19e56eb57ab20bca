import Foundation
import FuzzSupport
import Tagger

/// tagging.json: settings, or one `TaggerError` naming the file.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTaggingSettings(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let path = "fuzz/tagging.json"
    do {
        let settings = try TaggingSettings.decode(Array(UnsafeBufferPointer(start: data, count: size)), file: path)
        require(settings.context >= 0, "context \(settings.context)")
        require((settings.maxLength ?? 3) >= 3, "max_length \(settings.maxLength!)")
        require((settings.stride ?? 0) >= 0, "stride \(settings.stride!)")
    } catch {
        requireCleanError(error, TaggerError.self, naming: path)
    }
    return 0
}

import Foundation

/// Raw text read as one document a line: lines end at `\n` (a `\r` before it is dropped, so CRLF files give
/// the same texts), a byte-order mark at the start of the input is dropped, and a final line without `\n`
/// counts. Every line must be UTF-8 and at most `maxLineBytes` long; the error names the file and line.
enum TextLines {
    static func split(_ data: Data, file: String, maxLineBytes: Int) throws -> [String] {
        try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> [String] in
            let bytes = raw.bindMemory(to: UInt8.self)
            var lines: [String] = []
            var start = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
            var number = 0
            while start < bytes.count {
                number += 1
                var end = start
                while end < bytes.count && bytes[end] != UInt8(ascii: "\n") { end += 1 }
                let next = end + 1
                if end > start && bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
                let line = UnsafeBufferPointer(rebasing: bytes[start..<end])
                if line.count > maxLineBytes {
                    throw CommandError("\(file):\(number): the line is \(line.count) bytes long, more than --max-line-bytes \(maxLineBytes) "
                        + "allows (the memory a text may take); split it into shorter lines (each line is tagged as a document of its own) "
                        + "or raise --max-line-bytes.")
                }
                lines.append(try decode(line, file: file, line: number))
                start = next
            }
            return lines
        }
    }

    /// The line as a string, or an error naming the first byte that is not UTF-8.
    static func decode(_ bytes: UnsafeBufferPointer<UInt8>, file: String, line: Int) throws -> String {
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = bytes.makeIterator()
        var offset = 0
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let encoded): offset += encoded.count
            case .emptyInput: return String(decoding: bytes, as: UTF8.self)
            case .error(let length):
                let bad = bytes[offset..<offset + length].map { String(format: "0x%02X", $0) }.joined(separator: " ")
                throw CommandError("\(file):\(line): not valid UTF-8 (byte \(offset + 1) of the line: \(bad)); "
                    + "convert the text to UTF-8 (for example `iconv -f latin1 -t utf-8`).")
            }
        }
    }
}

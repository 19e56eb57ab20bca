/// A tagged text as one JSON object on one line, keys in a fixed order:
/// `{"text": ..., "entities": [{"type", "start", "end", "text", "score"}, ...]}`, offsets in Unicode scalars
/// (as Python indexes a `str`), so `text[start:end]` in Python is the entity's text.
public enum EntityJSON {
    public static func line(_ tagged: TaggedText) -> String {
        var json = "{\"text\": " + quoted(tagged.text) + ", \"entities\": ["
        for (index, entity) in tagged.entities.enumerated() {
            if index > 0 { json += ", " }
            json += "{\"type\": \(quoted(entity.type)), \"start\": \(entity.start), \"end\": \(entity.end), "
                + "\"text\": \(quoted(entity.text)), \"score\": \(number(entity.score))}"
        }
        return json + "]}"
    }

    /// A score as JSON: the shortest decimal that reads back as the same double; null if it is not finite
    /// (JSON has no NaN).
    static func number(_ value: Double) -> String {
        value.isFinite ? "\(value)" : "null"
    }

    /// `text` as a JSON string: quotes, backslashes and control characters escaped, everything else as is (UTF-8).
    public static func quoted(_ text: String) -> String {
        var json = "\""
        json.reserveCapacity(text.utf8.count + 2)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": json += "\\\""
            case "\\": json += "\\\\"
            case "\n": json += "\\n"
            case "\r": json += "\\r"
            case "\t": json += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                let hex = String(scalar.value, radix: 16)
                json += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: json.unicodeScalars.append(scalar)
            }
        }
        return json + "\""
    }
}

import StrictJSON

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

    /// `text` as a JSON string (StrictJSON's writer: quotes, backslashes and control characters escaped,
    /// everything else as is, UTF-8).
    public static func quoted(_ text: String) -> String { JSON.quoted(text) }
}

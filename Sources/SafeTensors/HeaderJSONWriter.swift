import StrictJSON

/// JSON text for the writer, escaped as serde_json does so headers match the reference writer's bytes.
enum HeaderJSONWriter {
    static func quoted(_ text: String) -> String { JSON.quoted(text) }
}

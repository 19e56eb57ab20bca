/// Tagged texts as one self-contained HTML page, in the manner of spaCy's displaCy entity view: every text a
/// paragraph, every entity a coloured mark with its type after it, a legend of the types with their colours and
/// counts at the top. The page needs nothing else (inline CSS, no fonts, images or scripts fetched), and every
/// piece of text is escaped, so markup in the input (`<script>`, `&lt;`) shows as the characters it is.
public enum EntityHTML {
    /// displaCy's colours for the types its English models use, and the CoNLL-2003 ones.
    static let knownColours: [String: String] = [
        "PER": "#aa9cfc", "PERSON": "#aa9cfc", "ORG": "#7aecec", "LOC": "#ff9561", "GPE": "#feca74",
        "MISC": "#f0d0ff", "NORP": "#c887fb", "FAC": "#9cc9cc", "PRODUCT": "#bfeeb7", "EVENT": "#ffeb80",
        "WORK_OF_ART": "#f0d0ff", "LAW": "#ff8197", "LANGUAGE": "#ff8197", "DATE": "#bfe1d9", "TIME": "#bfe1d9",
        "PERCENT": "#e4e7d2", "MONEY": "#e4e7d2", "QUANTITY": "#e4e7d2", "ORDINAL": "#e4e7d2", "CARDINAL": "#e4e7d2",
    ]

    /// The colour of an entity type: displaCy's for the types it knows, else a light colour that depends on the
    /// name alone (the same type has the same colour on every page).
    public static func colour(of type: String) -> String {
        if let known = knownColours[type.uppercased()] { return known }
        // FNV-1a over the name's bytes: stable across runs, unlike Swift's seeded hashing.
        var hash: UInt32 = 2_166_136_261
        for byte in type.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        return "hsl(\(hash % 360), 80%, 80%)"
    }

    /// The page for `texts`, titled `title`. Entities are drawn from their scalar offsets into each text.
    public static func page(_ texts: [TaggedText], title: String = "Entities") -> String {
        var counts: [String: Int] = [:]
        for text in texts { for entity in text.entities { counts[entity.type, default: 0] += 1 } }
        let types = counts.keys.sorted()

        var html = """
            <!DOCTYPE html>
            <html lang="und">
            <head>
            <meta charset="utf-8">
            <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(escape(title))</title>
            <style>
            body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2em; line-height: 2.5; color: #222; }
            h1 { font-size: 1.2em; line-height: 1.4; }
            .legend { line-height: 1.4; margin-bottom: 1.5em; }
            .legend span { display: inline-block; padding: 0.2em 0.6em; margin: 0 0.4em 0.4em 0; border-radius: 0.35em; font-size: 0.85em; }
            .text { white-space: pre-wrap; border-bottom: 1px solid #e6e6e6; padding: 0.6em 0; margin: 0; }
            mark { padding: 0.25em 0.4em; margin: 0 0.15em; border-radius: 0.35em; line-height: 1; }
            mark .type { font-size: 0.7em; font-weight: bold; line-height: 1; vertical-align: middle; margin-left: 0.5em; text-transform: uppercase; }
            .empty { color: #999; }
            </style>
            </head>
            <body>
            <h1>\(escape(title))</h1>

            """
        html += "<div class=\"legend\">"
        if types.isEmpty { html += "<span class=\"empty\">no entities</span>" }
        for type in types {
            html += "<span data-type=\"\(escape(type))\" style=\"background: \(colour(of: type))\">\(escape(type)) · \(counts[type]!)</span>"
        }
        html += "</div>\n"
        for text in texts {
            html += "<p class=\"text\">" + body(text) + "</p>\n"
        }
        html += "</body>\n</html>\n"
        return html
    }

    /// One text with its entities marked, escaped.
    static func body(_ text: TaggedText) -> String {
        let scalars = Array(text.text.unicodeScalars)
        func slice(_ range: Range<Int>) -> String {
            var view = String.UnicodeScalarView()
            view.append(contentsOf: scalars[range])
            return escape(String(view))
        }
        if scalars.isEmpty { return "" }
        var html = ""
        var position = 0
        for entity in text.entities.sorted(by: { $0.start < $1.start })
        where entity.start >= position && entity.end <= scalars.count && entity.start < entity.end {
            html += slice(position..<entity.start)
            let score = String(Int((entity.score * 100).rounded()))
            html += "<mark data-type=\"\(escape(entity.type))\" data-start=\"\(entity.start)\" data-end=\"\(entity.end)\" "
                + "title=\"\(escape(entity.type)) \(score)%\" style=\"background: \(colour(of: entity.type))\">"
                + slice(entity.start..<entity.end)
                + "<span class=\"type\">\(escape(entity.type))</span></mark>"
            position = entity.end
        }
        html += slice(position..<scalars.count)
        return html
    }

    /// `text` with the characters HTML gives meaning to replaced by references, safe in content and in quoted
    /// attribute values.
    public static func escape(_ text: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped
    }
}

/// "1 batch", "2 batches": a count with its noun in the right number, for messages a user reads.
/// `plural` is for nouns that do not just take an "s" ("batch" → "batches" is handled: -s, -x, -ch, -sh take "es").
public func counted(_ count: Int, _ noun: String, plural: String? = nil) -> String {
    if count == 1 { return "1 \(noun)" }
    if let plural { return "\(count) \(plural)" }
    let takesES = ["s", "x", "ch", "sh"].contains { noun.hasSuffix($0) }
    return "\(count) \(noun)\(takesES ? "es" : "s")"
}

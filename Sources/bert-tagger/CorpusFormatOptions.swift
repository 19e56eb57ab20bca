import ArgumentParser
import Datasets

/// Where the tags of JSON Lines records are and what integer tags mean; shared by every command that reads them.
struct JSONLinesTagOptions: ParsableArguments {
    @Option(name: .customLong("tag-field"),
            help: ArgumentHelp("JSON Lines key of the tags. Default: \"tags\", or \"ner_tags\" when the records have no \"tags\" (HuggingFace datasets).",
                               valueName: "NAME"))
    var tagField: String?

    @Option(name: .customLong("label-names"),
            help: ArgumentHelp("Names of integer JSON Lines tags, in id order: a file (JSON array, {\"labels\": [...]}, config.json with id2label, a dataset_info.json, or one label a line) or a comma-separated list such as O,B-PER,I-PER.",
                               valueName: "FILE|a,b,c"))
    var labelNames: String?

    func validate() throws {
        if let tagField, tagField.isEmpty { throw ValidationError("--tag-field needs a key name, such as ner_tags.") }
    }

    /// The parsed `--label-names`, or nil.
    func resolvedLabelNames() throws -> [String]? {
        try labelNames.map { try LabelNames.parse($0, tagField: tagField) }
    }
}

/// How every command that reads a corpus finds its format, tag field and integer-tag names.
struct CorpusFormatOptions: ParsableArguments {
    @Option(name: .customLong("input-format"),
            help: "Format of the corpus files read: conll or jsonl. Default: jsonl for .jsonl, .ndjson and .json files, conll otherwise.")
    var inputFormat: CorpusFormat?

    @OptionGroup var tags: JSONLinesTagOptions

    var tagField: String? { tags.tagField }

    func resolvedLabelNames() throws -> [String]? { try tags.resolvedLabelNames() }

    func reading(tokenColumn: Int = 0, labelColumn: Int?, tagsOptional: Bool = false, extraFields: [String] = []) throws -> CorpusReading {
        CorpusReading(format: inputFormat, tokenColumn: tokenColumn, labelColumn: labelColumn, tagField: tags.tagField,
                      tagsOptional: tagsOptional, labelNames: try resolvedLabelNames(), extraFields: extraFields)
    }
}

extension CorpusFormat: ExpressibleByArgument {}

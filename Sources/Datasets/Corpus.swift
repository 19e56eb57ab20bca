/// One sentence of a corpus: its words, their labels, and where it came from.
public struct Sentence: Sendable, Equatable {
    /// The words (the token column), in order. Never empty.
    public var words: [String]
    /// One label per word (the label column), or nil when the corpus was read without labels.
    public var labels: [String]?
    /// 0-based index of the document the sentence belongs to; sentences keep file order, so the
    /// neighbours of a sentence in the same document are its neighbours in `Corpus.sentences`.
    public var document: Int
    /// 1-based line of the sentence's first token in its file (JSON Lines: the record's line).
    public var line: Int
    /// Every column of every token line as read, row-major with `columnCount` entries per word,
    /// so writers can reproduce the original columns.
    public var columns: [String]
    /// Number of columns per word in `columns`.
    public var columnCount: Int

    public init(words: [String], labels: [String]? = nil, document: Int = 0, line: Int = 1,
                columns: [String]? = nil, columnCount: Int? = nil) {
        precondition(labels == nil || labels!.count == words.count, "one label per word")
        self.words = words
        self.labels = labels
        self.document = document
        self.line = line
        if let columns, let columnCount {
            precondition(columns.count == words.count * columnCount, "columns must hold columnCount entries per word")
            self.columns = columns
            self.columnCount = columnCount
        } else if let labels {
            self.columns = zip(words, labels).flatMap { [$0, $1] }
            self.columnCount = 2
        } else {
            self.columns = words
            self.columnCount = 1
        }
    }

    /// The values of column `index` (already resolved to 0..<columnCount), one per word.
    public func column(_ index: Int) -> [String] {
        precondition(index >= 0 && index < columnCount, "column \(index) out of 0..<\(columnCount)")
        return (0..<words.count).map { columns[$0 * columnCount + index] }
    }

    /// The 1-based file line of word `index` (CoNLL: one line per word).
    public func line(ofWord index: Int) -> Int { line + index }
}

/// How a CoNLL file separates its columns; writers use the same separator.
public enum ColumnSeparator: String, Sendable, Equatable {
    /// Runs of spaces or tabs separate columns (CoNLL-2003).
    case whitespace
    /// Single tabs separate columns, so a column may contain spaces.
    case tab

    var character: String { self == .tab ? "\t" : " " }
}

/// A piece of a CoNLL file's layout other than token lines, kept so writers reproduce the file.
public enum LayoutItem: Sendable, Equatable {
    /// A `-DOCSTART-` line, as it was written (without trailing spaces or line ending).
    case documentStart(String)
    /// A blank line.
    case blankLine
    /// The token lines of sentence `index`.
    case sentence(Int)
}

/// A whole corpus file: its sentences in file order and what is needed to write it back.
public struct Corpus: Sendable, Equatable {
    /// The file's path as given, used in messages.
    public var file: String
    public var sentences: [Sentence]
    /// Number of documents: the number of `-DOCSTART-` lines, plus one when sentences come
    /// before the first of them (a file without any is one document).
    public var documentCount: Int
    /// Columns per token line (every sentence has the same).
    public var columnCount: Int
    public var separator: ColumnSeparator
    /// The file's lines other than tokens, in order; empty for corpora not read from CoNLL, in
    /// which case writers separate sentences by one blank line and documents by `-DOCSTART-`.
    public var layout: [LayoutItem]

    public init(file: String, sentences: [Sentence], documentCount: Int? = nil, columnCount: Int? = nil,
                separator: ColumnSeparator = .whitespace, layout: [LayoutItem] = []) {
        self.file = file
        self.sentences = sentences
        self.documentCount = documentCount ?? ((sentences.map(\.document).max() ?? -1) + 1)
        self.columnCount = columnCount ?? (sentences.first?.columnCount ?? 1)
        self.separator = separator
        self.layout = layout
    }

    /// Total number of words over all sentences.
    public var wordCount: Int { sentences.reduce(0) { $0 + $1.words.count } }

    /// Resolves a column index given Python-style (negative counts from the end) against this
    /// corpus, or throws an error naming the column and the valid range.
    public func resolveColumn(_ index: Int, role: String) throws -> Int {
        try Self.resolve(column: index, columnCount: columnCount, file: file,
                         line: sentences.first?.line ?? 1, role: role)
    }

    static func resolve(column index: Int, columnCount: Int, file: String, line: Int, role: String) throws -> Int {
        let resolved = index < 0 ? columnCount + index : index
        guard resolved >= 0 && resolved < columnCount else {
            throw DatasetError.columnOutOfRange(file: file, line: line, column: index, columnCount: columnCount, role: role)
        }
        return resolved
    }

    /// The labels of every sentence, or an error if the corpus was read without labels.
    public func labelSequences() throws -> [[String]] {
        try sentences.map { sentence in
            guard let labels = sentence.labels else {
                throw DatasetError.invalidOptions("\(file): the corpus was read without a label column; read it with one to use its labels.")
            }
            return labels
        }
    }
}

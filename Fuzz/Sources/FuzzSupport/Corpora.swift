import Datasets

/// What every corpus a reader returns must satisfy, whatever bytes it came from.
public func checkCorpus(_ corpus: Corpus, labelled: Bool) {
    require(!corpus.sentences.isEmpty, "a corpus without sentences was returned")
    require(corpus.documentCount >= 1, "documentCount \(corpus.documentCount)")
    for sentence in corpus.sentences {
        require(!sentence.words.isEmpty, "a sentence without words at line \(sentence.line)")
        require((sentence.labels != nil) == labelled, "labels \(sentence.labels == nil ? "missing" : "present") at line \(sentence.line)")
        require(sentence.columnCount == corpus.columnCount,
                "line \(sentence.line) has \(sentence.columnCount) columns, the corpus \(corpus.columnCount)")
        require(sentence.columns.count == sentence.words.count * sentence.columnCount, "columns of line \(sentence.line)")
        require(sentence.document >= 0 && sentence.document < corpus.documentCount,
                "document \(sentence.document) of \(corpus.documentCount)")
        require(sentence.line >= 1, "line \(sentence.line)")
    }
}

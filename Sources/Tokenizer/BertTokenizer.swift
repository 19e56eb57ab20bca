import Foundation

/// HuggingFace's BertTokenizerFast, ported: BertNormalizer, BertPreTokenizer, WordPiece, added
/// tokens matched in the raw text, and `[CLS] … [SEP]` around the result.
///
/// Immutable once loaded, so one instance may serve any number of threads.
public final class BertTokenizer: Sendable {
    public let configuration: BertTokenizerConfiguration
    public let addedTokens: [AddedToken]
    public let clsID: Int32
    public let sepID: Int32
    public let padID: Int32
    public let unkID: Int32

    let wholeWords: ByteTable
    /// Vocabulary entries that start with the continuing-subword prefix, keyed without it.
    let continuations: ByteTable
    let tokensByID: [String?]
    let matcher: AddedTokenMatcher
    let clsToken: String
    let sepToken: String
    let unkToken: String
    let normalizer: Normalizer

    /// Loads `tokenizer.json` from `directory`, or else `vocab.txt` with `tokenizer_config.json`.
    public convenience init(directory: URL) throws {
        let json = directory.appendingPathComponent("tokenizer.json")
        let vocab = directory.appendingPathComponent("vocab.txt")
        if FileManager.default.fileExists(atPath: json.path) {
            try self.init(tokenizerJSON: json)
        } else if FileManager.default.fileExists(atPath: vocab.path) {
            let config = directory.appendingPathComponent("tokenizer_config.json")
            let configuration = FileManager.default.fileExists(atPath: config.path)
                ? try TokenizerFiles.configuration(tokenizerConfig: config)
                : BertTokenizerConfiguration()
            try self.init(vocabTXT: vocab, configuration: configuration)
        } else {
            throw TokenizerError.noTokenizerFiles(directory: directory.path)
        }
    }

    /// Loads a HuggingFace `tokenizer.json` with a BertNormalizer, BertPreTokenizer and WordPiece model.
    /// Its `truncation` and `padding` sections are ignored: long inputs are windowed by the caller.
    public convenience init(tokenizerJSON: URL) throws {
        let parts = try TokenizerFiles.tokenizerJSON(tokenizerJSON)
        try self.init(parts: parts, source: tokenizerJSON.path)
    }

    /// Builds the tokenizer BertTokenizerFast builds from a `vocab.txt` (one token a line, id = line number).
    public convenience init(vocabTXT: URL, configuration: BertTokenizerConfiguration) throws {
        let parts = try TokenizerFiles.vocabTXT(vocabTXT, configuration: configuration)
        try self.init(parts: parts, source: vocabTXT.path)
    }

    /// `init(tokenizerJSON:)` over the file's bytes; `path` names them in errors.
    public convenience init(tokenizerJSON data: Data, path: String) throws {
        try self.init(parts: TokenizerFiles.tokenizerJSON(data: data, path: path), source: path)
    }

    /// `init(vocabTXT:configuration:)` over the file's bytes; `path` names them in errors.
    public convenience init(vocabTXT data: Data, path: String, configuration: BertTokenizerConfiguration) throws {
        try self.init(parts: TokenizerFiles.vocabTXT(data: data, path: path, configuration: configuration), source: path)
    }

    init(parts: TokenizerFiles.Parts, source: String) throws {
        let configuration = parts.configuration
        guard !parts.vocabulary.isEmpty else { throw TokenizerError.emptyVocabulary(path: source) }
        // Bytes, not Characters: "##" followed by a spacing mark is one grapheme, so String.hasPrefix("##") fails.
        let prefix = Array(configuration.continuingSubwordPrefix.utf8)
        let wholeWords = ByteTable(parts.vocabulary.lazy.map { (key: Substring($0.0).utf8, id: $0.1) })
        continuations = ByteTable(parts.vocabulary.lazy.filter { $0.0.utf8.starts(with: prefix) }
            .map { (key: Substring($0.0).utf8.dropFirst(prefix.count), id: $0.1) })
        let addedTokens = parts.addedTokens
        func find(_ token: String, role: String) throws -> Int32 {
            let bytes = Array(token.utf8)
            if let added = addedTokens.first(where: { $0.content.utf8.elementsEqual(bytes) }) { return added.id }
            let id = wholeWords.lookup(bytes)
            guard id >= 0 else { throw TokenizerError.missingToken(path: source, token: token, role: role) }
            return id
        }
        // WordPiece itself needs the unknown token in its vocabulary, not only among added tokens.
        let unkID = wholeWords.lookup(Array(configuration.unknownToken.utf8))
        guard unkID >= 0 else {
            throw TokenizerError.missingToken(path: source, token: configuration.unknownToken, role: "unknown")
        }
        self.configuration = configuration
        self.addedTokens = addedTokens
        self.wholeWords = wholeWords
        self.unkID = unkID
        self.clsID = try parts.classifierID ?? find(configuration.classifierToken, role: "classifier ([CLS])")
        self.sepID = try parts.separatorID ?? find(configuration.separatorToken, role: "separator ([SEP])")
        self.padID = try find(configuration.paddingToken, role: "padding")

        let maxID = max(parts.vocabulary.map(\.1).max() ?? 0, addedTokens.map(\.id).max() ?? 0)
        var tokensByID = [String?](repeating: nil, count: Int(maxID) + 1)
        for (token, id) in parts.vocabulary where id >= 0 { tokensByID[Int(id)] = token }
        for token in addedTokens where token.id >= 0 { tokensByID[Int(token.id)] = token.content }
        self.tokensByID = tokensByID
        for (role, id) in [("[CLS]", clsID), ("[SEP]", sepID)] where Int(id) >= tokensByID.count {
            throw TokenizerError.invalidValue(path: source, keyPath: "post_processor",
                                              expected: "a \(role) id that the vocabulary or the added tokens hold (found \(id), "
                                                  + "beyond the largest id \(tokensByID.count - 1))")
        }
        matcher = AddedTokenMatcher(addedTokens)
        clsToken = tokensByID[Int(clsID)] ?? configuration.classifierToken
        sepToken = tokensByID[Int(sepID)] ?? configuration.separatorToken
        unkToken = configuration.unknownToken
        normalizer = Normalizer(configuration)
    }

    /// One past the largest id, vocabulary and added tokens together: the rows an embedding needs.
    public var vocabularySize: Int { tokensByID.count }

    public func id(of token: String) -> Int32? {
        let bytes = Array(token.utf8)
        if let added = addedTokens.first(where: { $0.content.utf8.elementsEqual(bytes) }) { return added.id }
        let id = wholeWords.lookup(bytes)
        return id >= 0 ? id : nil
    }

    public func token(of id: Int32) -> String? {
        id >= 0 && Int(id) < tokensByID.count ? tokensByID[Int(id)] : nil
    }

    // MARK: Encoding

    /// Tokenizes raw text as `tokenizer(text, return_offsets_mapping=True)` does.
    public func encode(_ text: String, addSpecialTokens: Bool = true) -> Encoding {
        var text = text
        var workspace = Workspace()
        var encoding = Encoding()
        return text.withUTF8 { bytes in
            encoding.reserveCapacity(bytes.count / 3 + 2)
            if addSpecialTokens { encoding.append(id: clsID, token: clsToken, offsets: 0..<0, wordID: nil) }
            var nextWordID = 0
            encodeSplittingAddedTokens(bytes, fixedWordID: nil, nextWordID: &nextWordID, &workspace, &encoding)
            if addSpecialTokens { encoding.append(id: sepID, token: sepToken, offsets: 0..<0, wordID: nil) }
            return encoding
        }
    }

    /// Tokenizes pre-split words as `tokenizer(words, is_split_into_words=True)` does: each word is
    /// normalized and pre-tokenized on its own (so it may still split at spaces or punctuation),
    /// offsets count within the word, and a word that normalizes to nothing yields no tokens.
    public func encode(words: [String], addSpecialTokens: Bool = true) -> Encoding {
        var workspace = Workspace()
        var encoding = Encoding()
        encoding.reserveCapacity(words.count * 2 + 2)
        if addSpecialTokens { encoding.append(id: clsID, token: clsToken, offsets: 0..<0, wordID: nil) }
        var unused = 0
        for (index, word) in words.enumerated() {
            var word = word
            word.withUTF8 { bytes in
                encodeSplittingAddedTokens(bytes, fixedWordID: index, nextWordID: &unused, &workspace, &encoding)
            }
        }
        if addSpecialTokens { encoding.append(id: sepID, token: sepToken, offsets: 0..<0, wordID: nil) }
        return encoding
    }

    private func encodeSplittingAddedTokens(
        _ bytes: UnsafeBufferPointer<UInt8>, fixedWordID: Int?, nextWordID: inout Int,
        _ workspace: inout Workspace, _ encoding: inout Encoding
    ) {
        let matches = matcher.isEmpty ? [] : matcher.matches(in: bytes)
        if matches.isEmpty {
            encodeText(bytes, scalarBase: 0, fixedWordID: fixedWordID, nextWordID: &nextWordID, &workspace, &encoding)
            return
        }
        var byte = 0
        var scalar = 0
        for match in matches {
            if match.start > byte {
                let segment = UnsafeBufferPointer(rebasing: bytes[byte..<match.start])
                encodeText(segment, scalarBase: scalar, fixedWordID: fixedWordID, nextWordID: &nextWordID,
                           &workspace, &encoding)
                scalar += Self.scalarCount(segment)
            }
            let length = Self.scalarCount(UnsafeBufferPointer(rebasing: bytes[match.start..<match.end]))
            let token = matcher.tokens[match.token]
            let wordID = fixedWordID ?? nextWordID
            if fixedWordID == nil { nextWordID += 1 }
            encoding.append(id: token.id, token: token.content, offsets: scalar..<scalar + length, wordID: wordID)
            scalar += length
            byte = match.end
        }
        if byte < bytes.count {
            encodeText(UnsafeBufferPointer(rebasing: bytes[byte...]), scalarBase: scalar, fixedWordID: fixedWordID,
                       nextWordID: &nextWordID, &workspace, &encoding)
        }
    }

    private static func scalarCount(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        bytes.reduce(0) { $0 + ($1 & 0xC0 == 0x80 ? 0 : 1) }
    }

    /// Normalizes one stretch of text free of added tokens, pre-tokenizes it and runs WordPiece on each word.
    private func encodeText(
        _ bytes: UnsafeBufferPointer<UInt8>, scalarBase: Int, fixedWordID: Int?, nextWordID: inout Int,
        _ workspace: inout Workspace, _ encoding: inout Encoding
    ) {
        normalizer.normalize(bytes, scalarBase: scalarBase, into: &workspace)
        let count = workspace.scalars.count
        var wordStart = -1
        var i = 0
        while i < count {
            switch normalizer.preTokenizerClass(workspace.scalars[i]) {
            case .word:
                if wordStart < 0 { wordStart = i }
            case .whitespace:
                if wordStart >= 0 {
                    wordPiece(wordStart..<i, fixedWordID ?? nextWordID, &workspace, &encoding)
                    if fixedWordID == nil { nextWordID += 1 }
                    wordStart = -1
                }
            case .punctuation:
                if wordStart >= 0 {
                    wordPiece(wordStart..<i, fixedWordID ?? nextWordID, &workspace, &encoding)
                    if fixedWordID == nil { nextWordID += 1 }
                    wordStart = -1
                }
                wordPiece(i..<i + 1, fixedWordID ?? nextWordID, &workspace, &encoding)
                if fixedWordID == nil { nextWordID += 1 }
            }
            i += 1
        }
        if wordStart >= 0 {
            wordPiece(wordStart..<count, fixedWordID ?? nextWordID, &workspace, &encoding)
            if fixedWordID == nil { nextWordID += 1 }
        }
    }

    /// Greedy longest-match-first WordPiece over one normalized word; a word with a piece missing from
    /// the vocabulary, or longer than `maxInputCharsPerWord`, becomes a single unknown token.
    private func wordPiece(_ word: Range<Int>, _ wordID: Int, _ workspace: inout Workspace, _ encoding: inout Encoding) {
        let first = workspace.origins[word.lowerBound]
        let last = workspace.origins[word.upperBound - 1]
        if word.count > configuration.maxInputCharsPerWord {
            encoding.append(id: unkID, token: unkToken, offsets: Self.range(first, last), wordID: wordID)
            return
        }
        workspace.bytes.removeAll(keepingCapacity: true)
        workspace.charStarts.removeAll(keepingCapacity: true)
        for k in word {
            workspace.charStarts.append(workspace.bytes.count)
            UTF8Decoding.encode(workspace.scalars[k], into: &workspace.bytes)
        }
        workspace.charStarts.append(workspace.bytes.count)
        let mark = encoding.count
        let n = word.count
        let complete: Bool = workspace.bytes.withUnsafeBufferPointer { buffer in
            let bytes = buffer.baseAddress!
            var start = 0
            while start < n {
                let table = start == 0 ? wholeWords : continuations
                let base = workspace.charStarts[start]
                workspace.hashes.removeAll(keepingCapacity: true)
                var hash = FNV1a.offsetBasis
                var byte = base
                var end = start + 1
                while end <= n {
                    let stop = workspace.charStarts[end]
                    if stop - base > table.maxKeyLength { break }
                    while byte < stop { hash = FNV1a.combine(hash, bytes[byte]); byte += 1 }
                    workspace.hashes.append(hash)
                    end += 1
                }
                end = start + workspace.hashes.count
                var found = false
                while end > start {
                    let id = table.lookup(bytes + base, count: workspace.charStarts[end] - base,
                                          hash: workspace.hashes[end - start - 1])
                    if id >= 0 {
                        let lower = workspace.origins[word.lowerBound + start]
                        let upper = workspace.origins[word.lowerBound + end - 1]
                        encoding.append(id: id, token: tokensByID[Int(id)] ?? unkToken,
                                        offsets: Self.range(lower, upper), wordID: wordID)
                        found = true
                        break
                    }
                    end -= 1
                }
                if !found { return false }
                start = end
            }
            return true
        }
        if !complete {
            encoding.truncate(to: mark)
            encoding.append(id: unkID, token: unkToken, offsets: Self.range(first, last), wordID: wordID)
        }
    }

    /// From the first piece's source scalar to just past the last one's, as HF maps normalized
    /// offsets back; canonical reordering can in principle put them the other way round, and a
    /// `Range` cannot, so such a span collapses to empty.
    @inline(__always)
    private static func range(_ first: Int32, _ last: Int32) -> Range<Int> {
        Int(first)..<max(Int(first), Int(last) + 1)
    }
}

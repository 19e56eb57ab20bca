import FileIO
import Foundation
import StrictJSON

/// Reads tokenizer.json, vocab.txt and tokenizer_config.json into the parts `BertTokenizer` is built from.
enum TokenizerFiles {
    struct Parts {
        var configuration: BertTokenizerConfiguration
        var vocabulary: [(String, Int32)]
        var addedTokens: [AddedToken]
        /// Set when a post-processor names the special tokens by id.
        var classifierID: Int32?
        var separatorID: Int32?
    }

    static func read(_ url: URL) throws -> Data {
        do {
            return try Data(contentsOf: url)
        } catch {
            let reason = FileManager.default.fileExists(atPath: url.path) ? fileErrorReason(error, path: url.path) : "no such file"
            throw TokenizerError.unreadableFile(path: url.path, reason: reason)
        }
    }

    /// Typed access to one JSON file's values, with errors that name the file and the key path.
    struct Document {
        let path: String
        /// Objects keep every key, and `root["key"]` compares scalars exactly, so canonically equivalent
        /// tokens such as the ohm sign U+2126 and capital omega U+03A9 stay two vocabulary entries.
        let root: JSON

        /// Parses a file's bytes; `path` names it in errors.
        init(data: Data, path: String) throws {
            self.path = path
            do {
                root = try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in try JSON.parse(raw) }
            } catch let error as JSONParseError {
                throw TokenizerError.invalidJSON(path: path, reason: error.description)
            }
            guard case .object = root else {
                throw TokenizerError.invalidJSON(path: path, reason: "the top level is not an object")
            }
        }

        func fail(_ keyPath: String, _ expected: String) -> TokenizerError {
            .invalidValue(path: path, keyPath: keyPath, expected: expected)
        }

        func members(_ value: JSON?, _ keyPath: String) throws -> [(key: String, value: JSON)] {
            guard case .object(let members)? = value else { throw fail(keyPath, "an object") }
            return members
        }

        func list(_ value: JSON?, _ keyPath: String) throws -> [JSON] {
            guard case .array(let elements)? = value else { throw fail(keyPath, "a list") }
            return elements
        }

        func string(_ value: JSON?, _ keyPath: String) throws -> String {
            guard case .string(let string)? = value else { throw fail(keyPath, "a string") }
            return string
        }

        func integer(_ value: JSON?, _ keyPath: String) throws -> Int {
            guard let number = value?.doubleValue, number == number.rounded(), abs(number) <= Double(Int32.max) else {
                throw fail(keyPath, "an integer")
            }
            return Int(number)
        }

        /// A token id: an integer from 0 (a negative id would index before an embedding's first row).
        func id(_ value: JSON?, _ keyPath: String) throws -> Int32 {
            let id = try integer(value, keyPath)
            guard id >= 0 else { throw fail(keyPath, "a non-negative id") }
            return Int32(id)
        }

        /// `nil` for an absent key or JSON null.
        func optionalBool(_ value: JSON?, _ keyPath: String) throws -> Bool? {
            switch value {
            case nil, .null?: return nil
            case .bool(let flag)?: return flag
            default: throw fail(keyPath, "true, false or null")
            }
        }

        /// A special token given as a string or, in newer files, as an AddedToken object with "content".
        func token(_ value: JSON?, _ keyPath: String) throws -> String? {
            switch value {
            case nil, .null?: return nil
            case .string(let string)?: return string
            case let object? where object["content"] != nil: return try string(object["content"], keyPath + ".content")
            default: throw fail(keyPath, "a string or an object with \"content\"")
            }
        }
    }

    // MARK: tokenizer.json

    static func tokenizerJSON(_ url: URL) throws -> Parts {
        try tokenizerJSON(data: read(url), path: url.path)
    }

    static func tokenizerJSON(data: Data, path: String) throws -> Parts {
        let file = try Document(data: data, path: path)
        let root = file.root
        var configuration = BertTokenizerConfiguration()

        let model = root["model"]
        _ = try file.members(model, "model")
        let modelType = (try? file.string(model?["type"], "model.type")) ?? "WordPiece"
        guard modelType == "WordPiece" else {
            throw TokenizerError.unsupported(path: file.path, keyPath: "model.type", found: modelType, supported: "WordPiece")
        }
        var vocabulary: [(String, Int32)] = []
        for (token, value) in try file.members(model?["vocab"], "model.vocab") {
            vocabulary.append((token, try file.id(value, "model.vocab.\(token)")))
        }
        configuration.unknownToken = try file.string(model?["unk_token"], "model.unk_token")
        if let prefix = model?["continuing_subword_prefix"], !prefix.isNull {
            configuration.continuingSubwordPrefix = try file.string(prefix, "model.continuing_subword_prefix")
        }
        if let maxChars = model?["max_input_chars_per_word"], !maxChars.isNull {
            configuration.maxInputCharsPerWord = try file.integer(maxChars, "model.max_input_chars_per_word")
        }

        if let normalizer = root["normalizer"], !normalizer.isNull {
            let type = (try? file.string(normalizer["type"], "normalizer.type")) ?? "(none)"
            guard type == "BertNormalizer" else {
                throw TokenizerError.unsupported(path: file.path, keyPath: "normalizer.type", found: type,
                                                 supported: "BertNormalizer")
            }
            configuration.cleanText = try file.optionalBool(normalizer["clean_text"], "normalizer.clean_text") ?? true
            configuration.handleChineseChars = try file.optionalBool(normalizer["handle_chinese_chars"],
                                                                     "normalizer.handle_chinese_chars") ?? true
            configuration.lowercase = try file.optionalBool(normalizer["lowercase"], "normalizer.lowercase") ?? true
            configuration.stripAccents = try file.optionalBool(normalizer["strip_accents"], "normalizer.strip_accents")
        } else {
            configuration.cleanText = false
            configuration.handleChineseChars = false
            configuration.lowercase = false
            configuration.stripAccents = false
        }

        let preType = (try? file.string(root["pre_tokenizer"]?["type"], "pre_tokenizer.type")) ?? "(none)"
        guard preType == "BertPreTokenizer" else {
            throw TokenizerError.unsupported(path: file.path, keyPath: "pre_tokenizer.type", found: preType,
                                             supported: "BertPreTokenizer")
        }

        var addedTokens: [AddedToken] = []
        if let list = root["added_tokens"], !list.isNull {
            for (i, token) in try file.list(list, "added_tokens").enumerated() {
                let key = "added_tokens[\(i)]"
                if try file.optionalBool(token["normalized"], "\(key).normalized") == true {
                    throw TokenizerError.unsupported(path: file.path, keyPath: "\(key).normalized", found: "true",
                                                     supported: "added tokens matched in the raw text (normalized: false)")
                }
                addedTokens.append(AddedToken(
                    content: try file.string(token["content"], "\(key).content"),
                    id: try file.id(token["id"], "\(key).id"),
                    special: try file.optionalBool(token["special"], "\(key).special") ?? false,
                    singleWord: try file.optionalBool(token["single_word"], "\(key).single_word") ?? false,
                    stripLeft: try file.optionalBool(token["lstrip"], "\(key).lstrip") ?? false,
                    stripRight: try file.optionalBool(token["rstrip"], "\(key).rstrip") ?? false))
            }
        }

        var classifierID: Int32?
        var separatorID: Int32?
        if let processor = root["post_processor"], !processor.isNull {
            let type = (try? file.string(processor["type"], "post_processor.type")) ?? "(none)"
            switch type {
            case "BertProcessing":
                for key in ["cls", "sep"] {
                    let keyPath = "post_processor.\(key)"
                    let pair = try file.list(processor[key], keyPath)
                    guard pair.count == 2 else { throw file.fail(keyPath, "a [token, id] pair") }
                    let token = try file.string(pair[0], keyPath + "[0]")
                    let id = try file.id(pair[1], keyPath + "[1]")
                    if key == "cls" { configuration.classifierToken = token; classifierID = id }
                    else { configuration.separatorToken = token; separatorID = id }
                }
            case "TemplateProcessing":
                let single = try file.list(processor["single"], "post_processor.single")
                guard single.count == 3, let first = single[0]["SpecialToken"]?["id"],
                      case .string("A")? = single[1]["Sequence"]?["id"], let last = single[2]["SpecialToken"]?["id"] else {
                    throw TokenizerError.unsupported(path: file.path, keyPath: "post_processor.single",
                                                     found: "another template", supported: "[CLS] $A [SEP]")
                }
                for (piece, role) in [(first, "cls"), (last, "sep")] {
                    let name = try file.string(piece, "post_processor.single.SpecialToken.id")
                    let keyPath = "post_processor.special_tokens.\(name).ids"
                    let ids = try file.list(processor["special_tokens"]?[name]?["ids"], keyPath)
                    guard ids.count == 1 else { throw file.fail(keyPath, "a list of one id") }
                    let id = try file.id(ids[0], keyPath + "[0]")
                    if role == "cls" { configuration.classifierToken = name; classifierID = id }
                    else { configuration.separatorToken = name; separatorID = id }
                }
            default:
                throw TokenizerError.unsupported(path: file.path, keyPath: "post_processor.type", found: type,
                                                 supported: "TemplateProcessing, BertProcessing")
            }
        }
        if case .string(let token)? = root["padding"]?["pad_token"] { configuration.paddingToken = token }
        return Parts(configuration: configuration, vocabulary: vocabulary, addedTokens: addedTokens,
                     classifierID: classifierID, separatorID: separatorID)
    }

    // MARK: vocab.txt + tokenizer_config.json

    /// The configuration `BertTokenizerFast.from_pretrained` derives from tokenizer_config.json.
    static func configuration(tokenizerConfig url: URL) throws -> BertTokenizerConfiguration {
        try configuration(tokenizerConfig: read(url), path: url.path)
    }

    static func configuration(tokenizerConfig data: Data, path: String) throws -> BertTokenizerConfiguration {
        let file = try Document(data: data, path: path)
        let root = file.root
        var configuration = BertTokenizerConfiguration()
        configuration.lowercase = try file.optionalBool(root["do_lower_case"], "do_lower_case") ?? true
        configuration.stripAccents = try file.optionalBool(root["strip_accents"], "strip_accents")
        configuration.handleChineseChars = try file.optionalBool(root["tokenize_chinese_chars"],
                                                                 "tokenize_chinese_chars") ?? true
        configuration.unknownToken = try file.token(root["unk_token"], "unk_token") ?? configuration.unknownToken
        configuration.classifierToken = try file.token(root["cls_token"], "cls_token") ?? configuration.classifierToken
        configuration.separatorToken = try file.token(root["sep_token"], "sep_token") ?? configuration.separatorToken
        configuration.paddingToken = try file.token(root["pad_token"], "pad_token") ?? configuration.paddingToken
        configuration.maskToken = try file.token(root["mask_token"], "mask_token") ?? configuration.maskToken
        return configuration
    }

    static func vocabTXT(_ url: URL, configuration: BertTokenizerConfiguration) throws -> Parts {
        try vocabTXT(data: read(url), path: url.path, configuration: configuration)
    }

    static func vocabTXT(data: Data, path: String, configuration: BertTokenizerConfiguration) throws -> Parts {
        guard let text = String(data: data, encoding: .utf8) else {
            throw TokenizerError.invalidValue(path: path, keyPath: "(file)", expected: "UTF-8 text, one token a line")
        }
        var vocabulary: [(String, Int32)] = []
        // Split on the newline byte, not on Characters: "\r\n" is one Character in Swift.
        var lines = text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        if lines.last?.isEmpty == true { lines.removeLast() }
        vocabulary.reserveCapacity(lines.count)
        for (index, line) in lines.enumerated() {
            // transformers strips only the newline, so a CRLF file keeps its ids but not its \r.
            let token = line.last == UInt8(ascii: "\r") ? line.dropLast() : line
            vocabulary.append((String(Substring(token)), Int32(index)))
        }
        // BertTokenizerFast registers its five special tokens as added tokens matched in the raw text.
        var addedTokens: [AddedToken] = []
        for token in [configuration.paddingToken, configuration.unknownToken, configuration.classifierToken,
                      configuration.separatorToken, configuration.maskToken] {
            let bytes = Array(token.utf8)
            if let id = vocabulary.last(where: { $0.0.utf8.elementsEqual(bytes) })?.1,
               !addedTokens.contains(where: { $0.content.utf8.elementsEqual(bytes) }) {
                addedTokens.append(AddedToken(content: token, id: id))
            }
        }
        return Parts(configuration: configuration, vocabulary: vocabulary, addedTokens: addedTokens,
                     classifierID: nil, separatorID: nil)
    }
}

import Foundation
import Hummingbird
import Tagger

/// An answer that is not a success: a status and one sentence saying what was wrong and what to do.
struct APIError: Error, CustomStringConvertible {
    var status: HTTPResponse.Status
    var message: String
    var headers: HTTPFields = [:]

    var description: String { message }

    init(status: HTTPResponse.Status, message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.message = message
        self.headers = headers
    }

    static func badRequest(_ message: String) -> APIError { APIError(status: .badRequest, message: message) }
    static func unprocessable(_ message: String) -> APIError { APIError(status: .unprocessableContent, message: message) }
    static func tooLarge(_ message: String) -> APIError { APIError(status: .contentTooLarge, message: message) }

    /// `{"error": "..."}` with the status.
    var response: Response {
        let body = (try? JSONEncoder().encode(ErrorResponse(error: message))) ?? Data(#"{"error":"error"}"#.utf8)
        var headers = headers
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    /// The JSON decoder's complaint in the request's own terms: malformed JSON is a 400, a field of the wrong type or
    /// a missing value a 422 naming the field's path.
    init(decoding error: DecodingError) {
        func path(_ codingPath: [any CodingKey]) -> String {
            codingPath.isEmpty ? "the body" : "field \"" + codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }
                .joined().trimmingCharacters(in: CharacterSet(charactersIn: ".")) + "\""
        }
        switch error {
        case let .dataCorrupted(context) where context.codingPath.isEmpty:
            self = .badRequest("the body is not valid JSON (\(context.underlyingError.map { "\($0)" } ?? context.debugDescription)); send a JSON object such as {\"text\": \"...\"}")
        case let .dataCorrupted(context):
            self = .unprocessable("\(path(context.codingPath)): \(context.debugDescription)")
        case let .typeMismatch(type, context):
            self = .unprocessable("\(path(context.codingPath)): expected \(Self.jsonName(type)): \(context.debugDescription)")
        case let .valueNotFound(type, context):
            self = .unprocessable("\(path(context.codingPath)): expected \(Self.jsonName(type)), found null")
        case let .keyNotFound(key, context):
            self = .unprocessable("\(path(context.codingPath + [key])): missing")
        @unknown default:
            self = .badRequest("the body could not be read: \(error)")
        }
    }

    private static func jsonName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is [String].Type: return "an array of strings"
        case is [[String]].Type: return "an array of arrays of strings"
        case is Int.Type, is Double.Type: return "a number"
        default:
            let name = "\(type)"
            return name.hasPrefix("Array") || name.hasPrefix("[") ? "an array" : (name.hasPrefix("Dictionary") ? "an object" : name)
        }
    }

    /// A Tagger error met while tagging one request's input.
    init(tagging error: any Error) {
        switch error {
        case let error as TaggerError:
            if case .wordTooLong = error {
                self = .unprocessable("\(error)")
            } else {
                self = APIError(status: .internalServerError, message: "\(error)")
            }
        case let error as QueueStopped:
            self = APIError(status: .serviceUnavailable, message: error.description)
        default:
            self = APIError(status: .internalServerError, message: "tagging failed: \(error)")
        }
    }
}

import Hummingbird
import Logging

/// Turns every failure into `{"error": "..."}` with its status; a path served under other methods is a 405 with
/// `Allow`, an unknown path a 404 listing the routes.
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Methods served per path.
    let routes: [String: [HTTPRequest.Method]]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return error.response
        } catch let error as HTTPError where error.status == .notFound {
            let path = request.uri.path
            if let methods = routes[path] {
                let allowed = methods.map(\.rawValue).joined(separator: ", ")
                var headers = HTTPFields()
                headers[.allow] = allowed
                return APIError(status: .methodNotAllowed,
                                message: "\(request.method.rawValue) \(path): method not allowed; use \(allowed)",
                                headers: headers).response
            }
            let known = routes.keys.sorted().map { "\(routes[$0]!.map(\.rawValue).joined(separator: "/")) \($0)" }
            return APIError(status: .notFound,
                            message: "\(path): no such route; the routes are \(known.joined(separator: ", "))").response
        } catch let error as any HTTPResponseError {
            let message = (error as? HTTPError)?.body ?? "\(error.status.reasonPhrase)"
            return APIError(status: error.status, message: message).response
        } catch {
            return APIError(status: .internalServerError, message: "internal error: \(error)").response
        }
    }
}

/// One access-log line per request and the request metrics, with the final status and the time taken.
struct AccessLogMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServerMetrics
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        let response = try await next(request, context)
        let elapsed = ContinuousClock.now - started
        let route = context.endpointPath.flatMap { $0 == "NotFound" ? nil : $0 } ?? "unmatched"
        metrics.recordRequest(method: request.method.rawValue, route: route, status: response.status.code, duration: elapsed)
        logger.info("\(request.method.rawValue) \(request.uri.path) \(response.status.code)", metadata: [
            "route": .string(route),
            "duration_ms": .stringConvertible((Double(elapsed.nanoseconds) / 1e6 * 100).rounded() / 100),
            "bytes": .stringConvertible(response.body.contentLength ?? -1),
        ])
        return response
    }
}

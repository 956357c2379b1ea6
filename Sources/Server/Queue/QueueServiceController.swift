import Foundation
import HTTPTypes
import Hummingbird
import MessageQueue
import NIOCore
import Workflow

/// The queue service's HTTP calls under `/api/predict/<service>[/sink|/<sub-path>]`, as EAS's QueueClient and
/// PredictClient make them:
///
/// | method | query | call |
/// |---|---|---|
/// | POST | tags, `_priority_=1` | put → 200, body = index, `X-Eas-Queueservice-Request-Id` |
/// | POST on the bare input path without `X-EAS-QueueService-Redis-Uid` | – | synchronous predict |
/// | GET | `_attrs_=true` | attributes (JSON, or `AttributesProto` on the protobuf `Accept`) |
/// | GET | `_search_=true&_index_=N` | search |
/// | GET | `_index_`, `_length_`, `_timeout_`, `_auto_delete_`, `_raw_`, tags | get (long poll; 204 when nothing) |
/// | PUT | `_indexes_=1,2` | commit → `OK` |
/// | DELETE | `_indexes_=1,2` / `_index_=N&_trunc_=true` | delete / truncate → `OK` |
///
/// A GET with `_watch_=true` is a WebSocket (``QueueWatchEndpoint``); one that reaches this controller was not
/// upgraded and is answered with an error. Query strings are decoded form-style (`+` is a space). Parameters named
/// `_…` are control parameters, every other one is a tag. Each service authenticates with its own token
/// (``QueueServices/token(for:)``): `Authorization: <token>`, `Bearer <token>`, or on a POST the signed
/// `EAS <signature>` of the synchronous PredictClient (``EASSignature``).
public struct QueueServiceController: Sendable {
    /// Runs a synchronous prediction on a service: the request body in, the HTTP status and body out.
    public typealias Predict = @Sendable (QueueServiceDeclaration, [UInt8]) async -> (status: Int, body: [UInt8])

    let services: QueueServices
    let predict: Predict?

    /// - Parameters:
    ///   - services: the declared services and their broker.
    ///   - predict: answers synchronous calls (a POST on a service's bare path without a consumer id header);
    ///     without it those calls get 404.
    public init(services: QueueServices, predict: Predict? = nil) {
        self.services = services
        self.predict = predict
    }

    /// The path prefix of every queue service call.
    public static let pathPrefix = "/api/predict/"

    /// Registers `/api/predict/**` for every method.
    public func register(_ router: Router<LoomRequestContext>) {
        let methods: [HTTPRequest.Method] = [.get, .post, .put, .delete, .head, .patch, .options]
        for method in methods {
            router.on("/api/predict/**", method: method) { request, _ in await handle(request) }
        }
    }

    /// Answers one request (any path; those outside `/api/predict/` or naming no service get 404).
    public func handle(_ request: Request) async -> Response {
        guard let rest = QueueHTTP.servicePath(request.uri.path), let target = services.resolve(rest) else {
            return QueueHTTP.text("No queue service at \(request.uri.path)", status: .notFound)
        }
        let query = QueueQuery(request.uri.query)
        let headers = request.headers
        let authorization = headers[.authorization]

        // Authentication. A signed PredictClient request is checked against its headers now and its body once read.
        var signed = false
        if let token = services.token(for: target.service) {
            if request.method == .post, let value = authorization, value.hasPrefix(EASSignature.scheme) {
                let decodedPath = request.uri.path.removingPercentEncoding ?? request.uri.path
                guard EASSignature.signatureMatches(
                    authorization: value, token: token, contentMD5: headers[QueueHTTP.contentMD5],
                    contentType: headers[.contentType], date: headers[.date], paths: [request.uri.path, decodedPath])
                else { return QueueHTTP.unauthorized() }
                signed = true
            } else if !TokenCheck.matches(authorization, token: token) {
                return QueueHTTP.unauthorized()
            }
        }

        switch request.method {
        case .post:
            let body: [UInt8]
            switch await QueueHTTP.collect(request, limit: target.service.settings.maxPayloadBytes) {
            case .success(let bytes): body = bytes
            case .failure(let failure): return failure.response
            }
            if signed && !EASSignature.bodyMatches(contentMD5: headers[QueueHTTP.contentMD5], body: body) {
                return QueueHTTP.unauthorized("Unauthorized: Content-MD5 does not match the body")
            }
            if !target.isSink && target.suffix.isEmpty && headers[QueueHTTP.consumerHeader] == nil {
                return await synchronousPredict(target.service, body: body)
            }
            return await put(target, query: query, headers: headers, body: body)
        case .get:
            if query.flag("_watch_") {
                if let problem = WatchParameters(query: query).problem { return QueueHTTP.text(problem, status: .badRequest) }
                return QueueHTTP.text("_watch_=true needs a WebSocket upgrade (Connection: Upgrade, Upgrade: websocket)",
                                      status: .badRequest)
            }
            if query.flag("_attrs_") { return await attributes(target, headers: headers) }
            if query.flag("_search_") { return await search(target, query: query, headers: headers) }
            return await get(target, query: query, headers: headers)
        case .put:
            return await commit(target, query: query)
        case .delete:
            return await delete(target, query: query)
        default:
            var response = QueueHTTP.text("Method \(request.method) is not supported on a queue service", status: .methodNotAllowed)
            response.headers[.allow] = "GET, POST, PUT, DELETE"
            return response
        }
    }

    // MARK: Calls

    private func synchronousPredict(_ service: QueueServiceDeclaration, body: [UInt8]) async -> Response {
        guard let predict else {
            return QueueHTTP.text(
                "Service \(service.name) has no synchronous endpoint: put into its queue with the X-EAS-QueueService-Redis-Uid header, or POST to \(Self.pathPrefix)\(service.name)/api_prompt",
                status: .notFound)
        }
        let result = await predict(service, body)
        guard (100...599).contains(result.status), result.status != 101 else {
            return QueueHTTP.text("The service answered an invalid status \(result.status)", status: .badGateway)
        }
        return QueueHTTP.bytes(result.body, status: HTTPResponse.Status(code: result.status), contentType: nil)
    }

    private func put(_ target: QueueServices.Target, query: QueueQuery, headers: HTTPFields, body: [UInt8]) async -> Response {
        let priority = query.flag("_priority_") || QueueQuery.isTrue(headers[QueueHTTP.priorityHeader])
        do {
            let item = try await services.broker.put(queue: target.queue, data: body, tags: query.tags, priority: priority)
            var response = QueueHTTP.text(String(item.index), status: .ok)
            response.headers[QueueHTTP.requestIDHeader] = item.requestID
            return response
        } catch {
            return QueueHTTP.failure(error)
        }
    }

    private func get(_ target: QueueServices.Target, query: QueueQuery, headers: HTTPFields) async -> Response {
        let index: Int64
        switch query.index("_index_", default: 0) {
        case .success(let value): index = value
        case .failure(let problem): return QueueHTTP.text(problem.description, status: .badRequest)
        }
        var length = 1
        if let text = query.control["_length_"] {
            guard let value = Int(text), value >= 0 else {
                return QueueHTTP.text("_length_ must be a non-negative integer, got '\(text)'", status: .badRequest)
            }
            length = max(value, 1)
        }
        var timeout = 0.0
        if let text = query.control["_timeout_"] {
            guard let seconds = parseQueueDuration(text), seconds.isFinite else {
                return QueueHTTP.text("_timeout_ must be a duration such as 5s, 500ms or 2, got '\(text)'", status: .badRequest)
            }
            timeout = seconds
        }
        let raw = query.flag("_raw_")
        let deadline = ContinuousClock.now + .seconds(Self.longPollWait(timeout: timeout))
        let items: [QueueItem]
        do {
            items = try await services.broker.get(queue: target.queue, index: index, length: raw ? 1 : length, filter: query.tags,
                                                  autoDelete: query.flag("_auto_delete_"), deadline: deadline)
        } catch {
            return QueueHTTP.failure(error)
        }
        guard let first = items.first else { return Response(status: .noContent) }
        if raw { return QueueHTTP.bytes(first.data, status: .ok, contentType: "application/octet-stream") }
        if QueueHTTP.wantsProtobuf(headers) {
            return QueueHTTP.bytes(QueueProto.encode(list: items.map { $0.frame() }), status: .ok, contentType: QueueHTTP.protobuf)
        }
        let list: [JSONValue] = items.map { item in
            let tags = JSONObject(item.tags.sorted { $0.key < $1.key }.map { ($0.key, JSONValue.string($0.value)) })
            return .object(JSONObject([
                ("index", item.index <= UInt64(Int64.max) ? .int(Int64(item.index)) : .uint(item.index)), ("tags", .object(tags)),
                ("data", .string(Data(item.data).base64EncodedString())),
            ]))
        }
        return Response.json(.array(list))
    }

    /// How long a get waits for a first item: `min(timeout − 0.5 s, 0.9 · timeout)`, at least 0, so the answer
    /// arrives before a client whose own timeout equals `_timeout_` gives up.
    public static func longPollWait(timeout: Double) -> Double {
        max(0, min(timeout - 0.5, timeout * 0.9))
    }

    private func attributes(_ target: QueueServices.Target, headers: HTTPFields) async -> Response {
        let attributes: [(key: String, value: String)]
        do {
            attributes = try await services.broker.attributes(queue: target.queue, backend: services.backendName)
        } catch {
            return QueueHTTP.failure(error)
        }
        if QueueHTTP.wantsProtobuf(headers) {
            return QueueHTTP.bytes(QueueProto.encode(attributes: attributes), status: .ok, contentType: QueueHTTP.protobuf)
        }
        return Response.json(.object(JSONObject(attributes.map { ($0.key, JSONValue.string($0.value)) })))
    }

    private func search(_ target: QueueServices.Target, query: QueueQuery, headers: HTTPFields) async -> Response {
        guard let text = query.control["_index_"], let index = UInt64(text), index > 0 else {
            return QueueHTTP.text("_search_ needs a positive _index_", status: .badRequest)
        }
        let found: (consumer: String, isPending: Bool, waitCount: Int)?
        do {
            found = try await services.broker.search(queue: target.queue, index: index, group: QueueHTTP.group(headers))
        } catch {
            return QueueHTTP.failure(error)
        }
        guard let found else { return QueueHTTP.text("no data in stream", status: .notFound) }
        return Response.json([
            "ConsumerId": .string(found.consumer), "IsPending": .bool(found.isPending), "WaitCount": JSONValue(found.waitCount),
        ])
    }

    private func commit(_ target: QueueServices.Target, query: QueueQuery) async -> Response {
        let indexes: [UInt64]
        switch query.indexList() {
        case .success(let list): indexes = list
        case .failure(let problem): return QueueHTTP.text(problem.description, status: .badRequest)
        }
        // A negative acknowledgement leaves the item with its watcher; it is redelivered when that connection ends.
        if query.flag("_negative_") { return QueueHTTP.text("OK", status: .ok) }
        do {
            try await services.broker.commit(queue: target.queue, indexes: indexes)
        } catch {
            return QueueHTTP.failure(error)
        }
        return QueueHTTP.text("OK", status: .ok)
    }

    private func delete(_ target: QueueServices.Target, query: QueueQuery) async -> Response {
        do {
            if query.flag("_trunc_") {
                guard let text = query.control["_index_"], let index = UInt64(text) else {
                    return QueueHTTP.text("_trunc_=true needs _index_ (a non-negative integer)", status: .badRequest)
                }
                try await services.broker.truncate(queue: target.queue, below: index)
            } else {
                let indexes: [UInt64]
                switch query.indexList() {
                case .success(let list): indexes = list
                case .failure(let problem): return QueueHTTP.text(problem.description, status: .badRequest)
                }
                try await services.broker.delete(queue: target.queue, indexes: indexes)
            }
        } catch {
            return QueueHTTP.failure(error)
        }
        return QueueHTTP.text("OK", status: .ok)
    }
}

/// A queue call's query string, decoded form-style: control parameters (names starting with `_`) and tags (every
/// other name). A repeated name keeps its last value.
public struct QueueQuery: Sendable, Equatable {
    /// `_name_` parameters by name.
    public var control: [String: String] = [:]
    /// Every other parameter.
    public var tags: [String: String] = [:]

    /// Parses a raw query string (without `?`): `&`-separated `name=value` pairs, `+` as space, percent escapes.
    public init(_ raw: String?) {
        guard let raw, !raw.isEmpty else { return }
        for pair in raw.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = Self.decode(parts[0])
            let value = parts.count > 1 ? Self.decode(parts[1]) : ""
            if name.isEmpty { continue }
            if name.hasPrefix("_") { control[name] = value } else { tags[name] = value }
        }
    }

    /// Form decoding: `+` → space, then `%XX` escapes (left as they are when malformed).
    static func decode(_ text: Substring) -> String {
        let spaced = text.replacingOccurrences(of: "+", with: " ")
        return spaced.removingPercentEncoding ?? spaced
    }

    /// `true` (any case) or `1`.
    static func isTrue(_ value: String?) -> Bool {
        guard let value else { return false }
        let lower = value.trimmingCharacters(in: .whitespaces).lowercased()
        return lower == "true" || lower == "1"
    }

    /// Whether control parameter `name` is `true` or `1`.
    public func flag(_ name: String) -> Bool { Self.isTrue(control[name]) }

    /// An index parameter: a non-negative integer or −1.
    func index(_ name: String, default value: Int64) -> Result<Int64, QueueQueryError> {
        guard let text = control[name] else { return .success(value) }
        guard let index = Int64(text.trimmingCharacters(in: .whitespaces)), index >= -1 else {
            return .failure(QueueQueryError("\(name) must be an integer ≥ -1, got '\(text)'"))
        }
        return .success(index)
    }

    /// `_indexes_=1,2,3`.
    func indexList() -> Result<[UInt64], QueueQueryError> {
        guard let text = control["_indexes_"] else { return .failure(QueueQueryError("_indexes_ is required (e.g. _indexes_=1,2,3)")) }
        var out: [UInt64] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard let index = UInt64(part.trimmingCharacters(in: .whitespaces)) else {
                return .failure(QueueQueryError("_indexes_ must be a comma-separated list of indexes, got '\(text)'"))
            }
            out.append(index)
        }
        return .success(out)
    }
}

/// A malformed query parameter (answered with 400 and this message).
struct QueueQueryError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Header names and response helpers shared by the HTTP and WebSocket sides.
enum QueueHTTP {
    static let consumerHeader = HTTPField.Name("X-EAS-QueueService-Redis-Uid")!
    static let groupHeader = HTTPField.Name("X-EAS-QueueService-Redis-Gid")!
    static let priorityHeader = HTTPField.Name("X-EAS-QueueService-Priority")!
    static let requestIDHeader = HTTPField.Name("X-Eas-Queueservice-Request-Id")!
    static let contentMD5 = HTTPField.Name("Content-MD5")!
    static let protobuf = "application/vnd.google.protobuf"
    static let defaultGroup = "eas"

    /// The percent-decoded path after `/api/predict/`, or nil for other paths.
    static func servicePath(_ path: String) -> String? {
        guard path.hasPrefix(QueueServiceController.pathPrefix) else { return nil }
        let rest = String(path.dropFirst(QueueServiceController.pathPrefix.count))
        return rest.removingPercentEncoding ?? rest
    }

    static func group(_ headers: HTTPFields) -> String {
        guard let value = headers[groupHeader], !value.isEmpty else { return defaultGroup }
        return value
    }

    static func wantsProtobuf(_ headers: HTTPFields) -> Bool {
        headers[values: .accept].contains { $0.lowercased().contains(protobuf) }
    }

    static func bytes(_ body: [UInt8], status: HTTPResponse.Status, contentType: String?) -> Response {
        var headers: HTTPFields = [:]
        if let contentType { headers[.contentType] = contentType }
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }

    static func text(_ message: String, status: HTTPResponse.Status) -> Response {
        bytes(Array(message.utf8), status: status, contentType: "text/plain; charset=utf-8")
    }

    static func unauthorized(_ message: String = "Unauthorized: a valid service token is required (Authorization: <token>)")
        -> Response {
        text(message, status: .unauthorized)
    }

    /// A broker error as a response: retrying will not help a 4xx; a 503 may succeed later.
    static func failure(_ error: any Error) -> Response {
        switch error {
        case QueueError.unknownQueue(let name):
            return text("No queue named \(name)", status: .notFound)
        case QueueError.full(let queue, let maxLength):
            return text("Queue \(queue) is full (\(maxLength) items)", status: .tooManyRequests)
        case QueueError.payloadTooLarge(let size, let limit):
            return text("Payload of \(size) bytes is over the limit of \(limit) bytes", status: .contentTooLarge)
        case QueueError.storage(let message):
            return text("Queue storage failed: \(message)", status: .serviceUnavailable)
        default:
            return text("Queue service error: \(error)", status: .serviceUnavailable)
        }
    }

    /// Collects a request body of at most `limit` bytes (413 beyond).
    static func collect(_ request: Request, limit: Int) async -> Result<[UInt8], ResponseFailure> {
        do {
            let buffer = try await request.body.collect(upTo: limit)
            return .success(Array(buffer.readableBytesView))
        } catch is NIOTooManyBytesError {
            return .failure(ResponseFailure(response: text("Payload is over the limit of \(limit) bytes", status: .contentTooLarge)))
        } catch {
            return .failure(ResponseFailure(response: text("Could not read the request body: \(error)", status: .badRequest)))
        }
    }

    /// A response carried as an error value.
    struct ResponseFailure: Error {
        var response: Response
    }
}

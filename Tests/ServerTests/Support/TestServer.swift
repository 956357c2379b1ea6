import FolderPaths
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import JobQueue
import JobQueueSQLite
import Logging
import NIOCore
import NodeLibrary
import Server
import Testing
import Workflow

/// Which queue store a test server runs on.
enum StoreKind: Sendable {
    case sqlite
    case memory
}

/// A live Loom server on a loopback port, with the single-connection HTTP client that talks to it.
///
/// Requests through ``client`` must be made one at a time (the live test client has one connection);
/// WebSockets open their own connections.
struct TestServer: Sendable {
    let client: any TestClientProtocol
    let port: Int
    let directories: DataDirectories
    let token: String?

    /// `Authorization: <token>` when the server has a token.
    var authHeaders: HTTPFields {
        var headers: HTTPFields = [:]
        if let token { headers[.authorization] = token }
        return headers
    }

    /// Sends a request; adds the token unless `authenticated` is false.
    @discardableResult
    func request(_ method: HTTPRequest.Method, _ uri: String, body: ByteBuffer? = nil, headers: HTTPFields = [:],
                 authenticated: Bool = true) async throws -> TestResponse {
        var all = authenticated ? authHeaders : [:]
        for field in headers { all[field.name] = field.value }
        return try await client.execute(uri: uri, method: method, headers: all, body: body)
    }

    @discardableResult
    func get(_ uri: String, headers: HTTPFields = [:]) async throws -> TestResponse {
        try await request(.get, uri, headers: headers)
    }

    /// POSTs `json` (or an empty body when `nil`) with a JSON content type.
    @discardableResult
    func post(_ uri: String, json: JSONValue? = nil, headers: HTTPFields = [:]) async throws -> TestResponse {
        var all = headers
        all[.contentType] = "application/json"
        return try await request(.post, uri, body: json.map { ByteBuffer(bytes: $0.serialized()) }, headers: all)
    }

    /// POSTs raw text.
    @discardableResult
    func post(_ uri: String, text: String, headers: HTTPFields = [:]) async throws -> TestResponse {
        try await request(.post, uri, body: ByteBuffer(string: text), headers: headers)
    }

    /// GETs `uri`, expects 200 and returns the parsed body.
    func getJSON(_ uri: String, sourceLocation: SourceLocation = #_sourceLocation) async throws -> JSONValue {
        let response = try await get(uri)
        #expect(response.status == .ok, "GET \(uri) → \(response.status)", sourceLocation: sourceLocation)
        return try response.json()
    }

    /// Submits a prompt, expects 200 and returns its prompt id.
    @discardableResult
    func submit(_ prompt: JSONValue, clientID: String? = nil, promptID: String? = nil, extra: JSONObject = [:],
                path: String = "/prompt", sourceLocation: SourceLocation = #_sourceLocation) async throws -> String {
        var body: JSONObject = ["prompt": prompt]
        if let clientID { body["client_id"] = .string(clientID) }
        if let promptID { body["prompt_id"] = .string(promptID) }
        for (key, value) in extra { body[key] = value }
        let response = try await post(path, json: .object(body))
        let json = try response.json()
        try #require(response.status == .ok, "POST \(path) → \(response.status): \(json.jsonString())", sourceLocation: sourceLocation)
        return try #require(json["prompt_id"]?.stringValue, sourceLocation: sourceLocation)
    }

    /// Polls `GET /api/jobs/{id}` until `condition` holds for the job, and returns the job.
    @discardableResult
    func waitForJob(_ id: String, timeout: Duration = .seconds(20), sourceLocation: SourceLocation = #_sourceLocation,
                    _ condition: (JSONValue) -> Bool) async throws -> JSONValue {
        let deadline = ContinuousClock.now + timeout
        var last: JSONValue = .null
        while ContinuousClock.now < deadline {
            let response = try await get("/api/jobs/\(id)")
            if response.status == .ok {
                last = try response.json()
                if condition(last) { return last }
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("Timed out waiting for job \(id); last: \(last.jsonString())", sourceLocation: sourceLocation)
        throw TestTimeout(what: "job \(id)")
    }

    /// Waits until the job has one of the `statuses` (jobs API names).
    @discardableResult
    func waitForStatus(_ id: String, _ statuses: Set<String>, timeout: Duration = .seconds(20),
                       sourceLocation: SourceLocation = #_sourceLocation) async throws -> JSONValue {
        try await waitForJob(id, timeout: timeout, sourceLocation: sourceLocation) { job in
            job["status"]?.stringValue.map(statuses.contains) ?? false
        }
    }

    /// Waits until the job has finished and returns its `GET /history/{id}` entry.
    func waitForHistory(_ id: String, timeout: Duration = .seconds(20),
                        sourceLocation: SourceLocation = #_sourceLocation) async throws -> JSONValue {
        try await waitForStatus(id, ["completed", "failed", "cancelled"], timeout: timeout, sourceLocation: sourceLocation)
        let history = try await getJSON("/history/\(id)", sourceLocation: sourceLocation)
        return try #require(history[id], "no history entry for \(id)", sourceLocation: sourceLocation)
    }

    /// Polls `check` until it returns true.
    func waitUntil(_ what: String, timeout: Duration = .seconds(20), sourceLocation: SourceLocation = #_sourceLocation,
                   _ check: () async throws -> Bool) async throws {
        try await pollUntil(what, timeout: timeout, sourceLocation: sourceLocation, check)
    }

    /// Ends whatever the test left queued or running, so the server shuts down promptly.
    func stopWork() async {
        _ = try? await post("/queue", json: ["clear": true])
        _ = try? await post("/interrupt")
    }
}

/// A wait that ran out of time.
struct TestTimeout: Error, CustomStringConvertible {
    var what: String
    var description: String { "Timed out waiting for \(what)" }
}

/// Logs only errors from the servers under test.
let testLogger: Logger = {
    var logger = Logger(label: "loom.server-tests")
    logger.logLevel = .critical
    return logger
}()

/// Runs `body` with a fresh temporary directory, removed afterwards.
func withTemporaryDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("loom-server-tests-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try await body(path)
}

/// Builds a Loom server over a fresh data directory, runs it live on a loopback port and calls `body`.
///
/// - Parameters:
///   - store: the queue store (SQLite file in the temp directory, or in memory).
///   - token: the auth token, if any.
///   - maxUploadSize: the body limit in bytes.
///   - multiUser: runs the server in multi-user mode (`Comfy-User` selects the user).
///   - prepare: called with the data directories after the layout exists, before the server starts.
///   - body: the test.
func withServer(store kind: StoreKind = .sqlite, token: String? = nil, maxUploadSize: Int = 8 * 1024 * 1024, multiUser: Bool = false,
                prepare: (DataDirectories) throws -> Void = { _ in },
                _ body: @escaping @Sendable (TestServer) async throws -> Void) async throws {
    try await withTemporaryDirectory { tmp in
        let directories = DataDirectories(base: tmp + "/data")
        let configuration = ServerConfiguration(host: "127.0.0.1", port: 0, token: token, directories: directories,
                                                maxUploadSize: maxUploadSize, multiUser: multiUser, argv: ["loom", "--port", "0"])
        let sqlite = kind == .sqlite ? try SQLiteQueueStore(path: tmp + "/queue.sqlite") : nil
        let store: any QueueStore = sqlite ?? MemoryQueueStore()
        let registry = TestNodes.registry(NodeEnvironment(directories: directories))
        let built = try await LoomServer.build(configuration: configuration, store: store, registry: registry, logger: testLogger)
        try prepare(directories)
        try await built.application.test(.live) { client in
            let server = TestServer(client: client, port: try #require(client.port), directories: directories, token: token)
            do {
                try await body(server)
            } catch {
                await server.stopWork()
                throw error
            }
            await server.stopWork()
        }
        try? sqlite?.close()
    }
}

/// Polls `check` every 20 ms until it returns true; records an issue and throws after `timeout`.
func pollUntil(_ what: String, timeout: Duration, sourceLocation: SourceLocation = #_sourceLocation,
               _ check: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await check() { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    Issue.record("Timed out waiting for \(what)", sourceLocation: sourceLocation)
    throw TestTimeout(what: what)
}

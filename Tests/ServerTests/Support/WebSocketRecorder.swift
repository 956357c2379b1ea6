import Foundation
import HTTPTypes
import HummingbirdWSClient
import Logging
import NIOCore
import Synchronization
import Testing
import Workflow

/// Records the frames a WebSocket client receives, and lets a test wait for a condition on them.
final class WebSocketRecorder: Sendable {
    private struct State {
        var messages: [JSONValue] = []
        var binaryFrames: [[UInt8]] = []
        var ended: (any Error)?
        var closed = false
    }

    private let state = Mutex(State())

    func record(text: String) {
        let value = (try? JSONValue.parse(text)) ?? ["type": "<unparsable>", "data": .string(text)]
        state.withLock { $0.messages.append(value) }
    }

    func record(binary: ByteBuffer) {
        state.withLock { $0.binaryFrames.append(Array(binary.readableBytesView)) }
    }

    func close(error: (any Error)?) {
        state.withLock {
            $0.closed = true
            $0.ended = error
        }
    }

    /// Every text message so far (`{"type", "data"}`), in arrival order.
    var messages: [JSONValue] { state.withLock { $0.messages } }
    var binaryFrames: [[UInt8]] { state.withLock { $0.binaryFrames } }
    var isClosed: Bool { state.withLock { $0.closed } }

    /// The `data` of every message of `type`.
    func data(ofType type: String) -> [JSONValue] {
        messages.filter { $0["type"]?.stringValue == type }.compactMap { $0["data"] }
    }

    /// Waits until `condition` holds for the messages received so far and returns them.
    /// - Throws: ``TestTimeout`` (and records an issue) after `timeout`, or the connection's error if it
    ///   ended before the condition held.
    @discardableResult
    func wait(for what: String, timeout: Duration = .seconds(20), sourceLocation: SourceLocation = #_sourceLocation,
              _ condition: ([JSONValue]) -> Bool) async throws -> [JSONValue] {
        let deadline = ContinuousClock.now + timeout
        while true {
            let (messages, closed, error) = state.withLock { ($0.messages, $0.closed, $0.ended) }
            if condition(messages) { return messages }
            if closed {
                let types = messages.compactMap { $0["type"]?.stringValue }
                Issue.record("Socket closed before \(what); got \(types); error: \(String(describing: error))",
                             sourceLocation: sourceLocation)
                throw error ?? TestTimeout(what: what)
            }
            if ContinuousClock.now >= deadline {
                let types = messages.compactMap { $0["type"]?.stringValue }
                Issue.record("Timed out waiting for \(what); got \(types)", sourceLocation: sourceLocation)
                throw TestTimeout(what: what)
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    /// Waits for a message of `type` whose data satisfies `matching`, and returns its data.
    @discardableResult
    func waitForMessage(_ type: String, timeout: Duration = .seconds(20), sourceLocation: SourceLocation = #_sourceLocation,
                        where matching: @escaping (JSONValue) -> Bool = { _ in true }) async throws -> JSONValue {
        let messages = try await wait(for: "a \(type) message", timeout: timeout, sourceLocation: sourceLocation) { messages in
            messages.contains { $0["type"]?.stringValue == type && matching($0["data"] ?? .null) }
        }
        return messages.first { $0["type"]?.stringValue == type && matching($0["data"] ?? .null) }!["data"]!
    }
}

/// An open test WebSocket: what it received, and a way to send text frames.
struct TestWebSocket: Sendable {
    let recorder: WebSocketRecorder
    let outbound: AsyncStream<String>.Continuation

    func send(_ json: JSONValue) { outbound.yield(json.jsonString()) }
    func send(text: String) { outbound.yield(text) }

    /// The `sid` of the connect `status` message.
    func sid(sourceLocation: SourceLocation = #_sourceLocation) async throws -> String {
        let status = try await recorder.waitForMessage("status", sourceLocation: sourceLocation) { $0["sid"] != nil }
        return try #require(status["sid"]?.stringValue, sourceLocation: sourceLocation)
    }
}

/// Why a socket could not be opened.
struct WebSocketOpenFailure: Error {
    var underlying: (any Error)?
}

/// Connects to `ws://localhost:<port><path>`, waits for the first message (the connect `status`),
/// runs `body`, then closes the socket.
///
/// - Throws: ``WebSocketOpenFailure`` when the upgrade is refused or nothing arrives.
func withWebSocket<T: Sendable>(port: Int, path: String = "/ws", headers: HTTPFields = [:],
                                sourceLocation: SourceLocation = #_sourceLocation,
                                _ body: @Sendable (TestWebSocket) async throws -> T) async throws -> T {
    let recorder = WebSocketRecorder()
    let (commands, continuation) = AsyncStream<String>.makeStream()
    let configuration = WebSocketClientConfiguration(maxFrameSize: 1 << 22, additionalHeaders: headers)
    let url = "ws://localhost:\(port)\(path)"
    let connection = Task {
        do {
            try await WebSocketClient.connect(url: url, configuration: configuration, logger: testLogger) { inbound, outbound, _ in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        for await text in commands { try await outbound.write(.text(text)) }
                        try await outbound.close(.normalClosure, reason: nil)
                    }
                    for try await message in inbound.messages(maxSize: 1 << 24) {
                        switch message {
                        case .text(let text): recorder.record(text: text)
                        case .binary(let buffer): recorder.record(binary: buffer)
                        }
                    }
                    group.cancelAll()
                }
            }
            recorder.close(error: nil)
        } catch {
            recorder.close(error: error)
        }
    }
    let socket = TestWebSocket(recorder: recorder, outbound: continuation)
    do {
        let deadline = ContinuousClock.now + .seconds(10)
        while recorder.messages.isEmpty {
            if recorder.isClosed || ContinuousClock.now >= deadline { throw WebSocketOpenFailure(underlying: nil) }
            try await Task.sleep(for: .milliseconds(5))
        }
        let value = try await body(socket)
        continuation.finish()
        await connection.value
        return value
    } catch {
        continuation.finish()
        connection.cancel()
        await connection.value
        throw error
    }
}

/// Whether a WebSocket upgrade at `path` succeeds (a connect `status` arrives).
func webSocketOpens(port: Int, path: String, headers: HTTPFields = [:]) async -> Bool {
    do {
        return try await withWebSocket(port: port, path: path, headers: headers) { socket in
            !socket.recorder.data(ofType: "status").isEmpty
        }
    } catch {
        return false
    }
}

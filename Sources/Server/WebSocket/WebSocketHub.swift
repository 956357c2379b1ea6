import NIOCore
import Synchronization
import Workflow

/// The open WebSocket sessions by session id (`sid`), and message delivery to them.
///
/// Sending never blocks: each session drains its own buffer on its connection's task, so one slow
/// client cannot hold up the others or the worker.
public final class WebSocketHub: Sendable {
    /// An outbound frame.
    public enum Frame: Sendable {
        case text(String)
        case binary([UInt8])
    }

    struct Session {
        let connection: Int
        let continuation: AsyncStream<Frame>.Continuation
        var featureFlags: JSONValue?
    }

    private let sessions = Mutex<[String: Session]>([:])
    private let nextConnection = Atomic<Int>(0)

    public init() {}

    /// Registers a session, replacing (and closing) any earlier socket with the same id.
    /// Returns the connection number to pass to ``unregister(sid:connection:)`` and the frames to send.
    func register(sid: String) -> (connection: Int, frames: AsyncStream<Frame>) {
        let connection = nextConnection.wrappingAdd(1, ordering: .relaxed).newValue
        let (stream, continuation) = AsyncStream<Frame>.makeStream(bufferingPolicy: .bufferingNewest(4096))
        let previous = sessions.withLock { sessions in
            let old = sessions[sid]
            sessions[sid] = Session(connection: connection, continuation: continuation, featureFlags: nil)
            return old
        }
        previous?.continuation.finish()
        return (connection, stream)
    }

    /// Removes a session if it is still the given connection.
    func unregister(sid: String, connection: Int) {
        let removed = sessions.withLock { sessions -> Session? in
            guard sessions[sid]?.connection == connection else { return nil }
            return sessions.removeValue(forKey: sid)
        }
        removed?.continuation.finish()
    }

    func setFeatureFlags(_ flags: JSONValue, sid: String) {
        sessions.withLock { $0[sid]?.featureFlags = flags }
    }

    /// Whether the session announced `supports_preview_metadata`.
    func supportsPreviewMetadata(sid: String) -> Bool {
        sessions.withLock { $0[sid]?.featureFlags?["supports_preview_metadata"]?.boolValue ?? false }
    }

    public var sessionCount: Int { sessions.withLock { $0.count } }

    /// Sends `{"type": type, "data": data}` to one session, or to every session when `sid` is `nil`.
    public func send(type: String, data: JSONValue, to sid: String?) {
        let text = JSONValue.object(["type": .string(type), "data": data]).jsonString()
        send(.text(text), to: sid)
    }

    public func send(_ frame: Frame, to sid: String?) {
        let targets: [AsyncStream<Frame>.Continuation] = sessions.withLock { sessions in
            if let sid { return sessions[sid].map { [$0.continuation] } ?? [] }
            return sessions.values.map(\.continuation)
        }
        for target in targets { target.yield(frame) }
    }

    /// Closes every session (shutdown).
    func closeAll() {
        let all = sessions.withLock { sessions -> [Session] in
            defer { sessions.removeAll() }
            return Array(sessions.values)
        }
        for s in all { s.continuation.finish() }
    }
}

import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import MessageQueue
import NIOCore

/// `GET /api/predict/<service>[/sink]?_watch_=true` with a WebSocket upgrade: EAS's `watch()`.
///
/// Query: `_index_` (0: from the head, −1: only new items), `_window_` (most frames delivered and not yet
/// committed), `_index_only_` (frames without data), `_auto_commit_` (each item is removed as it is sent; no
/// window), and tags that every delivered item must carry. The consumer is `X-EAS-QueueService-Redis-Uid`, the
/// group `X-EAS-QueueService-Redis-Gid` (`eas` by default).
///
/// Each item is sent as one binary message holding a serialized `DataFrameProto`; nothing else is sent. Client
/// messages are read and ignored (pings are answered by the WebSocket layer). When the connection ends in any
/// way, the watch is closed and its uncommitted items become deliverable again.
public struct QueueWatchEndpoint: Sendable {
    public typealias Handler = WebSocketDataHandler<HTTP1WebSocketUpgradeChannel.Context>

    let services: QueueServices

    public init(services: QueueServices) {
        self.services = services
    }

    /// Whether a request is a watch to upgrade. A request that is not a watch, names no service, fails
    /// authentication or has malformed parameters is not upgraded; the HTTP route then answers it (404, 401, 400).
    public func shouldUpgrade(_ request: HTTPRequest) async -> ShouldUpgradeResult<Handler> {
        guard request.method == .get else { return .dontUpgrade }
        let uri = URI(request.path ?? "/")
        guard let rest = QueueHTTP.servicePath(uri.path), let target = services.resolve(rest) else { return .dontUpgrade }
        let query = QueueQuery(uri.query)
        guard query.flag("_watch_") else { return .dontUpgrade }
        if let token = services.token(for: target.service),
           !TokenCheck.matches(request.headerFields[.authorization], token: token) {
            return .dontUpgrade
        }
        let parameters = WatchParameters(query: query)
        guard parameters.problem == nil else { return .dontUpgrade }
        let consumer = request.headerFields[QueueHTTP.consumerHeader].flatMap { $0.isEmpty ? nil : $0 }
            ?? UUID().uuidString.lowercased()
        let group = QueueHTTP.group(request.headerFields)
        let broker = services.broker
        return .upgrade([:]) { inbound, outbound, _ in
            let opened: (id: UUID, frames: AsyncStream<QueueProto.Frame>)
            do {
                opened = try await broker.openWatch(
                    queue: target.queue, index: parameters.index, window: parameters.window,
                    autoCommit: parameters.autoCommit, indexOnly: parameters.indexOnly, filter: query.tags,
                    consumer: consumer, group: group)
            } catch {
                try await outbound.close(.unexpectedServerError, reason: "watch failed: \(error)")
                return
            }
            await Self.session(frames: opened.frames, inbound: inbound, outbound: outbound)
            await broker.closeWatch(opened.id)
        }
    }

    /// Sends frames until the client goes away (or a write fails); client messages are drained and ignored.
    private static func session(frames: AsyncStream<QueueProto.Frame>, inbound: WebSocketInboundStream,
                                outbound: WebSocketOutboundWriter) async {
        try? await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for await frame in frames {
                    let bytes = QueueProto.encode(frame)
                    // An empty message would decode as a frame with index 0 on the client; never send one.
                    guard !bytes.isEmpty else { continue }
                    try await outbound.write(.binary(ByteBuffer(bytes: bytes)))
                }
            }
            group.addTask {
                for try await _ in inbound.messages(maxSize: 1 << 16) {}
            }
            // Whichever ends first (client gone, write failed) ends the session.
            _ = try await group.next()
            group.cancelAll()
        }
    }
}

/// A watch's control parameters, with the first problem found (answered with 400 on the HTTP route).
struct WatchParameters: Sendable {
    var index: Int64 = 0
    var window = 1
    var indexOnly = false
    var autoCommit = false
    var problem: String?

    init(query: QueueQuery) {
        switch query.index("_index_", default: 0) {
        case .success(let value): index = value
        case .failure(let error): problem = error.description
        }
        if let text = query.control["_window_"] {
            if let value = Int(text.trimmingCharacters(in: .whitespaces)), value >= 0 {
                window = max(value, 1)
            } else {
                problem = problem ?? "_window_ must be a non-negative integer, got '\(text)'"
            }
        }
        indexOnly = query.flag("_index_only_")
        autoCommit = query.flag("_auto_commit_")
    }
}

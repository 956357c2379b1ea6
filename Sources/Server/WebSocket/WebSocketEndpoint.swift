import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore
import Workflow

/// `/ws?clientId=…`: ComfyUI's event socket.
///
/// On connect the client gets `status` with its `sid` (and, if its prompt is running, the node being
/// executed). Its first text frame may announce feature flags, answered with the server's flags.
struct WebSocketEndpoint: Sendable {
    let hub: WebSocketHub
    let worker: JobWorker
    let token: String?
    let maxUploadSize: Int

    /// Decides whether an HTTP request upgrades. A request that asked to upgrade and is refused (a wrong
    /// token) is answered 400 by Hummingbird's upgrade channel itself; a plain GET of `/ws` reaches the router,
    /// whose auth middleware answers 401.
    func shouldUpgrade(_ request: HTTPRequest) async -> ShouldUpgradeResult<WebSocketDataHandler<HTTP1WebSocketUpgradeChannel.Context>> {
        let uri = URI(request.path ?? "/")
        guard uri.path == "/ws" || uri.path == "/api/ws" else { return .dontUpgrade }
        if let token {
            let header = request.headerFields[.authorization]
            let query = uri.queryParameters.get("token")
            guard TokenCheck.matches(header, token: token) || query.map({ TokenCheck.constantTimeEqual($0, token) }) == true
                    || TokenCheck.cookieMatches(request.headerFields[.cookie], token: token) else {
                return .dontUpgrade
            }
        }
        let requested = uri.queryParameters.get("clientId").flatMap { $0.isEmpty ? nil : $0 }
        let sid = requested ?? UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        return .upgrade([:]) { inbound, outbound, _ in
            try await session(sid: sid, inbound: inbound, outbound: outbound)
        }
    }

    private func session(sid: String, inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async throws {
        let (connection, frames) = hub.register(sid: sid)
        defer { hub.unregister(sid: sid, connection: connection) }

        let remaining = (try? await worker.store.queueRemaining()) ?? 0
        hub.send(type: "status", data: ["status": ["exec_info": ["queue_remaining": .int(Int64(remaining))]], "sid": .string(sid)], to: sid)
        if let running = worker.current, running.clientID == sid, let node = running.node {
            hub.send(type: "executing", data: ["node": .string(node)], to: sid)
        }

        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for await frame in frames {
                    switch frame {
                    case .text(let text): try await outbound.write(.text(text))
                    case .binary(let bytes): try await outbound.write(.binary(ByteBuffer(bytes: bytes)))
                    }
                }
            }
            group.addTask {
                var first = true
                for try await message in inbound.messages(maxSize: 1 << 20) {
                    // Only the first message is interpreted, as ComfyUI does.
                    guard first else { continue }
                    first = false
                    guard case .text(let text) = message, let json = try? JSONValue.parse(text),
                          json["type"]?.stringValue == "feature_flags" else { continue }
                    hub.setFeatureFlags(json["data"] ?? [:], sid: sid)
                    hub.send(type: "feature_flags", data: InfoController.features(maxUploadSize: maxUploadSize), to: sid)
                }
            }
            // Whichever side ends first (client closed, or session replaced) ends the session.
            _ = try await group.next()
            group.cancelAll()
        }
    }
}

import Foundation
import MessageQueue

/// One declared queue service (`--queue-service NAME[:comfyui][,key=value…]` or the config file): an input
/// queue `NAME` and a sink `NAME/sink` under `/api/predict/NAME`.
public struct QueueServiceDeclaration: Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable {
        /// A plain queue service: clients put and watch, nothing consumes the input.
        case plain
        /// A ComfyUI service: a worker runs each input workflow and puts the result into the sink.
        case comfyui
        /// A plain queue service whose synchronous endpoint answers with the request body (for probes and
        /// client tests).
        case echo
    }

    public var name: String
    public var kind: Kind
    /// The service's token; the server's when nil.
    public var token: String?
    public var settings: QueueSettings

    public init(name: String, kind: Kind = .plain, token: String? = nil, settings: QueueSettings = QueueSettings()) {
        self.name = name
        self.kind = kind
        self.token = token
        self.settings = settings
    }

    /// The input queue's name.
    public var inputQueue: String { name }
    /// The sink queue's name.
    public var sinkQueue: String { name + "/sink" }

    /// Parses `NAME[:comfyui][,key=value…]`. Keys: `token`, `max-length`, `max-payload-bytes` (or
    /// `max-payload-mb`), `evict` (`true`/`false`), `max-delivery`.
    /// - Throws: a message for bad names, kinds, keys or values.
    public static func parse(_ text: String) throws -> QueueServiceDeclaration {
        var parts = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        let head = parts.removeFirst()
        let nameAndKind = head.split(separator: ":", maxSplits: 1).map(String.init)
        guard let name = nameAndKind.first, isValidName(name) else {
            throw QueueServiceError("Invalid queue service name '\(nameAndKind.first ?? "")': use letters, digits, '.', '_' and '-'")
        }
        var declaration = QueueServiceDeclaration(name: name)
        if nameAndKind.count == 2 {
            guard let kind = Kind(rawValue: nameAndKind[1]) else {
                throw QueueServiceError("Unknown queue service kind '\(nameAndKind[1])' (plain, comfyui or echo)")
            }
            declaration.kind = kind
        }
        for option in parts where !option.isEmpty {
            let kv = option.split(separator: "=", maxSplits: 1).map(String.init)
            guard kv.count == 2 else { throw QueueServiceError("Queue service option '\(option)' is not key=value") }
            try declaration.apply(key: kv[0], value: kv[1])
        }
        return declaration
    }

    mutating func apply(key: String, value: String) throws {
        func positive() throws -> Int {
            guard let n = Int(value), n > 0 else { throw QueueServiceError("\(key) must be a positive integer, got '\(value)'") }
            return n
        }
        switch key {
        case "token": token = value.isEmpty ? nil : value
        case "max-length", "max_length", "maxLength": settings.maxLength = try positive()
        case "max-payload-bytes", "max_payload_bytes", "maxPayloadBytes": settings.maxPayloadBytes = try positive()
        case "max-payload-mb": settings.maxPayloadBytes = try positive() << 20
        case "evict", "auto-evict": 
            guard let b = Bool(value.lowercased()) else { throw QueueServiceError("evict must be true or false, got '\(value)'") }
            settings.evictOldest = b
        case "max-delivery", "max_delivery", "maxDelivery":
            guard let n = Int(value), n >= 0 else { throw QueueServiceError("max-delivery must be 0 or more, got '\(value)'") }
            settings.maxDelivery = n
        case "kind", "type":
            guard let k = Kind(rawValue: value) else { throw QueueServiceError("Unknown queue service kind '\(value)'") }
            kind = k
        default:
            throw QueueServiceError("Unknown queue service option '\(key)' (token, max-length, max-payload-bytes, evict, max-delivery)")
        }
    }

    /// Letters, digits, `.`, `_`, `-`; not empty, not `sink`.
    public static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name != "sink" && name.utf8.count <= 128
            && name.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "._-".unicodeScalars.contains($0)) }
    }

    /// Reads `queue_services.json` from the data directory: `[{"name": "…", "kind": "comfyui", "token": "…",
    /// "max_length": 100, "max_payload_bytes": 1048576, "evict": false, "max_delivery": 2}, …]`.
    /// - Returns: nil when the file does not exist.
    /// - Throws: a message for unreadable or invalid files.
    public static func load(file path: String) throws -> [QueueServiceDeclaration]? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        guard let list = try JSONSerialization.jsonObject(with: data) as? [[String: Any]] else {
            throw QueueServiceError("\(path): expected a JSON array of service objects")
        }
        return try list.map { object in
            guard let name = object["name"] as? String, isValidName(name) else {
                throw QueueServiceError("\(path): every service needs a valid \"name\"")
            }
            var declaration = QueueServiceDeclaration(name: name)
            for (key, value) in object where key != "name" {
                let text: String
                switch value {
                case let b as Bool: text = b ? "true" : "false"
                case let n as NSNumber: text = n.stringValue
                case let s as String: text = s
                default: throw QueueServiceError("\(path): service \(name): bad value for \(key)")
                }
                try declaration.apply(key: key.replacingOccurrences(of: "_", with: "-"), value: text)
            }
            return declaration
        }
    }

    /// The ComfyUI worker's default: one ComfyUI service named `comfyui`, items delivered at most twice (a job that
    /// was running when the process died is tried once more, as `--max-attempts` does for `/prompt` jobs).
    public static var defaultServices: [QueueServiceDeclaration] {
        [QueueServiceDeclaration(name: "comfyui", kind: .comfyui, settings: QueueSettings(maxDelivery: 2))]
    }
}

/// A bad queue service declaration.
public struct QueueServiceError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// The declared services and the broker that holds their queues, as the HTTP and WebSocket handlers use them.
public struct QueueServices: Sendable {
    public let broker: MessageBroker
    public let services: [String: QueueServiceDeclaration]
    /// The server's token (used by services that set none).
    public let serverToken: String?
    /// `meta.backend`: the store's name.
    public let backendName: String

    public init(broker: MessageBroker, services: [QueueServiceDeclaration], serverToken: String?, backendName: String) {
        self.broker = broker
        self.services = Dictionary(services.map { ($0.name, $0) }, uniquingKeysWith: { $1 })
        self.serverToken = serverToken
        self.backendName = backendName
    }

    /// Declares every service's two queues on the broker and loads what the store holds.
    public func open() async throws {
        var queues: [String: QueueSettings] = [:]
        for service in services.values {
            queues[service.inputQueue] = service.settings
            queues[service.sinkQueue] = service.settings
        }
        try await broker.open(queues)
    }

    /// What a path under `/api/predict/` addresses.
    public struct Target: Sendable, Equatable {
        public var service: QueueServiceDeclaration
        /// `NAME` or `NAME/sink`.
        public var queue: String
        public var isSink: Bool
        /// The sub-path after the service name when it is not `sink` (`api_prompt`, …); empty for the bare path.
        public var suffix: String
    }

    /// Resolves `rest` (the path after `/api/predict/`, percent-decoded) to a service and queue: the longest
    /// declared service name that is `rest` or a prefix of it followed by `/`.
    public func resolve(_ rest: String) -> Target? {
        var trimmed = rest
        while trimmed.hasSuffix("/") { trimmed.removeLast() }
        let candidates = services.keys.filter { trimmed == $0 || trimmed.hasPrefix($0 + "/") }.sorted { $0.count > $1.count }
        guard let name = candidates.first, let service = services[name] else { return nil }
        let suffix = trimmed == name ? "" : String(trimmed.dropFirst(name.count + 1))
        if suffix == "sink" { return Target(service: service, queue: service.sinkQueue, isSink: true, suffix: "") }
        return Target(service: service, queue: service.inputQueue, isSink: false, suffix: suffix)
    }

    /// The token a service requires, if any.
    public func token(for service: QueueServiceDeclaration) -> String? { service.token ?? serverToken }
}

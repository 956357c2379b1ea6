import Foundation
import HummingbirdTesting
import NIOCore
import Testing
import Workflow

extension TestResponse {
    /// The body parsed as JSON.
    func json() throws -> JSONValue { try JSONValue.parse(body.readableBytesView) }

    /// The body as UTF-8 text.
    var text: String { String(buffer: body) }

    /// The body bytes.
    var bytes: [UInt8] { Array(body.readableBytesView) }
}

extension JSONValue {
    /// Builds a JSON value from a Swift `Int`.
    static func number(_ value: Int) -> JSONValue { .int(Int64(value)) }

    /// Array elements, or an empty array for anything else.
    var items: [JSONValue] { arrayValue ?? [] }

    /// Object keys in order, or none.
    var keys: [String] { objectValue?.keys ?? [] }

    /// `int64Value` as `Int`.
    var intValue: Int? { int64Value.map(Int.init) }

    /// The strings of an array value.
    var strings: [String] { items.compactMap(\.stringValue) }
}

/// A new canonical (lowercase) UUID string.
func newUUID() -> String { UUID().uuidString.lowercased() }

/// Prompts built from the built-in and test nodes.
enum Prompts {
    /// `1: EmptyImage → 2: ImageInvert → 3: SaveImage`.
    static func emptyInvertSave(width: Int = 64, height: Int = 64, color: Int = 0x336699, prefix: String = "test") -> JSONValue {
        [
            "1": ["class_type": "EmptyImage",
                  "inputs": ["width": .number(width), "height": .number(height), "batch_size": 1, "color": .number(color)]],
            "2": ["class_type": "ImageInvert", "inputs": ["image": ["1", 0]]],
            "3": ["class_type": "SaveImage", "inputs": ["images": ["2", 0], "filename_prefix": .string(prefix)]],
        ]
    }

    /// `1: EmptyImage → 2: PreviewImage`, the trivial workflow.
    static func emptyPreview(size: Int = 32, color: Int = 0) -> JSONValue {
        [
            "1": ["class_type": "EmptyImage",
                  "inputs": ["width": .number(size), "height": .number(size), "batch_size": 1, "color": .number(color)]],
            "2": ["class_type": "PreviewImage", "inputs": ["images": ["1", 0]]],
        ]
    }

    /// `1: SlowNode` ticking `steps` times `tickMS` ms; `seed` makes each job distinct for the cache.
    static func slow(steps: Int = 200, seed: Int = Int.random(in: 0..<(1 << 30)), tickMS: Int = 50) -> JSONValue {
        ["1": ["class_type": "SlowNode", "inputs": ["steps": .number(steps), "seed": .number(seed), "tick_ms": .number(tickMS)]]]
    }

    /// `1: EmptyImage → 2: FailNode(message)`.
    static func failing(message: String = "boom from the test node") -> JSONValue {
        [
            "1": ["class_type": "EmptyImage", "inputs": ["width": 8, "height": 8, "batch_size": 1, "color": 0]],
            "2": ["class_type": "FailNode", "inputs": ["image": ["1", 0], "message": .string(message)]],
        ]
    }
}

/// The `[type, data]` pairs of a history entry's `status.messages`.
func historyMessageTypes(_ entry: JSONValue) -> [String] {
    (entry["status"]?["messages"]?.items ?? []).compactMap { $0.items.first?.stringValue }
}

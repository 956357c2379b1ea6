/// An API-format prompt: node id → `{"class_type", "inputs", "_meta"}`.
///
/// Input values are constants or links `[source_node_id, output_index]`; arrays are reserved for
/// links, so list-valued widgets arrive wrapped as `{"__value__": [...]}`.
public struct APIPrompt: Sendable {
    public struct Node: Sendable {
        public var id: String
        public var classType: String?
        public var inputs: JSONObject
        public var title: String?

        /// `_meta.title`, else ComfyUI's fallback `ID #<id>`.
        public var displayTitle: String { title ?? "ID #\(id)" }
    }

    /// Node ids in the order the client sent them.
    public private(set) var order: [String]
    public private(set) var nodes: [String: Node]

    /// Reads a prompt from its JSON form.
    /// - Throws: ``PromptError`` (`invalid_prompt`) when it is not an object of node objects.
    public init(json: JSONValue) throws {
        guard case .object(let object) = json else {
            throw PromptError(type: "invalid_prompt", message: "Invalid prompt", details: "prompt must be a JSON object of nodes")
        }
        var order: [String] = []
        var nodes: [String: Node] = [:]
        for (id, value) in object {
            guard case .object(let nodeObject) = value else {
                throw PromptError(type: "invalid_prompt", message: "Invalid prompt", details: "Node '\(id)' is not a JSON object")
            }
            let classType = nodeObject["class_type"]?.stringValue
            let inputs = nodeObject["inputs"]?.objectValue ?? JSONObject()
            let title = nodeObject["_meta"]?["title"]?.stringValue
            order.append(id)
            nodes[id] = Node(id: id, classType: classType, inputs: inputs, title: title)
        }
        self.order = order
        self.nodes = nodes
    }

    public subscript(id: String) -> Node? { nodes[id] }

    /// Replaces one input's value (validation stores coerced constants this way).
    public mutating func setInput(node: String, name: String, value: JSONValue) {
        nodes[node]?.inputs[name] = value
    }

    /// The prompt back as JSON, with any coerced values.
    public var json: JSONValue {
        var object = JSONObject()
        for id in order {
            let node = nodes[id]!
            var n = JSONObject()
            if let c = node.classType { n["class_type"] = .string(c) }
            n["inputs"] = .object(node.inputs)
            if let t = node.title { n["_meta"] = ["title": .string(t)] }
            object[id] = .object(n)
        }
        return .object(object)
    }
}

/// A link `[source_node_id, output_index]` read from an input value.
public struct Link: Sendable, Hashable {
    public var node: String
    public var output: Int

    /// Interprets `value` as a link when it is a 2-element array of (string or number, integer).
    public init?(_ value: JSONValue) {
        guard case .array(let a) = value, a.count == 2 else { return nil }
        switch a[0] {
        case .string(let s): node = s
        case .int(let i): node = String(i)
        default: return nil
        }
        guard let slot = a[1].int64Value, slot >= 0, slot < Int64(Int32.max) else { return nil }
        output = Int(slot)
    }
}

/// ComfyUI's error object: `{"type", "message", "details", "extra_info"}`.
public struct PromptError: Error, Sendable, Equatable {
    public var type: String
    public var message: String
    public var details: String
    public var extraInfo: JSONObject

    public init(type: String, message: String, details: String = "", extraInfo: JSONObject = JSONObject()) {
        self.type = type
        self.message = message
        self.details = details
        self.extraInfo = extraInfo
    }

    public var json: JSONValue {
        ["type": .string(type), "message": .string(message), "details": .string(details), "extra_info": .object(extraInfo)]
    }
}

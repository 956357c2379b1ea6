/// A value flowing between nodes. Widget values are plain scalars; everything else (images,
/// latents, models) is an opaque handle that only the node library knows how to read.
public enum NodeValue: Sendable {
    case int(Int64)
    case float(Double)
    case string(String)
    case bool(Bool)
    /// A structured constant (a `{"__value__": [...]}` widget, or a COMBO of numbers).
    case json(JSONValue)
    /// An output flagged `isList` returns its elements in one `.list`.
    case list([NodeValue])
    /// An opaque value: a tensor batch, a model handle, a video.
    case object(any Sendable)

    /// The constant as JSON, or `nil` for opaque values.
    public var jsonValue: JSONValue? {
        switch self {
        case .int(let i): return .int(i)
        case .float(let d): return .double(d)
        case .string(let s): return .string(s)
        case .bool(let b): return .bool(b)
        case .json(let j): return j
        case .list(let l):
            var out: [JSONValue] = []
            for v in l {
                guard let j = v.jsonValue else { return nil }
                out.append(j)
            }
            return .array(out)
        case .object: return nil
        }
    }
}

/// An error a node raises; it becomes ComfyUI's `execution_error` (or a validation error).
public struct NodeError: Error, Sendable, CustomStringConvertible {
    /// A stable dotted type name reported as `exception_type`.
    public var type: String
    public var message: String

    public init(_ message: String, type: String = "loom.NodeError") {
        self.type = type
        self.message = message
    }

    public var description: String { message }
}

/// Thrown from inside a node when the job was interrupted or cancelled.
public struct InterruptedError: Error, Sendable {
    public init() {}
}

/// What a running node can ask of the executor: progress reports and interruption checks.
public protocol NodeExecutionContext: Sendable {
    var promptID: String { get }
    var nodeID: String { get }
    /// Throws ``InterruptedError`` when the job was interrupted.
    func checkInterrupted() throws
    /// Reports `value` of `max` done; also checks for interruption.
    func progress(_ value: Int, of max: Int) throws
}

/// One call of a node's execute function.
public struct NodeInvocation: Sendable {
    /// Resolved inputs for this call (for `isInputList` nodes every value is a `.list`).
    public var inputs: [String: NodeValue]
    /// The API prompt of the job (hidden `PROMPT`).
    public var prompt: JSONValue
    /// `extra_data.extra_pnginfo` of the job (hidden `EXTRA_PNGINFO`), or `nil`.
    public var extraPNGInfo: JSONValue?
    public var context: any NodeExecutionContext

    public init(inputs: [String: NodeValue], prompt: JSONValue, extraPNGInfo: JSONValue?, context: any NodeExecutionContext) {
        self.inputs = inputs
        self.prompt = prompt
        self.extraPNGInfo = extraPNGInfo
        self.context = context
    }

    public subscript(name: String) -> NodeValue? { inputs[name] }

    public func int(_ name: String) throws -> Int64 {
        switch inputs[name] {
        case .int(let i): return i
        case .float(let d) where d.rounded(.towardZero) == d: return Int64(d)
        default: throw NodeError("Input '\(name)' is not an integer")
        }
    }

    public func double(_ name: String) throws -> Double {
        switch inputs[name] {
        case .float(let d): return d
        case .int(let i): return Double(i)
        default: throw NodeError("Input '\(name)' is not a number")
        }
    }

    public func string(_ name: String) throws -> String {
        guard case .string(let s) = inputs[name] else { throw NodeError("Input '\(name)' is not a string") }
        return s
    }

    public func bool(_ name: String) throws -> Bool {
        guard case .bool(let b) = inputs[name] else { throw NodeError("Input '\(name)' is not a boolean") }
        return b
    }

    /// An opaque input of a known type, or `nil` when an optional input is not connected.
    public func optionalObject<T: Sendable>(_ name: String, as: T.Type = T.self) throws -> T? {
        guard let value = inputs[name] else { return nil }
        guard case .object(let o) = value, let typed = o as? T else {
            throw NodeError("Input '\(name)' has the wrong type (expected \(T.self))")
        }
        return typed
    }

    public func object<T: Sendable>(_ name: String, as type: T.Type = T.self) throws -> T {
        guard let value = try optionalObject(name, as: type) else { throw NodeError("Required input '\(name)' is missing") }
        return value
    }
}

/// What one call of a node returns: a value per output, and an optional UI dict (for example
/// `{"images": [{"filename", "subfolder", "type"}]}`) that lands in `executed` and history.
public struct NodeResult: Sendable {
    public var outputs: [NodeValue]
    public var ui: JSONObject?

    public init(outputs: [NodeValue] = [], ui: JSONObject? = nil) {
        self.outputs = outputs
        self.ui = ui
    }
}

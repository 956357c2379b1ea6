/// A node declared as data: its schema plus the functions ComfyUI calls `IS_CHANGED`,
/// `VALIDATE_INPUTS` and the node function itself.
public struct NodeDefinition: Sendable {
    public var schema: NodeSchema

    /// ComfyUI's `IS_CHANGED`: a fingerprint of the node's constant inputs (linked inputs are absent).
    /// Return `nil` for "always re-run" (ComfyUI's NaN). Without a fingerprint function the node is
    /// cached on its inputs alone.
    public var fingerprint: (@Sendable (_ constants: [String: JSONValue]) -> JSONValue?)?

    /// ComfyUI's `VALIDATE_INPUTS`: called at validation time with the constant inputs; returns `nil`
    /// when valid, else the reason (reported as `custom_validation_failed`). The inputs it names in
    /// ``validatedInputs`` skip the generic min/max/list checks.
    public var validate: (@Sendable (_ constants: [String: JSONValue]) -> ValidationFailure?)?
    public var validatedInputs: Set<String>

    /// Runs the node. Called on a compute thread, never on an event loop.
    public var execute: @Sendable (NodeInvocation) throws -> NodeResult

    public init(
        schema: NodeSchema,
        fingerprint: (@Sendable ([String: JSONValue]) -> JSONValue?)? = nil,
        validate: (@Sendable ([String: JSONValue]) -> ValidationFailure?)? = nil,
        validatedInputs: Set<String> = [],
        execute: @escaping @Sendable (NodeInvocation) throws -> NodeResult
    ) {
        self.schema = schema
        self.fingerprint = fingerprint
        self.validate = validate
        self.validatedInputs = validatedInputs
        self.execute = execute
    }
}

/// A custom validation failure: which input, and why.
public struct ValidationFailure: Sendable, Equatable {
    public var inputName: String
    public var reason: String

    public init(inputName: String, reason: String) {
        self.inputName = inputName
        self.reason = reason
    }
}

/// The set of nodes a server offers, by class type, in registration order.
public struct NodeRegistry: Sendable {
    public private(set) var order: [String] = []
    private var definitions: [String: NodeDefinition] = [:]

    public init(_ definitions: [NodeDefinition] = []) {
        for d in definitions { register(d) }
    }

    public mutating func register(_ definition: NodeDefinition) {
        let name = definition.schema.name
        if definitions.updateValue(definition, forKey: name) == nil { order.append(name) }
    }

    public subscript(classType: String) -> NodeDefinition? { definitions[classType] }

    public var all: [NodeDefinition] { order.map { definitions[$0]! } }
}

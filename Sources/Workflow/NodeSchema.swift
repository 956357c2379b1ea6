/// What a node declares about itself: its inputs with types, bounds and defaults, its outputs, and
/// where it sits in the menu. `/object_info` is generated from it and validation checks prompts
/// against it.
public struct NodeSchema: Sendable {
    public var name: String
    public var displayName: String
    public var description: String
    public var category: String
    /// ComfyUI's `python_module`: `nodes`, `comfy_extras.nodes_x` or `custom_nodes.<pack>`.
    public var pythonModule: String
    public var isOutputNode: Bool
    public var required: [InputSpec]
    public var optional: [InputSpec]
    public var hidden: [HiddenInput]
    public var outputs: [OutputSpec]
    public var isInputList: Bool
    public var deprecated: Bool
    public var experimental: Bool
    public var searchAliases: [String]
    /// V3 nodes emit hidden inputs as 1-element arrays; V1 nodes as plain strings.
    public var isV3: Bool
    /// Constant inputs the schema does not declare are passed to the node too (a custom node whose
    /// `hidden` dict accepts every key, as VideoHelperSuite's Video Combine takes its per-format widgets).
    /// They are not validated and links in them are not followed.
    public var acceptsUndeclaredInputs: Bool = false

    public init(
        name: String, displayName: String? = nil, description: String = "", category: String,
        pythonModule: String = "nodes", isOutputNode: Bool = false,
        required: [InputSpec] = [], optional: [InputSpec] = [], hidden: [HiddenInput] = [],
        outputs: [OutputSpec] = [], isInputList: Bool = false, deprecated: Bool = false,
        experimental: Bool = false, searchAliases: [String] = [], isV3: Bool = false
    ) {
        self.name = name
        self.displayName = displayName ?? name
        self.description = description
        self.category = category
        self.pythonModule = pythonModule
        self.isOutputNode = isOutputNode
        self.required = required
        self.optional = optional
        self.hidden = hidden
        self.outputs = outputs
        self.isInputList = isInputList
        self.deprecated = deprecated
        self.experimental = experimental
        self.searchAliases = searchAliases
        self.isV3 = isV3
    }

    /// Every declared (required then optional) input, in widget order.
    public var declaredInputs: [(spec: InputSpec, required: Bool)] {
        required.map { ($0, true) } + optional.map { ($0, false) }
    }

    public func input(named name: String) -> InputSpec? {
        required.first { $0.name == name } ?? optional.first { $0.name == name }
    }
}

/// Hidden inputs the executor fills in (ComfyUI's `hidden` dict).
public enum HiddenInput: String, Sendable, CaseIterable {
    case prompt = "PROMPT"
    case extraPNGInfo = "EXTRA_PNGINFO"
    case uniqueID = "UNIQUE_ID"
    case dynPrompt = "DYNPROMPT"

    /// The input name under which ComfyUI declares the hidden value.
    public var inputName: String {
        switch self {
        case .prompt: return "prompt"
        case .extraPNGInfo: return "extra_pnginfo"
        case .uniqueID: return "unique_id"
        case .dynPrompt: return "dynprompt"
        }
    }
}

/// One output socket.
public struct OutputSpec: Sendable {
    public var type: String
    public var name: String
    public var isList: Bool
    public var tooltip: String?

    public init(_ type: String, name: String? = nil, isList: Bool = false, tooltip: String? = nil) {
        self.type = type
        self.name = name ?? type
        self.isList = isList
        self.tooltip = tooltip
    }
}

/// One declared input: a widget (INT, FLOAT, STRING, BOOLEAN, COMBO) or a socket type.
public struct InputSpec: Sendable {
    public var name: String
    public var kind: Kind
    public var tooltip: String?
    /// Extra option keys emitted verbatim into `/object_info` (for example `image_upload`).
    public var extra: JSONObject

    public enum Kind: Sendable {
        case int(IntOptions)
        case float(FloatOptions)
        case string(StringOptions)
        case boolean(BoolOptions)
        case combo(ComboOptions)
        /// A socket such as `IMAGE`, `MODEL`, `*` or a comma union like `IMAGE,LATENT`.
        case socket(String, forceInput: Bool = false)
    }

    public init(_ name: String, _ kind: Kind, tooltip: String? = nil, extra: JSONObject = JSONObject()) {
        self.name = name
        self.kind = kind
        self.tooltip = tooltip
        self.extra = extra
    }

    /// The type name used for link type matching (`INT`, `COMBO`, `IMAGE`, …).
    public var typeName: String {
        switch kind {
        case .int: return "INT"
        case .float: return "FLOAT"
        case .string: return "STRING"
        case .boolean: return "BOOLEAN"
        case .combo: return "COMBO"
        case .socket(let t, _): return t
        }
    }
}

public struct IntOptions: Sendable {
    public var defaultValue: Int64
    public var min: Int64?
    /// Upper bound as a JSON number: seeds declare 2^64 − 1, which only `UInt64` holds.
    public var max: JSONValue?
    public var step: Int64?
    public var controlAfterGenerate: Bool
    public var display: String?

    public init(default defaultValue: Int64, min: Int64? = nil, max: JSONValue? = nil, step: Int64? = nil,
                controlAfterGenerate: Bool = false, display: String? = nil) {
        self.defaultValue = defaultValue
        self.min = min
        self.max = max
        self.step = step
        self.controlAfterGenerate = controlAfterGenerate
        self.display = display
    }
}

public struct FloatOptions: Sendable {
    public var defaultValue: Double
    public var min: Double?
    public var max: Double?
    public var step: Double?
    public var round: Double?
    public var display: String?

    public init(default defaultValue: Double, min: Double? = nil, max: Double? = nil, step: Double? = nil,
                round: Double? = nil, display: String? = nil) {
        self.defaultValue = defaultValue
        self.min = min
        self.max = max
        self.step = step
        self.round = round
        self.display = display
    }
}

public struct StringOptions: Sendable {
    public var defaultValue: String?
    public var multiline: Bool
    public var dynamicPrompts: Bool
    public var placeholder: String?

    public init(default defaultValue: String? = nil, multiline: Bool = false, dynamicPrompts: Bool = false,
                placeholder: String? = nil) {
        self.defaultValue = defaultValue
        self.multiline = multiline
        self.dynamicPrompts = dynamicPrompts
        self.placeholder = placeholder
    }
}

public struct BoolOptions: Sendable {
    public var defaultValue: Bool
    public var labelOn: String?
    public var labelOff: String?

    public init(default defaultValue: Bool, labelOn: String? = nil, labelOff: String? = nil) {
        self.defaultValue = defaultValue
        self.labelOn = labelOn
        self.labelOff = labelOff
    }
}

/// A COMBO's choices: fixed, or computed when asked (file lists change as users upload).
public struct ComboOptions: Sendable {
    public var values: @Sendable () -> [JSONValue]
    public var defaultValue: JSONValue?
    /// `true` emits V3's `["COMBO", {"options": [...]}]`; `false` the legacy `[[...], {...}]`.
    public var v3Encoding: Bool

    public init(_ fixed: [String], default defaultValue: String? = nil, v3Encoding: Bool = false) {
        let values = fixed.map { JSONValue.string($0) }
        self.values = { values }
        self.defaultValue = defaultValue.map { .string($0) }
        self.v3Encoding = v3Encoding
    }

    public init(dynamic: @escaping @Sendable () -> [String], default defaultValue: String? = nil, v3Encoding: Bool = false) {
        self.values = { dynamic().map { .string($0) } }
        self.defaultValue = defaultValue.map { .string($0) }
        self.v3Encoding = v3Encoding
    }
}

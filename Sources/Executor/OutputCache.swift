import Workflow

/// Node outputs kept between prompts, keyed by input signature (ComfyUI's classic cache).
///
/// A signature is the node's class, its fingerprint and its inputs, with each link replaced by the
/// interned id of the linked node's own signature, so equal sub-graphs share entries across prompts
/// and node ids (except nodes with a hidden `UNIQUE_ID`, whose id is part of their signature). After
/// each prompt only the entries that prompt used survive.
struct OutputCache {
    struct Entry {
        /// Per output slot, the list of values (one per call of the node).
        var outputs: [[NodeValue]]
        var ui: JSONObject?
    }

    private var entries: [String: Entry] = [:]
    private var interned: [String: Int] = [:]
    private var nextIntern = 0

    /// A short stable id for a signature, used when a descendant links to it.
    mutating func intern(_ signature: String) -> Int {
        if let id = interned[signature] { return id }
        nextIntern += 1
        interned[signature] = nextIntern
        return nextIntern
    }

    subscript(signature: String) -> Entry? {
        get { entries[signature] }
        set { entries[signature] = newValue }
    }

    /// Keeps only the entries (and interned ids) for `signatures`.
    mutating func retain(only signatures: Set<String>) {
        entries = entries.filter { signatures.contains($0.key) }
        interned = interned.filter { signatures.contains($0.key) }
    }

    mutating func removeAll() {
        entries.removeAll()
        interned.removeAll()
    }

    var count: Int { entries.count }
}

/// Computes input signatures for the nodes of one prompt.
struct SignatureBuilder {
    let prompt: APIPrompt
    let registry: NodeRegistry
    private(set) var signatures: [String: String] = [:]
    private var volatileCounter: Int

    init(prompt: APIPrompt, registry: NodeRegistry, volatileSeed: Int) {
        self.prompt = prompt
        self.registry = registry
        self.volatileCounter = volatileSeed
    }

    /// The signature of node `id`, computing ancestors first. Cycles cannot occur in validated
    /// prompts; a link back into the current path is treated as a constant to stay total.
    mutating func signature(of id: String, cache: inout OutputCache, path: Set<String> = []) -> String {
        if let s = signatures[id] { return s }
        guard let node = prompt[id] else { return "missing:\(id)" }
        let classType = node.classType ?? ""
        var parts: [String] = [classType]
        if let definition = registry[classType] {
            // A node that reads its own id (hidden UNIQUE_ID) must not share results with other ids.
            if definition.schema.hidden.contains(.uniqueID) { parts.append("id=" + JSONValue.string(id).jsonString()) }
            if let fingerprint = definition.fingerprint {
                var constants: [String: JSONValue] = [:]
                for (name, value) in node.inputs where Link(value) == nil { constants[name] = value }
                if let fp = fingerprint(constants) {
                    parts.append("fp=" + fp.jsonString())
                } else {
                    volatileCounter += 1
                    parts.append("volatile=\(volatileCounter)")
                }
            }
        }
        for name in node.inputs.keys.sorted() {
            let value = node.inputs[name]!
            if let link = Link(value), prompt[link.node] != nil, !path.contains(link.node) {
                let upstream = signature(of: link.node, cache: &cache, path: path.union([id]))
                parts.append("\(name)=@\(cache.intern(upstream)).\(link.output)")
            } else {
                parts.append("\(name)=" + value.jsonString())
            }
        }
        let s = parts.joined(separator: "|")
        signatures[id] = s
        return s
    }
}

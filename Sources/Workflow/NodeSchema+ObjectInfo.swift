extension InputSpec {
    /// The input's spec tuple as `/object_info` shows it: `[TYPE]` or `[TYPE, {options}]`.
    public var objectInfoJSON: JSONValue {
        var options = JSONObject()
        var type: JSONValue
        switch kind {
        case .int(let o):
            type = "INT"
            options["default"] = .int(o.defaultValue)
            if let min = o.min { options["min"] = .int(min) }
            if let max = o.max { options["max"] = max }
            if let step = o.step { options["step"] = .int(step) }
            if o.controlAfterGenerate { options["control_after_generate"] = true }
            if let d = o.display { options["display"] = .string(d) }
        case .float(let o):
            type = "FLOAT"
            options["default"] = .double(o.defaultValue)
            if let min = o.min { options["min"] = .double(min) }
            if let max = o.max { options["max"] = .double(max) }
            if let step = o.step { options["step"] = .double(step) }
            if let round = o.round { options["round"] = .double(round) }
            if let d = o.display { options["display"] = .string(d) }
        case .string(let o):
            type = "STRING"
            if let d = o.defaultValue { options["default"] = .string(d) }
            if o.multiline { options["multiline"] = true }
            if o.dynamicPrompts { options["dynamicPrompts"] = true }
            if let p = o.placeholder { options["placeholder"] = .string(p) }
        case .boolean(let o):
            type = "BOOLEAN"
            options["default"] = .bool(o.defaultValue)
            if let on = o.labelOn { options["label_on"] = .string(on) }
            if let off = o.labelOff { options["label_off"] = .string(off) }
        case .combo(let o):
            if o.v3Encoding {
                type = "COMBO"
                options["options"] = .array(o.values())
            } else {
                type = .array(o.values())
            }
            if let d = o.defaultValue { options["default"] = d }
        case .socket(let t, let forceInput):
            type = .string(t)
            if forceInput { options["forceInput"] = true }
        }
        if let tooltip { options["tooltip"] = .string(tooltip) }
        for (k, v) in extra { options[k] = v }
        return options.isEmpty ? [type] : [type, .object(options)]
    }

    /// The declared bounds for validation, as JSON numbers.
    var minimum: JSONValue? {
        switch kind {
        case .int(let o): return o.min.map { .int($0) }
        case .float(let o): return o.min.map { .double($0) }
        default: return nil
        }
    }

    var maximum: JSONValue? {
        switch kind {
        case .int(let o): return o.max
        case .float(let o): return o.max.map { .double($0) }
        default: return nil
        }
    }
}

extension NodeSchema {
    /// The node definition as `GET /object_info` returns it, with every key the frontend's schema requires.
    public var objectInfoJSON: JSONValue {
        var required = JSONObject()
        for spec in self.required { required[spec.name] = spec.objectInfoJSON }
        var input: JSONObject = ["required": .object(required)]
        if !optional.isEmpty {
            var opt = JSONObject()
            for spec in optional { opt[spec.name] = spec.objectInfoJSON }
            input["optional"] = .object(opt)
        }
        if !hidden.isEmpty {
            var h = JSONObject()
            for hiddenInput in hidden {
                h[hiddenInput.inputName] = isV3 ? [.string(hiddenInput.rawValue)] : .string(hiddenInput.rawValue)
            }
            input["hidden"] = .object(h)
        }
        var inputOrder: JSONObject = ["required": JSONValue(self.required.map(\.name))]
        if !optional.isEmpty { inputOrder["optional"] = JSONValue(optional.map(\.name)) }
        if !hidden.isEmpty { inputOrder["hidden"] = JSONValue(hidden.map(\.inputName)) }

        var def = JSONObject()
        def["input"] = .object(input)
        def["input_order"] = .object(inputOrder)
        def["is_input_list"] = .bool(isInputList)
        def["output"] = .array(outputs.map { .string($0.type) })
        def["output_is_list"] = .array(outputs.map { .bool($0.isList) })
        def["output_name"] = .array(outputs.map { .string($0.name) })
        if outputs.contains(where: { $0.tooltip != nil }) {
            def["output_tooltips"] = .array(outputs.map { .string($0.tooltip ?? "") })
        }
        def["name"] = .string(name)
        def["display_name"] = .string(displayName)
        def["description"] = .string(description)
        def["python_module"] = .string(pythonModule)
        def["category"] = .string(category)
        def["output_node"] = .bool(isOutputNode)
        def["has_intermediate_output"] = false
        if deprecated { def["deprecated"] = true }
        if experimental { def["experimental"] = true }
        def["api_node"] = false
        def["search_aliases"] = JSONValue(searchAliases)
        return .object(def)
    }
}

import Testing
import Workflow

@Suite struct ObjectInfoTests {
    static let sampler = NodeSchema(
        name: "KSampler", description: "Denoises a latent.", category: "sampling", isOutputNode: false,
        required: [
            InputSpec("model", .socket("MODEL"), tooltip: "The model."),
            InputSpec("seed", .int(IntOptions(default: 0, min: 0, max: .uint(UInt64.max), controlAfterGenerate: true))),
            InputSpec("cfg", .float(FloatOptions(default: 8.0, min: 0.0, max: 100.0, step: 0.1, round: 0.01))),
            InputSpec("text", .string(StringOptions(multiline: true, dynamicPrompts: true))),
            InputSpec("sampler_name", .combo(ComboOptions(["euler", "euler_ancestral"])), tooltip: "Sampler."),
            InputSpec("format", .combo(ComboOptions(["auto", "mp4"], default: "auto", v3Encoding: true))),
            InputSpec("flag", .boolean(BoolOptions(default: true, labelOn: "yes", labelOff: "no"))),
            InputSpec("images", .socket("IMAGE")),
        ],
        optional: [InputSpec("audio", .socket("AUDIO", forceInput: true), extra: ["lazy": true])],
        hidden: [.prompt, .extraPNGInfo],
        outputs: [OutputSpec("LATENT", tooltip: "The denoised latent."), OutputSpec("INT", name: "count", isList: true)])

    static func def(_ schema: NodeSchema) throws -> JSONObject {
        try #require(schema.objectInfoJSON.objectValue)
    }

    @Test func everyKeyTheFrontendRequiresIsPresent() throws {
        let def = try Self.def(Self.sampler)
        for key in ["name", "display_name", "description", "python_module", "category", "output_node", "input",
                    "input_order", "output", "output_is_list", "output_name"] {
            #expect(def[key] != nil, "missing \(key)")
        }
        #expect(def["name"] == "KSampler")
        #expect(def["display_name"] == "KSampler")
        #expect(def["description"] == "Denoises a latent.")
        #expect(def["python_module"] == "nodes")
        #expect(def["category"] == "sampling")
        #expect(def["output_node"] == false)
        #expect(def["is_input_list"] == false)
        #expect(def["output"] == ["LATENT", "INT"])
        #expect(def["output_is_list"] == [false, true])
        #expect(def["output_name"] == ["LATENT", "count"])
        #expect(def["output_tooltips"] == ["The denoised latent.", ""])
        #expect(def["deprecated"] == nil)
        #expect(def["experimental"] == nil)
    }

    @Test func inputsAndOrder() throws {
        let def = try Self.def(Self.sampler)
        let required = try #require(def["input"]?["required"]?.objectValue)
        #expect(required.keys == ["model", "seed", "cfg", "text", "sampler_name", "format", "flag", "images"])
        #expect(required["model"] == ["MODEL", ["tooltip": "The model."]])
        #expect(required["seed"] == ["INT", ["default": 0, "min": 0, "max": .uint(UInt64.max), "control_after_generate": true]])
        #expect(required["cfg"] == ["FLOAT", ["default": 8.0, "min": 0.0, "max": 100.0, "step": 0.1, "round": 0.01]])
        #expect(required["text"] == ["STRING", ["multiline": true, "dynamicPrompts": true]])
        #expect(required["flag"] == ["BOOLEAN", ["default": true, "label_on": "yes", "label_off": "no"]])
        #expect(required["images"] == ["IMAGE"])
        #expect(def["input"]?["optional"] == ["audio": ["AUDIO", ["forceInput": true, "lazy": true]]])
        #expect(def["input_order"] == ["required": ["model", "seed", "cfg", "text", "sampler_name", "format", "flag", "images"],
                                       "optional": ["audio"], "hidden": ["prompt", "extra_pnginfo"]])
        #expect(def["input_order"]?.objectValue?.keys == ["required", "optional", "hidden"])
    }

    @Test func comboEncodings() throws {
        let required = try #require(Self.def(Self.sampler)["input"]?["required"]?.objectValue)
        // Legacy V1: the option array is the type.
        #expect(required["sampler_name"] == [["euler", "euler_ancestral"], ["tooltip": "Sampler."]])
        // V3: "COMBO" with an options key.
        #expect(required["format"] == ["COMBO", ["options": ["auto", "mp4"], "default": "auto"]])
        #expect(JSONValue.object(required).jsonString().contains(#""sampler_name": [["euler", "euler_ancestral"], {"tooltip": "Sampler."}]"#))
    }

    @Test func dynamicComboOptionsAreReadEachTime() {
        final class Box: @unchecked Sendable { var files = ["a.png"] }  // test-only; read and written on one thread
        let box = Box()
        let spec = InputSpec("image", .combo(ComboOptions(dynamic: { box.files })))
        #expect(spec.objectInfoJSON == [["a.png"]])
        box.files.append("b.png")
        #expect(spec.objectInfoJSON == [["a.png", "b.png"]])
    }

    @Test func seedMaximumSerialisesAsAnInteger() throws {
        let text = Self.sampler.objectInfoJSON.jsonString()
        #expect(text.contains(#""seed": ["INT", {"default": 0, "min": 0, "max": 18446744073709551615, "control_after_generate": true}]"#))
        #expect(text.contains(#""cfg": ["FLOAT", {"default": 8.0, "min": 0.0, "max": 100.0, "step": 0.1, "round": 0.01}]"#))
        #expect(!text.contains("1.8446744073709552e+19"))
        // And it survives a parse.
        let reparsed = try JSONValue.parse(text)
        #expect(reparsed["input"]?["required"]?["seed"]?.arrayValue?.last?["max"] == .uint(UInt64.max))
        #expect(reparsed == Self.sampler.objectInfoJSON)
    }

    @Test func hiddenInputsV1AreStringsAndV3AreArrays() throws {
        let v1 = try Self.def(Self.sampler)
        #expect(v1["input"]?["hidden"] == ["prompt": "PROMPT", "extra_pnginfo": "EXTRA_PNGINFO"])
        var schema = Self.sampler
        schema.isV3 = true
        schema.hidden = [.prompt, .extraPNGInfo, .uniqueID]
        let v3 = try Self.def(schema)
        #expect(v3["input"]?["hidden"] == ["prompt": ["PROMPT"], "extra_pnginfo": ["EXTRA_PNGINFO"], "unique_id": ["UNIQUE_ID"]])
        #expect(v3["input_order"]?["hidden"] == ["prompt", "extra_pnginfo", "unique_id"])
    }

    @Test func minimalSchemaDefaults() throws {
        let def = try Self.def(NodeSchema(name: "Save", displayName: "Save Image", category: "image", isOutputNode: true,
                                          required: [InputSpec("images", .socket("IMAGE"))], deprecated: true, experimental: true))
        #expect(def["display_name"] == "Save Image")
        #expect(def["description"] == "")
        #expect(def["output_node"] == true)
        #expect(def["output"] == [])
        #expect(def["output_is_list"] == [])
        #expect(def["output_name"] == [])
        #expect(def["output_tooltips"] == nil)
        #expect(def["deprecated"] == true)
        #expect(def["experimental"] == true)
        #expect(def["input"] == ["required": ["images": ["IMAGE"]]])
        #expect(def["input_order"] == ["required": ["images"]])
        #expect(def["search_aliases"] == [])
    }

    @Test func emptyInputsStillHaveARequiredObject() throws {
        let def = try Self.def(NodeSchema(name: "Src", category: "test", outputs: [OutputSpec("IMAGE")]))
        #expect(def["input"] == ["required": [:]])
        #expect(def["input_order"] == ["required": []])
        #expect(def["display_name"] == "Src")
    }

    @Test func registryKeepsRegistrationOrder() {
        let registry = TestNodes.registry()
        #expect(registry.order.prefix(3) == ["Number", "Add", "Show"])
        #expect(registry["Show"]?.schema.isOutputNode == true)
        #expect(registry["Nope"] == nil)
        #expect(registry.all.count == registry.order.count)
    }
}

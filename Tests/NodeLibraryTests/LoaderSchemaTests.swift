import Diffusion
import FolderPaths
import Foundation
import NodeLibrary
import Testing
import Workflow

/// `/object_info` of the model nodes: ComfyUI's names, categories, input order, bounds and outputs.
@Suite struct LoaderSchemaTests {
    let registry = BuiltinNodes.registry(NodeEnvironment(directories: DataDirectories(base: "/nonexistent-loom-test")))

    func info(_ name: String) throws -> String {
        try #require(registry[name]).schema.objectInfoJSON.jsonString()
    }

    @Test func registrationOrderStartsWithComfyUIsFirstNodes() {
        #expect(Array(registry.order.prefix(3)) == ["CheckpointLoaderSimple", "CLIPTextEncode", "CLIPSetLastLayer"])
        #expect(registry.order.contains("CLIPLoader"))
    }

    @Test func checkpointLoaderSimple() throws {
        let schema = try #require(registry["CheckpointLoaderSimple"]).schema
        #expect(schema.displayName == "Load Checkpoint")
        #expect(schema.category == "loaders")
        #expect(schema.pythonModule == "nodes")
        #expect(schema.required.map(\.name) == ["ckpt_name"])
        #expect(schema.outputs.map(\.type) == ["MODEL", "CLIP", "VAE"])
        #expect(try info("CheckpointLoaderSimple").contains(#""input_order": {"required": ["ckpt_name"]}"#))
    }

    @Test func clipTextEncode() throws {
        let schema = try #require(registry["CLIPTextEncode"]).schema
        #expect(schema.displayName == "CLIP Text Encode (Prompt)")
        #expect(schema.category == "conditioning")
        #expect(schema.required.map(\.name) == ["text", "clip"])
        #expect(schema.outputs.map(\.type) == ["CONDITIONING"])
        let json = try info("CLIPTextEncode")
        #expect(json.contains(#""multiline": true"#))
        #expect(json.contains(#""dynamicPrompts": true"#))
    }

    @Test func clipSetLastLayer() throws {
        let schema = try #require(registry["CLIPSetLastLayer"]).schema
        #expect(schema.displayName == "CLIP Set Last Layer")
        #expect(schema.category == "conditioning")
        #expect(schema.required.map(\.name) == ["clip", "stop_at_clip_layer"])
        #expect(schema.outputs.map(\.type) == ["CLIP"])
        let json = try info("CLIPSetLastLayer")
        #expect(json.contains(#"["INT", {"default": -1, "min": -24, "max": -1, "step": 1}]"#))
    }

    @Test func clipLoader() throws {
        let schema = try #require(registry["CLIPLoader"]).schema
        #expect(schema.displayName == "Load CLIP")
        #expect(schema.category == "advanced/loaders")
        #expect(schema.required.map(\.name) == ["clip_name", "type"])
        #expect(schema.optional.map(\.name) == ["device"])
        #expect(schema.outputs.map(\.type) == ["CLIP"])
        let json = try info("CLIPLoader")
        #expect(json.contains(#"["stable_diffusion", "stable_cascade", "sd3""#))
        #expect(json.contains(#""advanced": true"#))
    }
}

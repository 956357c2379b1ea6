import Foundation
import HummingbirdTesting
import Testing
import Workflow

/// `/object_info`, models, embeddings, extensions, features, system stats and health.
@Suite struct InfoTests {
    static let builtinNodes = ["LoadImage", "SaveImage", "PreviewImage", "EmptyImage", "ImageScale", "ImageInvert",
                               "ImageBatch", "ImageCrop"]

    @Test(arguments: ["", "/api"])
    func objectInfoDescribesEveryNode(prefix: String) async throws {
        try await withServer { server in
            let all = try await server.getJSON("\(prefix)/object_info")
            let names = all.keys
            for name in Self.builtinNodes + ["SlowNode", "FailNode", "MaskToImage"] {
                #expect(names.contains(name), "\(name) missing")
            }
            for (name, def) in all.objectValue ?? [:] {
                for key in ["input", "input_order", "output", "output_is_list", "output_name", "name", "display_name",
                            "description", "python_module", "category", "output_node"] {
                    #expect(def[key] != nil, "\(name) lacks \(key)")
                }
                #expect(def["name"] == .string(name))
                #expect(def["display_name"]?.stringValue?.isEmpty == false)
                #expect(def["description"]?.stringValue != nil)
                #expect(def["python_module"]?.stringValue?.isEmpty == false)
                #expect(def["category"]?.stringValue?.isEmpty == false)
                #expect(def["output_node"]?.boolValue != nil)
                #expect(def["input"]?["required"]?.objectValue != nil)
                #expect(def["output"]?.items.count == def["output_name"]?.items.count)
                #expect(def["output"]?.items.count == def["output_is_list"]?.items.count)
                // input_order lists exactly the declared inputs, in order.
                #expect(def["input_order"]?["required"]?.strings == def["input"]?["required"]?.keys)
            }
            let save = try #require(all["SaveImage"])
            #expect(save["output_node"] == true)
            #expect(save["output"] == [])
            #expect(save["input"]?["hidden"] == ["prompt": "PROMPT", "extra_pnginfo": "EXTRA_PNGINFO"])
            let empty = try #require(all["EmptyImage"])
            #expect(empty["input_order"]?["required"] == ["width", "height", "batch_size", "color"])
            #expect(empty["input"]?["required"]?["width"]?.items.first == "INT")
            #expect(empty["input"]?["required"]?["width"]?.items.last?["max"] == 16384)
            #expect(empty["output"] == ["IMAGE"])
            let scale = try #require(all["ImageScale"])
            #expect(scale["input"]?["required"]?["upscale_method"]?.items.first?.strings.contains("nearest-exact") == true)
            let load = try #require(all["LoadImage"])
            #expect(load["output"] == ["IMAGE", "MASK"])
            #expect(load["input"]?["required"]?["image"]?.items.last?["image_upload"] == true)
        }
    }

    @Test(arguments: ["", "/api"])
    func objectInfoForOneClass(prefix: String) async throws {
        try await withServer(prepare: { dirs in try writePNG(to: dirs.input + "/listed.png") }) { server in
            let one = try await server.getJSON("\(prefix)/object_info/ImageInvert")
            #expect(one.keys == ["ImageInvert"])
            #expect(one["ImageInvert"]?["display_name"] == "Invert Image")
            #expect(one["ImageInvert"] == (try await server.getJSON("/object_info"))["ImageInvert"])
            // COMBO choices are computed per request: LoadImage lists input/ files.
            let load = try await server.getJSON("\(prefix)/object_info/LoadImage")
            #expect(load["LoadImage"]?["input"]?["required"]?["image"]?.items.first == ["listed.png"])

            let unknown = try await server.get("\(prefix)/object_info/NoSuchNode")
            #expect(unknown.status == .ok)
            #expect(try unknown.json() == [:])
        }
    }

    @Test(arguments: ["", "/api"])
    func modelsAndEmbeddings(prefix: String) async throws {
        try await withServer(prepare: { dirs in
            let fm = FileManager.default
            try Data([0]).write(to: URL(fileURLWithPath: dirs.models + "/checkpoints/dummy.safetensors"))
            try fm.createDirectory(atPath: dirs.models + "/checkpoints/sub", withIntermediateDirectories: true)
            try Data([0]).write(to: URL(fileURLWithPath: dirs.models + "/checkpoints/sub/nested.ckpt"))
            try Data([0]).write(to: URL(fileURLWithPath: dirs.models + "/embeddings/easynegative.safetensors"))
        }) { server in
            let folders = try await server.getJSON("\(prefix)/models").strings
            for folder in ["checkpoints", "loras", "vae", "embeddings", "upscale_models"] {
                #expect(folders.contains(folder), "\(folder)")
            }
            let checkpoints = try await server.getJSON("\(prefix)/models/checkpoints").strings
            #expect(checkpoints.sorted() == ["dummy.safetensors", "sub/nested.ckpt"])
            #expect(try await server.getJSON("\(prefix)/models/loras") == [])
            for unknown in ["nope", "unet", "clip"] {
                #expect(try await server.get("\(prefix)/models/\(unknown)").status == .notFound, "\(unknown)")
            }
            #expect(try await server.getJSON("\(prefix)/embeddings") == ["easynegative"])
        }
    }

    @Test(arguments: ["", "/api"])
    func extensionsFeaturesSystemStatsAndHealth(prefix: String) async throws {
        try await withServer(maxUploadSize: 12345678) { server in
            let extensions = try await server.getJSON("\(prefix)/extensions")
            #expect(extensions.arrayValue != nil)
            #expect(extensions.items.allSatisfy { $0.stringValue != nil })

            let features = try await server.getJSON("\(prefix)/features")
            #expect(features["assets"] == false)
            #expect(features["max_upload_size"] == 12345678)
            #expect(features["supports_preview_metadata"] == true)

            let stats = try await server.getJSON("\(prefix)/system_stats")
            let system = try #require(stats["system"])
            for key in ["os", "ram_total", "ram_free", "comfyui_version", "python_version", "pytorch_version", "embedded_python", "argv"] {
                #expect(system[key] != nil, "system.\(key)")
            }
            #expect(system["argv"] == ["loom", "--port", "0"])
            #expect(system["required_frontend_version"] == "1.58.1")
            #expect((system["ram_total"]?.intValue ?? 0) > 0)
            let devices = stats["devices"]?.items ?? []
            #expect(!devices.isEmpty)
            #expect(devices.first?["name"]?.stringValue != nil)
            #expect(devices.first?["type"]?.stringValue != nil)

            let health = try await server.get("/health")
            #expect(health.status == .ok)
            #expect(try health.json()["status"] == "ok")
        }
    }
}

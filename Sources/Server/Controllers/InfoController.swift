import Diffusion
import FolderPaths
import Foundation
import Hummingbird
import JobQueue
import Workflow

/// Node definitions, models, system stats, features and health.
struct InfoController {
    static let comfyUIVersion = "0.39.1"
    static let frontendVersion = "1.58.1"

    let registry: NodeRegistry
    let models: ModelFolderRegistry
    let store: any QueueStore
    let configuration: ServerConfiguration

    /// Server capability flags, shared by `GET /features` and the WebSocket `feature_flags` reply.
    static func features(maxUploadSize: Int) -> JSONValue {
        ["supports_preview_metadata": true, "max_upload_size": .int(Int64(maxUploadSize)), "node_replacements": false,
         "assets": false]
    }

    func register(_ routes: AliasedRoutes, router: Router<LoomRequestContext>) {
        routes.get("/object_info") { _, _ in
            var all = JSONObject()
            for definition in registry.all { all[definition.schema.name] = definition.schema.objectInfoJSON }
            return .json(.object(all))
        }
        routes.get("/object_info/{node_class}") { _, context in
            let name = try context.parameters.require("node_class")
            guard let definition = registry[name] else { return .json([:]) }
            return .json([name: definition.schema.objectInfoJSON])
        }
        routes.get("/models") { _, _ in .json(JSONValue(models.keys)) }
        routes.get("/models/{folder}") { _, context in
            let folder = try context.parameters.require("folder")
            guard models.keys.contains(folder), let files = models.files(in: folder) else { return .status(.notFound) }
            return .json(JSONValue(files))
        }
        routes.get("/embeddings") { _, _ in
            let names = (models.files(in: "embeddings") ?? []).map { name -> String in
                guard let dot = name.lastIndex(of: "."), !name[..<dot].isEmpty else { return name }
                return String(name[..<dot])
            }
            return .json(JSONValue(names))
        }
        routes.get("/extensions") { _, _ in .json(JSONValue(extensionScripts())) }
        routes.get("/features") { _, _ in .json(Self.features(maxUploadSize: configuration.maxUploadSize)) }
        routes.get("/system_stats") { _, _ in .json(systemStats()) }
        // Health answers without a token (the auth middleware lets it through) and checks the store.
        router.get("/health") { _, _ -> Response in
            do {
                try await store.ping()
                return .json(["status": "ok"])
            } catch {
                return .json(["status": "unavailable", "error": .string("\(error)")], status: .serviceUnavailable)
            }
        }
    }

    /// Every `*.js` under the web root's `extensions/`, as URL paths.
    private func extensionScripts() -> [String] {
        guard let root = configuration.frontEndRoot else { return [] }
        let base = (root as NSString).appendingPathComponent("extensions")
        guard let enumerator = FileManager.default.enumerator(atPath: base) else { return [] }
        var scripts: [String] = []
        while let item = enumerator.nextObject() as? String {
            if item.hasSuffix(".js") { scripts.append("/extensions/" + item) }
        }
        return scripts.sorted()
    }

    private func systemStats() -> JSONValue {
        let memory = Self.memoryInfo()
        return [
            "system": [
                "os": "linux", "ram_total": .int(memory.total), "ram_free": .int(memory.available),
                "comfyui_version": .string(Self.comfyUIVersion), "required_frontend_version": .string(Self.frontendVersion),
                "python_version": "Loom (Swift, no Python)", "pytorch_version": "none (Loom native engine)",
                "embedded_python": false, "deploy_environment": "loom", "argv": JSONValue(configuration.argv),
            ],
            "devices": [[
                "name": "cpu", "type": "cpu", "index": .null, "vram_total": .int(memory.total), "vram_free": .int(memory.available),
                "torch_vram_total": 0, "torch_vram_free": 0,
            ]],
        ]
    }

    /// Total and available RAM in bytes, from `/proc/meminfo`.
    static func memoryInfo() -> (total: Int64, available: Int64) { SystemMemory.info() }
}

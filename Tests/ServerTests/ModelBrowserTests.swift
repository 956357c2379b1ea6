import FolderPaths
import Foundation
import Testing
import Workflow

/// The frontend's model library and file pickers.
@Suite struct ModelBrowserTests {
    /// A safetensors file with `metadata` and one tiny tensor.
    static func safetensors(metadata: [String: String]) -> Data {
        let meta = metadata.map { "\"\($0.key)\": \"\($0.value)\"" }.joined(separator: ", ")
        let header = "{\"__metadata__\": {\(meta)}, \"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}"
        var data = Data()
        var length = UInt64(header.utf8.count).littleEndian
        withUnsafeBytes(of: &length) { data.append(contentsOf: $0) }
        data.append(contentsOf: Array(header.utf8))
        data.append(contentsOf: [0, 0, 0, 0])
        return data
    }

    @Test func modelFoldersFilesAndMetadata() async throws {
        try await withServer(prepare: { dirs in
            let checkpoints = dirs.models + "/checkpoints"
            try FileManager.default.createDirectory(atPath: checkpoints + "/sub", withIntermediateDirectories: true)
            try Self.safetensors(metadata: ["modelspec.title": "Tiny"]).write(to: URL(fileURLWithPath: checkpoints + "/sub/a.safetensors"))
            try Data("x".utf8).write(to: URL(fileURLWithPath: checkpoints + "/notes.txt"))
            try Data("p".utf8).write(to: URL(fileURLWithPath: dirs.input + "/old.png"))
            try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: 1_000)], ofItemAtPath: dirs.input + "/old.png")
            try Data("n".utf8).write(to: URL(fileURLWithPath: dirs.input + "/new.png"))
            try Data("h".utf8).write(to: URL(fileURLWithPath: dirs.input + "/.hidden"))
            try FileManager.default.createDirectory(atPath: dirs.input + "/folder", withIntermediateDirectories: true)
        }) { server in
            let folders = try await server.getJSON("/api/experiment/models")
            let names = folders.items.compactMap { $0["name"]?.stringValue }
            #expect(names.contains("checkpoints") && !names.contains("configs") && !names.contains("custom_nodes"))
            let files = try await server.getJSON("/api/experiment/models/checkpoints")
            #expect(files.items.count == 1)
            #expect(files.items.first?["name"] == "sub/a.safetensors" && files.items.first?["pathIndex"] == 0)
            #expect(files.items.first?["size"]?.doubleValue ?? 0 > 0)
            #expect(try await server.get("/api/experiment/models/nope").status == .notFound)
            let paths = try await server.getJSON("/internal/folder_paths")
            #expect(paths["checkpoints"]?.items.first?.stringValue?.hasSuffix("/models/checkpoints") == true)
            #expect(try await server.getJSON("/internal/files/input") == ["new.png", "old.png"])
            #expect(try await server.get("/internal/files/models").status == .badRequest)
            #expect(try await server.getJSON("/api/view_metadata/checkpoints?filename=sub/a.safetensors") == ["modelspec.title": "Tiny"])
            #expect(try await server.get("/api/view_metadata/checkpoints?filename=notes.txt").status == .notFound)
            #expect(try await server.get("/api/view_metadata/checkpoints?filename=../../x.safetensors").status == .notFound)
        }
    }
}

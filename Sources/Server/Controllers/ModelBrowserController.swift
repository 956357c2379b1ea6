import FolderPaths
import Foundation
import Hummingbird
import Workflow

/// The frontend's model library and file pickers: `/experiment/models`, `/experiment/models/{folder}`,
/// `/internal/folder_paths`, `/internal/files/{input|output|temp}` and `/view_metadata/{folder}` (spec §2.3, §2.5).
struct ModelBrowserController {
    let models: ModelFolderRegistry
    let directories: DataDirectories

    /// Folders the model library does not show.
    static let hiddenFolders: Set<String> = ["configs", "custom_nodes"]

    func register(_ routes: AliasedRoutes, router: Router<LoomRequestContext>) {
        routes.get("/experiment/models") { _, _ in
            let list: [JSONValue] = models.keys.filter { !Self.hiddenFolders.contains($0) }.map { key in
                ["name": .string(key), "folders": JSONValue(models.searchDirectories(key) ?? [])]
            }
            return .json(.array(list))
        }
        routes.get("/experiment/models/{folder}") { _, context in
            let folder = try context.parameters.require("folder")
            guard models.keys.contains(folder), !Self.hiddenFolders.contains(folder), let files = models.files(in: folder) else {
                return .status(.notFound)
            }
            let directories = models.searchDirectories(folder) ?? []
            let entries: [JSONValue] = files.compactMap { name in
                for (index, directory) in directories.enumerated() {
                    guard let path = try? SafePath.resolve(name, in: directory),
                          let attributes = try? FileManager.default.attributesOfItem(atPath: path) else { continue }
                    let modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
                    let created = (attributes[.creationDate] as? Date)?.timeIntervalSince1970 ?? modified
                    let size = (attributes[.size] as? NSNumber)?.int64Value ?? 0
                    return ["name": .string(name), "pathIndex": .int(Int64(index)), "modified": .double(modified),
                            "created": .double(created), "size": .int(size)]
                }
                return nil
            }
            return .json(.array(entries))
        }
        router.get("/internal/folder_paths") { _, _ -> Response in
            .json(.object(JSONObject(models.keys.map { ($0, JSONValue(models.searchDirectories($0) ?? [])) })))
        }
        router.get("/internal/files/{directory_type}") { _, context -> Response in
            let type = try context.parameters.require("directory_type")
            guard let kind = FileKind(rawValue: type) else { return .json(["error": "Invalid directory type"], status: .badRequest) }
            return .json(JSONValue(Self.filesNewestFirst(in: directories.directory(for: kind))))
        }
        routes.get("/view_metadata/{folder_name}") { request, context in
            let folder = try context.parameters.require("folder_name")
            guard let name = request.uri.queryParameters.get("filename"), name.lowercased().hasSuffix(".safetensors"),
                  let path = models.fullPath(folder, name: name), let metadata = Self.safetensorsMetadata(path) else {
                return .status(.notFound)
            }
            return .json(.object(metadata))
        }
    }

    /// Regular, non-hidden files at the top of `directory`, newest first.
    static func filesNewestFirst(in directory: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        let dated: [(String, Date)] = names.compactMap { name in
            guard !name.hasPrefix(".") else { return nil }
            let path = directory + "/" + name
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
                  attributes[.type] as? FileAttributeType == .typeRegular else { return nil }
            return (name, attributes[.modificationDate] as? Date ?? .distantPast)
        }
        return dated.sorted { $0.1 > $1.1 }.map(\.0)
    }

    /// The `__metadata__` map of a safetensors file whose header is at most 1 MiB, or nil.
    static func safetensorsMetadata(_ path: String) -> JSONObject? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        guard let prefix = try? handle.read(upToCount: 8), prefix.count == 8 else { return nil }
        let length = prefix.enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard length > 0, length <= 1 << 20, let header = try? handle.read(upToCount: Int(length)), header.count == Int(length),
              case .object(let object)? = try? JSONValue.parse(Array(header)) else { return nil }
        if case .object(let metadata)? = object["__metadata__"] { return metadata }
        return JSONObject()
    }
}

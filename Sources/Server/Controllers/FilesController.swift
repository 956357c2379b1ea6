import FolderPaths
import Foundation
import HTTPTypes
import Hummingbird
import MediaIO
import NIOCore
import NIOPosix
import Workflow

/// `/view`, `/upload/image` and `/upload/mask`. Every path a request names is resolved inside its
/// directory, symlinks included.
struct FilesController {
    let directories: DataDirectories
    let maxUploadSize: Int
    let fileIO = FileIO()

    func register(_ routes: AliasedRoutes) {
        routes.get("/view") { request, context in try await view(request, context: context) }
        routes.post("/upload/image") { request, _ in try await upload(request, mask: false) }
        routes.post("/upload/mask") { request, _ in try await upload(request, mask: true) }
    }

    // MARK: view

    private func view(_ request: Request, context: LoomRequestContext) async throws -> Response {
        guard var filename = request.query("filename"), !filename.isEmpty else { return .status(.notFound) }
        var kind = FileKind.output
        if let typeName = request.query("type"), !typeName.isEmpty {
            guard let k = FileKind(rawValue: typeName) else { return .status(.badRequest) }
            kind = k
        }
        let annotated = FileKind.splitAnnotation(filename)
        filename = annotated.name
        if let k = annotated.kind { kind = k }
        if filename.hasPrefix("/") || filename.contains("..") || filename.contains("\0") { return .status(.badRequest) }
        filename = (filename as NSString).lastPathComponent
        let base = directories.directory(for: kind)
        let path: String
        do {
            let folder = try SafePath.resolve(request.query("subfolder") ?? "", in: base)
            path = try SafePath.resolve(filename, in: folder)
            guard SafePath.isInside(path, base: try SafePath.resolve("", in: base)) else { return .status(.forbidden) }
        } catch {
            return .status(.forbidden)
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
            return .status(.notFound)
        }
        if let preview = request.query("preview") {
            return try await convertedPreview(path: path, spec: preview, channel: request.query("channel"))
        }
        if let channel = request.query("channel"), channel == "rgb" || channel == "a" {
            return try await convertedPreview(path: path, spec: nil, channel: channel)
        }
        return try await streamFile(path: path, name: filename, request: request, context: context)
    }

    /// The file itself, with a safe content type and HTTP range support.
    private func streamFile(path: String, name: String, request: Request, context: LoomRequestContext) async throws -> Response {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        let size = (attributes[.size] as? NSNumber)?.intValue ?? 0
        var headers: HTTPFields = [:]
        let type = ContentTypes.guess(name)
        headers[.xContentTypeOptions] = "nosniff"
        headers[.acceptRanges] = "bytes"
        if ContentTypes.isDangerous(type) && !(type == "image/svg+xml" && request.headers[HTTPField.Name("Sec-Fetch-Dest")!] == "image") {
            headers[.contentType] = "application/octet-stream"
            headers[.contentDisposition] = "attachment; filename=\"\(ContentTypes.quoted(name))\""
            headers[.vary] = "Sec-Fetch-Dest"
            headers[.cacheControl] = "no-store"
        } else {
            headers[.contentType] = type
            headers[.contentDisposition] = "filename=\"\(ContentTypes.quoted(name))\""
        }
        if let modified = attributes[.modificationDate] as? Date {
            headers[.lastModified] = ContentTypes.httpDate(modified)
            headers[.eTag] = "\"\(Int(modified.timeIntervalSince1970 * 1000))-\(size)\""
        }
        if let rangeHeader = request.headers[.range], size > 0 {
            return try await fileIO.rangeResponse(rangeHeader, path: path, size: size, headers: headers, context: context)
        }
        headers[.contentLength] = String(size)
        let body = size == 0 ? ResponseBody() : try await fileIO.loadFile(path: path, context: context)
        return Response(status: .ok, headers: headers, body: body)
    }

    /// `preview=webp|jpeg[;quality]` and `channel=rgb|a` conversions.
    private func convertedPreview(path: String, spec: String?, channel: String?) async throws -> Response {
        do {
            let converted = try await NIOThreadPool.singleton.runIfActive {
                let data = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
                guard let frame = try decodeImage(data, keep16Bit: false).first else { throw MediaError(.invalidData, "no frames") }
                return try PreviewConversion.convert(frame, spec: spec, channel: channel ?? "rgba")
            }
            return Response(status: .ok, headers: [.contentType: converted.type],
                            body: ResponseBody(byteBuffer: ByteBuffer(bytes: converted.bytes)))
        } catch {
            return .status(.badRequest)
        }
    }

    // MARK: upload

    private func upload(_ request: Request, mask: Bool) async throws -> Response {
        guard let boundary = MultipartForm.boundary(fromContentType: request.headers[.contentType]) else {
            return .status(.badRequest)
        }
        let buffer = try await request.body.collect(upTo: maxUploadSize)
        guard let form = MultipartForm(body: Array(buffer.readableBytesView), boundary: boundary),
              let image = form["image"], let rawName = image.filename, !rawName.isEmpty else {
            return .status(.badRequest)
        }
        let typeName = form.text("type") ?? "input"
        guard let kind = FileKind(rawValue: typeName.isEmpty ? "input" : typeName) else { return .status(.badRequest) }
        let subfolder = form.text("subfolder") ?? ""
        let overwrite = ["true", "1"].contains(form.text("overwrite") ?? "")
        let base = directories.directory(for: kind)
        let folder: String
        var target: String
        do {
            folder = try SafePath.resolve(subfolder, in: base)
            target = try SafePath.resolve(rawName, in: folder)
        } catch {
            return .status(.badRequest)
        }
        var data = image.data
        if mask {
            guard let refText = form.text("original_ref"), let ref = try? JSONValue.parse(refText),
                  let refName = ref["filename"]?.stringValue else { return .status(.badRequest) }
            let annotated = FileKind.splitAnnotation(refName)
            let refKind = annotated.kind ?? ref["type"]?.stringValue.flatMap(FileKind.init(rawValue:)) ?? .output
            let original: String
            do {
                let refFolder = try SafePath.resolve(ref["subfolder"]?.stringValue ?? "", in: directories.directory(for: refKind))
                original = try SafePath.resolve((annotated.name as NSString).lastPathComponent, in: refFolder)
            } catch {
                return .status(.forbidden)
            }
            guard let originalBytes = FileManager.default.contents(atPath: original) else { return .status(.notFound) }
            let maskBytes = data
            do {
                data = try await NIOThreadPool.singleton.runIfActive {
                    try PreviewConversion.applyMask(original: [UInt8](originalBytes), mask: maskBytes)
                }
            } catch {
                return .status(.badRequest)
            }
        }
        let name = try UploadNaming.place(data: data, at: &target, overwrite: overwrite)
        return .json(["name": .string(name), "subfolder": .string(subfolder), "type": .string(kind.rawValue)])
    }
}

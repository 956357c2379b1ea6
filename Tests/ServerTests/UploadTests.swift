import Foundation
import HummingbirdTesting
import MediaIO
import Testing
import Workflow

/// `POST /upload/image` and `/upload/mask`: naming, overwrite, subfolders and traversal.
@Suite struct UploadTests {
    @Test(arguments: ["/upload/image", "/api/upload/image"])
    func uploadNamingRules(path: String) async throws {
        try await withServer { server in
            let original = try TestImages.png(seed: 1)
            let response = try await server.upload(path, filename: "pic.png", data: original)
            #expect(response.status == .ok)
            #expect(try response.json() == ["name": "pic.png", "subfolder": "", "type": "input"])
            #expect(FileManager.default.contents(atPath: server.directories.input + "/pic.png") == Data(original))

            // The same content again keeps the name and writes nothing new.
            #expect(try await server.upload(path, filename: "pic.png", data: original).json()["name"] == "pic.png")
            // Different content gets a numbered name.
            let other = try TestImages.png(seed: 2)
            #expect(try await server.upload(path, filename: "pic.png", data: other).json()["name"] == "pic (1).png")
            #expect(try await server.upload(path, filename: "pic.png", data: try TestImages.png(seed: 3)).json()["name"] == "pic (2).png")
            #expect(try await server.upload(path, filename: "pic.png", data: other).json()["name"] == "pic (1).png")
            let inputs = try FileManager.default.contentsOfDirectory(atPath: server.directories.input).sorted()
            #expect(inputs == ["pic (1).png", "pic (2).png", "pic.png"])

            // overwrite=true replaces the file in place.
            let overwritten = try await server.upload(path, filename: "pic.png", data: other, fields: ["overwrite": "true"])
            #expect(try overwritten.json()["name"] == "pic.png")
            #expect(FileManager.default.contents(atPath: server.directories.input + "/pic.png") == Data(other))
            #expect(try await server.upload(path, filename: "pic.png", data: original, fields: ["overwrite": "1"]).json()["name"] == "pic.png")

            // Subfolders (nested) and other types.
            let nested = try await server.upload(path, filename: "a.png", data: original, fields: ["subfolder": "pasted/deep"])
            #expect(try nested.json() == ["name": "a.png", "subfolder": "pasted/deep", "type": "input"])
            #expect(FileManager.default.fileExists(atPath: server.directories.input + "/pasted/deep/a.png"))
            let temp = try await server.upload(path, filename: "t.png", data: original, fields: ["type": "temp", "subfolder": "x"])
            #expect(try temp.json() == ["name": "t.png", "subfolder": "x", "type": "temp"])
            #expect(FileManager.default.fileExists(atPath: server.directories.temp + "/x/t.png"))
            #expect(try await server.upload(path, filename: "t.png", data: original, fields: ["type": "models"]).status == .badRequest)
        }
    }

    @Test func uploadRefusesTraversalAndMissingParts() async throws {
        try await withServer { server in
            let png = try TestImages.png()
            let attempts: [(String, KeyValuePairs<String, String>)] = [
                ("../evil.png", [:]), ("../../evil.png", [:]), ("/tmp/evil.png", [:]),
                ("evil.png", ["subfolder": "../.."]), ("evil.png", ["subfolder": "../output"]), ("evil.png", ["subfolder": "/etc"]),
                ("evil.png", ["subfolder": "a/../../.."]),
            ]
            for (name, fields) in attempts {
                let response = try await server.upload(filename: name, data: png, fields: fields)
                #expect(response.status == .badRequest, "\(name) \(fields)")
            }
            #expect(!FileManager.default.fileExists(atPath: server.directories.base + "/evil.png"))
            #expect(!FileManager.default.fileExists(atPath: server.directories.output + "/evil.png"))

            // No image part, a part without a filename, and a body that is not multipart.
            var form = MultipartBody()
            form.field("type", "input")
            let (body, headers) = form.finished()
            #expect(try await server.request(.post, "/upload/image", body: body, headers: headers).status == .badRequest)
            var unnamed = MultipartBody()
            unnamed.field("image", "not a file")
            let (body2, headers2) = unnamed.finished()
            #expect(try await server.request(.post, "/upload/image", body: body2, headers: headers2).status == .badRequest)
            #expect(try await server.post("/upload/image", json: ["image": "x"]).status == .badRequest)
        }
    }

    @Test(arguments: ["/upload/mask", "/api/upload/mask"])
    func maskUploadReplacesTheOriginalsAlpha(path: String) async throws {
        try await withServer { server in
            let original = try TestImages.png(rgba: false, seed: 5)
            try await server.upload(filename: "base.png", data: original)
            let mask = try TestImages.png(rgba: true)
            let ref = #"{"filename": "base.png", "subfolder": "", "type": "input"}"#
            let response = try await server.upload(path, filename: "masked.png", data: mask, fields: ["original_ref": ref])
            #expect(response.status == .ok)
            #expect(try response.json() == ["name": "masked.png", "subfolder": "", "type": "input"])

            let saved = try #require(FileManager.default.contents(atPath: server.directories.input + "/masked.png"))
            let frame = try #require(try decodeImage([UInt8](saved)).first)
            let base = try #require(try decodeImage(original).first)
            #expect(frame.alpha == .channel)
            #expect(frame.width == base.width)
            for (y, x) in [(0, 0), (3, 12), (15, 15), (8, 2)] {
                #expect(frame.alphaValue(x, y) == (x < frame.width / 2 ? 0 : 255))
                #expect(frame.rgb(x, y) == base.rgb(x, y))
            }

            // Annotated references work; bad and escaping references are refused.
            let annotated = try await server.upload(path, filename: "m2.png", data: mask, fields: ["original_ref": #"{"filename": "base.png [input]"}"#])
            #expect(annotated.status == .ok)
            #expect(try await server.upload(path, filename: "m3.png", data: mask, fields: ["original_ref": "not json"]).status == .badRequest)
            #expect(try await server.upload(path, filename: "m3.png", data: mask).status == .badRequest)
            let escaping = #"{"filename": "base.png", "subfolder": "../..", "type": "input"}"#
            #expect(try await server.upload(path, filename: "m3.png", data: mask, fields: ["original_ref": escaping]).status == .forbidden)
            let missing = #"{"filename": "nope.png", "type": "input"}"#
            #expect(try await server.upload(path, filename: "m3.png", data: mask, fields: ["original_ref": missing]).status != .ok)
        }
    }
}

import Foundation
import HTTPTypes
import HummingbirdTesting
import MediaIO
import Testing
import Workflow

/// `GET /view`: content types, ranges, conversions and everything that must not be served.
@Suite struct ViewTests {
    @Test(arguments: ["/view", "/api/view"])
    func servesAnUploadWithSafeHeadersAndRanges(path: String) async throws {
        try await withServer { server in
            let png = try TestImages.png()
            try await server.upload(filename: "shown.png", data: png, fields: ["subfolder": "sub"])
            let response = try await server.get("\(path)?filename=shown.png&type=input&subfolder=sub&rand=0.123")
            #expect(response.status == .ok)
            #expect(response.bytes == png)
            #expect(response.headers[.contentType] == "image/png")
            #expect(response.headers[.xContentTypeOptions] == "nosniff")
            #expect(response.headers[.contentDisposition] == "filename=\"shown.png\"")

            // The annotation suffix overrides `type`.
            #expect(try await server.get("\(path)?filename=shown.png%20%5Binput%5D&subfolder=sub").bytes == png)

            let ranged = try await server.get("\(path)?filename=shown.png&type=input&subfolder=sub", headers: [.range: "bytes=0-9"])
            #expect(ranged.status == .partialContent)
            #expect(ranged.headers[.contentRange] == "bytes 0-9/\(png.count)")
            #expect(ranged.bytes == Array(png[0..<10]))
            let suffix = try await server.get("\(path)?filename=shown.png&type=input&subfolder=sub", headers: [.range: "bytes=-4"])
            #expect(suffix.status == .partialContent)
            #expect(suffix.bytes == Array(png.suffix(4)))
            let beyond = try await server.get("\(path)?filename=shown.png&type=input&subfolder=sub",
                                              headers: [.range: "bytes=\(png.count + 10)-"])
            #expect(beyond.status == .rangeNotSatisfiable)
        }
    }

    @Test func refusesTraversalAndUnknownInput() async throws {
        try await withServer(prepare: { dirs in
            try writePNG(to: dirs.input + "/in.png")
            // A secret next to the data directory, and links to it from inside input/.
            let outside = (dirs.base as NSString).deletingLastPathComponent + "/outside"
            try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
            try writePNG(to: outside + "/secret.png")
            try FileManager.default.createSymbolicLink(atPath: dirs.input + "/link.png", withDestinationPath: outside + "/secret.png")
            try FileManager.default.createSymbolicLink(atPath: dirs.input + "/linkdir", withDestinationPath: outside)
        }) { server in
            #expect(try await server.get("/view?filename=in.png&type=input").status == .ok)
            let badRequests = [
                "/view?filename=..%2Finput%2Fin.png", "/view?filename=../in.png&type=input", "/view?filename=%2Fetc%2Fpasswd",
                "/api/view?filename=a..b.png&type=input", "/view?filename=in.png&type=models",
            ]
            for uri in badRequests {
                #expect(try await server.get(uri).status == .badRequest, "\(uri)")
            }
            for uri in ["/view?filename=in.png&type=input&subfolder=../..", "/view?filename=in.png&type=input&subfolder=..",
                        "/api/view?filename=passwd&type=input&subfolder=%2Fetc"] {
                #expect(try await server.get(uri).status == .forbidden, "\(uri)")
            }
            // Symlinks that leave input/ are never served.
            for uri in ["/view?filename=link.png&type=input", "/view?filename=secret.png&type=input&subfolder=linkdir",
                        "/view?filename=link.png&type=input&preview=webp", "/view?filename=link.png&type=input&channel=rgb"] {
                let response = try await server.get(uri)
                #expect(response.status == .forbidden || response.status == .notFound, "\(uri) → \(response.status)")
                #expect(response.body.readableBytes == 0)
            }
            for uri in ["/view?filename=nothing.png&type=input", "/view?filename=nothing.png", "/view", "/view?filename="] {
                let response = try await server.get(uri)
                #expect(response.status == .notFound, "\(uri)")
                #expect(response.body.readableBytes == 0)
            }
        }
    }

    @Test func activeContentIsServedAsAnAttachment() async throws {
        try await withServer(prepare: { dirs in
            try Data("<html><script>alert(1)</script></html>".utf8).write(to: URL(fileURLWithPath: dirs.output + "/page.html"))
            try Data("<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>".utf8)
                .write(to: URL(fileURLWithPath: dirs.output + "/logo.svg"))
            try Data("<a/>".utf8).write(to: URL(fileURLWithPath: dirs.output + "/data.xml"))
        }) { server in
            for name in ["page.html", "logo.svg", "data.xml"] {
                let response = try await server.get("/view?filename=\(name)")
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/octet-stream", "\(name)")
                #expect(response.headers[.contentDisposition] == "attachment; filename=\"\(name)\"", "\(name)")
                #expect(response.headers[.xContentTypeOptions] == "nosniff")
                #expect(response.headers[.cacheControl] == "no-store")
            }
            // An <img> may still show an SVG (scripts do not run there).
            let image = try await server.get("/view?filename=logo.svg", headers: [HTTPField.Name("Sec-Fetch-Dest")!: "image"])
            #expect(image.headers[.contentType] == "image/svg+xml")
        }
    }

    @Test func previewAndChannelConversions() async throws {
        try await withServer(prepare: { dirs in try writePNG(rgba: true, to: dirs.output + "/alpha.png") }) { server in
            let webp = try await server.get("/view?filename=alpha.png&preview=webp;80")
            #expect(webp.status == .ok)
            #expect(webp.headers[.contentType] == "image/webp")
            #expect(Array(webp.bytes.prefix(4)) == Array("RIFF".utf8))
            #expect(Array(webp.bytes[8..<12]) == Array("WEBP".utf8))

            let jpeg = try await server.get("/api/view?filename=alpha.png&type=output&preview=jpeg;50")
            #expect(jpeg.headers[.contentType] == "image/jpeg")
            #expect(Array(jpeg.bytes.prefix(2)) == [0xFF, 0xD8])

            let rgb = try await server.get("/view?filename=alpha.png&channel=rgb")
            #expect(rgb.status == .ok)
            #expect(rgb.headers[.contentType] == "image/png")
            let rgbFrame = try #require(try decodeImage(rgb.bytes).first)
            #expect(rgbFrame.alpha == .none)
            #expect(rgbFrame.width == 16)

            let alpha = try await server.get("/view?filename=alpha.png&channel=a")
            #expect(alpha.headers[.contentType] == "image/png")
            let alphaFrame = try #require(try decodeImage(alpha.bytes).first)
            #expect(alphaFrame.alpha == .channel)
            #expect(alphaFrame.rgb(0, 0) == [0, 0, 0] && alphaFrame.alphaValue(0, 0) == 0)
            #expect(alphaFrame.rgb(15, 15) == [0, 0, 0] && alphaFrame.alphaValue(15, 15) == 255)
        }
    }

    @Test func loadImageAndSaveImageRoundTrip() async throws {
        try await withServer { server in
            let uploaded = try TestImages.png(rgba: true, seed: 9)
            let name = try await server.upload(filename: "source.png", data: uploaded).json()["name"]
            #expect(name == "source.png")
            let prompt: JSONValue = [
                "1": ["class_type": "LoadImage", "inputs": ["image": "source.png"]],
                "2": ["class_type": "SaveImage", "inputs": ["images": ["1", 0], "filename_prefix": "rt/image"]],
                "3": ["class_type": "MaskToImage", "inputs": ["mask": ["1", 1]]],
                "4": ["class_type": "SaveImage", "inputs": ["images": ["3", 0], "filename_prefix": "rt/mask"]],
            ]
            let workflow: JSONValue = ["id": "wf-rt", "nodes": []]
            let id = try await server.submit(prompt, extra: ["extra_data": ["extra_pnginfo": ["workflow": workflow]]])
            let entry = try await server.waitForHistory(id)
            #expect(entry["status"]?["status_str"] == "success")
            let image = try #require(entry["outputs"]?["2"]?["images"]?.items.first)
            #expect(image == ["filename": "image_00001_.png", "subfolder": "rt", "type": "output"])
            let mask = try #require(entry["outputs"]?["4"]?["images"]?.items.first)
            #expect(mask == ["filename": "mask_00001_.png", "subfolder": "rt", "type": "output"])

            let served = try await server.get("/view?filename=image_00001_.png&subfolder=rt&type=output")
            #expect(served.status == .ok)
            #expect(served.headers[.contentType] == "image/png")
            let file = try decodeImageFile(served.bytes)
            let source = try #require(try decodeImage(uploaded).first)
            let frame = try #require(file.frames.first)
            #expect(frame.width == 16 && frame.height == 16 && frame.alpha == .none)
            for (x, y) in [(0, 0), (1, 1), (15, 15), (9, 3)] {
                #expect(frame.rgb(x, y) == source.rgb(x, y))
            }
            let prompts = file.textChunks.filter { $0.key == "prompt" }
            #expect(prompts.count == 1)
            let embedded = try JSONValue.parse(try #require(prompts.first).value)
            #expect(embedded["1"]?["class_type"] == "LoadImage")
            #expect(embedded["4"]?["inputs"]?["filename_prefix"] == "rt/mask")
            let embeddedWorkflow = try file.textChunks.first { $0.key == "workflow" }.map { try JSONValue.parse($0.value) }
            #expect(embeddedWorkflow == workflow)

            // The mask is 1 − alpha: white where the upload was transparent, black where opaque.
            let maskFile = try await server.get("/view?filename=mask_00001_.png&subfolder=rt")
            let maskFrame = try #require(try decodeImage(maskFile.bytes).first)
            #expect(maskFrame.rgb(0, 0) == [255, 255, 255])
            #expect(maskFrame.rgb(15, 15) == [0, 0, 0])
        }
    }

    @Test func loadImageRefusesFilesOutsideInput() async throws {
        try await withServer(prepare: { dirs in
            let outside = (dirs.base as NSString).deletingLastPathComponent + "/secret.png"
            try writePNG(to: outside)
            try FileManager.default.createSymbolicLink(atPath: dirs.input + "/escape.png", withDestinationPath: outside)
        }) { server in
            for name in ["../../secret.png", "escape.png", "/etc/passwd", "missing.png"] {
                let prompt: JSONValue = [
                    "1": ["class_type": "LoadImage", "inputs": ["image": .string(name)]],
                    "2": ["class_type": "PreviewImage", "inputs": ["images": ["1", 0]]],
                ]
                let body = try await expectValidationFailure(server, prompt)
                let error = body["node_errors"]?["1"]?["errors"]?.items.first
                #expect(error?["type"] == "custom_validation_failed", "\(name)")
                #expect(error?["details"] == .string("image - Invalid image file: \(name)"), "\(name)")
            }
            // SaveImage prefixes may not climb out of output/ either.
            let escaping: JSONValue = [
                "1": ["class_type": "EmptyImage", "inputs": ["width": 8, "height": 8, "batch_size": 1, "color": 0]],
                "2": ["class_type": "SaveImage", "inputs": ["images": ["1", 0], "filename_prefix": "../../escaped"]],
            ]
            let id = try await server.submit(escaping)
            let entry = try await server.waitForHistory(id)
            #expect(entry["status"]?["status_str"] == "error")
            let base = (server.directories.base as NSString).deletingLastPathComponent
            let leaked = try FileManager.default.contentsOfDirectory(atPath: base).filter { $0.hasPrefix("escaped") }
            #expect(leaked.isEmpty)
        }
    }
}

import FolderPaths
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import JobQueue
import NIOCore
import NodeLibrary
@testable import Server
import Testing
import Workflow

/// The web frontend: `GET /`, static files that never shadow API routes, `/templates`, the support
/// endpoints, the locator of the installed packages, and (when installed) the official frontend itself.
@Suite struct WebFrontendTests {
    // MARK: fixtures

    /// Writes `text` to `root/relative`, creating the folders.
    static func write(_ text: String, _ relative: String, in root: String) throws {
        let path = (root as NSString).appendingPathComponent(relative)
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }

    static let indexHTML = "<!doctype html><html><head><script type=\"module\" src=\"./assets/x.js\"></script></head><body>fake</body></html>"

    /// A fake frontend build next to a secret file that must never be served.
    static func makeWebRoot(in tmp: String) throws -> String {
        let root = tmp + "/web"
        try write(indexHTML, "index.html", in: root)
        try write("export const x = 1;\n", "assets/x.js", in: root)
        try write("body { color: red }", "assets/style.css", in: root)
        try write("{\"name\": \"fake\"}", "data.json", in: root)
        try write("{\"name\": \"app\"}", "app.webmanifest", in: root)
        try write("\0asm", "lib/m.wasm", in: root)
        try write("font", "fonts/f.woff2", in: root)
        try write("not the API", "prompt", in: root)
        try write("not the API", "object_info", in: root)
        try write("not the API", "api/object_info", in: root)
        try write("export default 1;", "extensions/core/a.js", in: root)
        try write("export default 2;", "extensions/mine/b.js", in: root)
        try write("top secret", "secret.txt", in: tmp)
        try FileManager.default.createSymbolicLink(atPath: root + "/leak.txt", withDestinationPath: tmp + "/secret.txt")
        return root
    }

    /// A live Loom server over a fresh data directory with `webRoot` as its web root.
    func withWebServer(webRoot: (String) throws -> String?, token: String? = nil,
                       _ body: @escaping @Sendable (TestServer, String) async throws -> Void) async throws {
        try await withTemporaryDirectory { tmp in
            let root = try webRoot(tmp)
            let directories = DataDirectories(base: tmp + "/data")
            let configuration = ServerConfiguration(host: "127.0.0.1", port: 0, token: token, directories: directories, frontEndRoot: root)
            let store = MemoryQueueStore()
            let registry = TestNodes.registry(NodeEnvironment(directories: directories))
            let built = try await LoomServer.build(configuration: configuration, store: store, registry: registry, logger: testLogger)
            try await built.application.test(.live) { client in
                let server = TestServer(client: client, port: try #require(client.port), directories: directories, token: token)
                try await body(server, tmp)
            }
        }
    }

    // MARK: web root

    @Test func rootServesIndexHTMLWithoutCaching() async throws {
        try await withWebServer(webRoot: Self.makeWebRoot) { server, _ in
            let response = try await server.get("/")
            #expect(response.status == .ok)
            #expect(response.text == Self.indexHTML)
            #expect(response.headers[.contentType] == "text/html; charset=utf-8")
            #expect(response.headers[.cacheControl] == "no-store, must-revalidate")
            #expect(response.headers[StaticFiles.pragma] == "no-cache")
            #expect(response.headers[.expires] == "0")
            let explicit = try await server.get("/index.html")
            #expect(explicit.status == .ok)
            #expect(explicit.text == Self.indexHTML)
        }
    }

    @Test func withoutAFrontendRootExplainsHowToInstallIt() async throws {
        try await withWebServer(webRoot: { _ in nil }) { server, _ in
            let response = try await server.get("/")
            #expect(response.status == .ok)
            #expect(response.headers[.contentType]?.hasPrefix("text/plain") == true)
            #expect(response.text.contains("scripts/setup.sh"))
            #expect(response.text.contains("--front-end-root"))
            // The API is unaffected.
            #expect(try await server.get("/object_info").status == .ok)
            #expect(try await server.get("/assets/x.js").status == .notFound)
            #expect(try await server.getJSON("/extensions") == [])
        }
    }

    @Test(arguments: [
        ("/assets/x.js", "application/javascript; charset=utf-8"),
        ("/assets/style.css", "text/css; charset=utf-8"),
        ("/data.json", "application/json"),
        ("/app.webmanifest", "application/manifest+json"),
        ("/lib/m.wasm", "application/wasm"),
        ("/fonts/f.woff2", "font/woff2"),
        ("/extensions/mine/b.js", "application/javascript; charset=utf-8"),
    ])
    func staticFilesHaveBrowserContentTypes(path: String, type: String) async throws {
        try await withWebServer(webRoot: Self.makeWebRoot) { server, tmp in
            let response = try await server.get(path)
            #expect(response.status == .ok, "\(path)")
            #expect(response.headers[.contentType] == type, "\(path)")
            let onDisk = try Data(contentsOf: URL(fileURLWithPath: tmp + "/web" + path))
            #expect(response.bytes == Array(onDisk))
            if path.hasSuffix(".js") || path.hasSuffix(".css") {
                #expect(response.headers[.cacheControl] == "no-cache")
            }
        }
    }

    @Test func staticFilesSupportRangesHeadAndRevalidation() async throws {
        try await withWebServer(webRoot: Self.makeWebRoot) { server, _ in
            let partial = try await server.get("/assets/x.js", headers: [.range: "bytes=0-5"])
            #expect(partial.status == .partialContent)
            #expect(partial.text == "export")
            let head = try await server.request(.head, "/assets/x.js")
            #expect(head.status == .ok)
            #expect(head.headers[.contentLength] == "20")
            let full = try await server.get("/assets/x.js")
            let tag = try #require(full.headers[.eTag])
            let again = try await server.get("/assets/x.js", headers: [.ifNoneMatch: tag])
            #expect(again.status == .notModified)
            #expect(again.body.readableBytes == 0)
        }
    }

    @Test func filesNeverShadowAPIRoutes() async throws {
        try await withWebServer(webRoot: Self.makeWebRoot) { server, _ in
            for path in ["/prompt", "/api/prompt"] {
                let response = try await server.get(path)
                #expect(response.status == .ok)
                #expect(try response.json()["exec_info"] != nil, "\(path) answered \(response.text)")
            }
            for path in ["/object_info", "/api/object_info"] {
                let response = try await server.get(path)
                #expect(response.status == .ok)
                #expect(try response.json()["EmptyImage"] != nil, "\(path) answered \(response.text.prefix(80))")
            }
            // A POST to an API route is still the API, and POST never reaches the static files.
            let submitted = try await server.post("/api/prompt", json: ["prompt": Prompts.emptyPreview()])
            #expect(submitted.status == .ok)
            #expect(try await server.request(.post, "/data.json").status == .notFound)
            // Paths that are neither a route nor a file.
            #expect(try await server.get("/nothing/here.js").status == .notFound)
            #expect(try await server.get("/api/no_such_route").status == .notFound)
            #expect(try await server.get("/assets").status == .notFound)
            await server.stopWork()
        }
    }

    @Test(arguments: ["/../secret.txt", "/assets/../../secret.txt", "/assets/..%2F..%2Fsecret.txt", "/%2E%2E/secret.txt",
                      "/leak.txt", "/assets/x.js%00.txt"])
    func traversalIsRefused(path: String) async throws {
        try await withWebServer(webRoot: Self.makeWebRoot) { server, _ in
            let response = try await server.get(path)
            #expect(response.status == .notFound || response.status == .badRequest, "\(path) → \(response.status)")
            #expect(!response.text.contains("top secret"))
        }
    }

    @Test func extensionsListScriptsUnderTheWebRoot() async throws {
        try await withWebServer(webRoot: Self.makeWebRoot) { server, _ in
            let list = try await server.getJSON("/api/extensions")
            #expect(list.strings == ["/extensions/core/a.js", "/extensions/mine/b.js"])
            for path in list.strings {
                let response = try await server.get(path)
                #expect(response.status == .ok, "\(path)")
                #expect(response.headers[.contentType] == "application/javascript; charset=utf-8")
            }
        }
    }

    @Test func supportEndpointsAnswerEmptyButValid() async throws {
        try await withWebServer(webRoot: Self.makeWebRoot) { server, _ in
            for path in ["/i18n", "/workflow_templates", "/global_subgraphs", "/node_replacements"] {
                #expect(try await server.getJSON(path) == [:], "\(path)")
                #expect(try await server.getJSON("/api" + path) == [:], "/api\(path)")
            }
            #expect(try await server.get("/api/global_subgraphs/some-id").status == .notFound)
            #expect(try await server.getJSON("/internal/logs") == "")
            let raw = try await server.getJSON("/internal/logs/raw")
            #expect(raw["entries"] == [])
            #expect(raw["size"] == ["cols": 80, "rows": 24])
            let subscribe = try await server.request(.patch, "/internal/logs/subscribe",
                                                     body: ByteBuffer(string: "{\"enabled\": true, \"clientId\": \"abc\"}"))
            #expect(subscribe.status == .ok)
            // /internal is never aliased under /api.
            #expect(try await server.get("/api/internal/logs").status == .notFound)
        }
    }

    // MARK: templates

    /// A router with only the web controller over a fake web root and two template directories.
    static func withTemplateRouter(_ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        try await withTemporaryDirectory { tmp in
            let json = tmp + "/json/templates", media = tmp + "/media/templates"
            try write("[{\"moduleName\": \"default\", \"title\": \"Basics\", \"templates\": [{\"name\": \"flow\"}]}]", "index.json", in: json)
            try write("[]", "index.fr.json", in: json)
            try write("{\"nodes\": [], \"links\": []}", "flow.json", in: json)
            try write("webp", "flow-1.webp", in: media)
            try write("png", "logo/brand.png", in: media)
            try write("top secret", "secret.txt", in: tmp)
            let router = Router(context: LoomRequestContext.self)
            WebController(webRoot: nil, templateDirectories: [json, media], bodyLimit: 1 << 20)
                .register(AliasedRoutes(router: router), router: router, logger: testLogger)
            try await Application(router: router).test(.router) { client in try await body(client) }
        }
    }

    @Test func templatesAreServedWithJSONContentType() async throws {
        try await Self.withTemplateRouter { client in
            for path in ["/templates/index.json", "/templates/index.fr.json"] {
                let response = try await client.execute(uri: path, method: .get)
                #expect(response.status == .ok, "\(path)")
                #expect(response.headers[.contentType]?.hasPrefix("application/json") == true, "\(path)")
                #expect(try response.json().arrayValue != nil, "\(path)")
            }
            let index = try await client.execute(uri: "/templates/index.json", method: .get)
            #expect(try index.json().items.first?["templates"]?.items.first?["name"] == "flow")
            let workflow = try await client.execute(uri: "/templates/flow.json", method: .get)
            #expect(workflow.status == .ok)
            #expect(try workflow.json()["nodes"] == [])
            // Media come from the next directory, subfolders included.
            let thumbnail = try await client.execute(uri: "/templates/flow-1.webp", method: .get)
            #expect(thumbnail.status == .ok)
            #expect(thumbnail.headers[.contentType] == "image/webp")
            let logo = try await client.execute(uri: "/templates/logo/brand.png", method: .get)
            #expect(logo.status == .ok)
            #expect(logo.text == "png")
        }
    }

    @Test(arguments: ["/templates/unknown.json", "/templates/../secret.txt", "/templates/..%2Fsecret.txt",
                      "/templates/logo", "/templates/"])
    func unknownOrEscapingTemplatesAre404(path: String) async throws {
        try await Self.withTemplateRouter { client in
            let response = try await client.execute(uri: path, method: .get)
            #expect(response.status == .notFound, "\(path) → \(response.status)")
            #expect(!response.text.contains("top secret"))
        }
    }

    // MARK: locator

    @Test func locatorFindsTheSetupVenvAndItsTemplates() async throws {
        try await withTemporaryDirectory { home in
            let site = home + "/.cache/loom-web/venv/lib/python3.11/site-packages"
            let none = FrontendLocator(environment: [:], home: home)
            #expect(none.webRoot() == nil)
            #expect(none.templateDirectories().isEmpty)

            try Self.write(Self.indexHTML, "comfyui_frontend_package/static/index.html", in: site)
            try Self.write("[]", "comfyui_workflow_templates_json/templates/index.json", in: site)
            try Self.write("x", "comfyui_workflow_templates_media_video/templates/a-1.webp", in: site)
            try Self.write("x", "comfyui_workflow_templates_media_api/templates/b-1.webp", in: site)
            try Self.write("x", "comfyui_workflow_templates_json-0.1.0.dist-info/RECORD", in: site)
            let locator = FrontendLocator(environment: [:], home: home)
            let root = try #require(locator.webRoot())
            #expect(root == site + "/comfyui_frontend_package/static")
            #expect(locator.templateDirectories(webRoot: root) == [
                site + "/comfyui_workflow_templates_json/templates",
                site + "/comfyui_workflow_templates_media_api/templates",
                site + "/comfyui_workflow_templates_media_video/templates",
            ])
            #expect(locator.templateDirectories() == locator.templateDirectories(webRoot: root))
        }
    }

    @Test func locatorHonoursTheEnvironment() async throws {
        try await withTemporaryDirectory { tmp in
            try Self.write(Self.indexHTML, "custom/index.html", in: tmp)
            try Self.write("[]", "t1/index.json", in: tmp)
            try Self.write("x", "t2/a.webp", in: tmp)
            // A frontend installed in another virtual environment brings its site-packages' templates.
            let other = tmp + "/other/lib/python3.12/site-packages"
            try Self.write(Self.indexHTML, "comfyui_frontend_package/static/index.html", in: other)
            try Self.write("[]", "comfyui_workflow_templates_json/templates/index.json", in: other)

            let custom = FrontendLocator(environment: ["LOOM_FRONTEND_ROOT": tmp + "/custom",
                                                       "LOOM_TEMPLATES_ROOT": tmp + "/t1:" + tmp + "/t2:" + tmp + "/missing"],
                                         home: tmp + "/home")
            #expect(custom.webRoot() == tmp + "/custom")
            #expect(custom.templateDirectories(webRoot: custom.webRoot()) == [tmp + "/t1", tmp + "/t2"])

            let missing = FrontendLocator(environment: ["LOOM_FRONTEND_ROOT": tmp + "/nope"], home: tmp + "/home")
            #expect(missing.webRoot() == nil)

            let venv = FrontendLocator(environment: ["LOOM_WEB_VENV": tmp + "/other"], home: tmp + "/home")
            let root = try #require(venv.webRoot())
            #expect(root == other + "/comfyui_frontend_package/static")
            let nextToRoot = FrontendLocator(environment: [:], home: tmp + "/home").templateDirectories(webRoot: root)
            #expect(nextToRoot == [other + "/comfyui_workflow_templates_json/templates"])
        }
    }

    // MARK: the official frontend, when scripts/setup.sh installed it

    static let installedRoot = FrontendLocator().webRoot()

    /// `src`/`href` values of `<script>` and `<link>` tags.
    static func referencedAssets(_ html: String) throws -> [String] {
        let pattern = try NSRegularExpression(pattern: "<(?:script|link)\\b[^>]*?\\b(?:src|href)=\"([^\"]+)\"", options: [.caseInsensitive])
        let range = NSRange(html.startIndex..., in: html)
        return pattern.matches(in: html, range: range).compactMap { match in
            Range(match.range(at: 1), in: html).map { String(html[$0]) }
        }
    }

    @Test(.enabled(if: installedRoot != nil, "the official frontend is not installed (scripts/setup.sh)"))
    func officialFrontendLoads() async throws {
        let installed = try #require(Self.installedRoot)
        try await withWebServer(webRoot: { _ in installed }) { server, _ in
            let index = try await server.get("/")
            #expect(index.status == .ok)
            let onDisk = try String(contentsOfFile: installed + "/index.html", encoding: .utf8)
            #expect(index.text == onDisk)
            let assets = try Self.referencedAssets(index.text)
            #expect(assets.contains { $0.hasSuffix(".js") })
            var checked = 0
            for asset in assets {
                // The user stylesheets are optional (404 is expected without them); remote URLs are not ours.
                if asset == "user.css" || asset == "api/userdata/user.css" || asset.contains("://") { continue }
                let path = "/" + (asset.hasPrefix("./") ? String(asset.dropFirst(2)) : asset)
                let response = try await server.get(path)
                #expect(response.status == .ok, "\(path) → \(response.status)")
                let type = response.headers[.contentType] ?? ""
                switch (path as NSString).pathExtension.lowercased() {
                case "js": #expect(type == "application/javascript; charset=utf-8", "\(path): \(type)")
                case "css": #expect(type == "text/css; charset=utf-8", "\(path): \(type)")
                case "json": #expect(type == "application/json", "\(path): \(type)")
                case "ico": #expect(type == "image/x-icon", "\(path): \(type)")
                default: #expect(!type.isEmpty, "\(path)")
                }
                checked += 1
            }
            #expect(checked >= 3)
            // The official package's extension shims are listed (the frontend skips extensions/core itself).
            let extensions = try await server.getJSON("/api/extensions").strings
            #expect(!extensions.isEmpty)
            for path in extensions.prefix(3) {
                #expect(try await server.get(path).status == .ok, "\(path)")
            }
        }
    }

    @Test(.enabled(if: installedRoot.map { !FrontendLocator().templateDirectories(webRoot: $0).isEmpty } ?? false,
                   "the workflow templates are not installed (scripts/setup.sh)"))
    func officialTemplatesIndexIsAnArrayOfCategories() async throws {
        let installed = try #require(Self.installedRoot)
        try await withWebServer(webRoot: { _ in installed }) { server, _ in
            let response = try await server.get("/templates/index.json")
            #expect(response.status == .ok)
            #expect(response.headers[.contentType]?.hasPrefix("application/json") == true)
            let categories = try #require(try response.json().arrayValue)
            #expect(!categories.isEmpty)
            for category in categories {
                #expect(category["title"]?.stringValue != nil)
                #expect(category["templates"]?.arrayValue != nil)
            }
            // A template named by the index is served, as its first thumbnail when it has one.
            let firstTemplates = categories.compactMap { $0["templates"]?.items.first }
            let first = try #require(firstTemplates.first)
            let name = try #require(first["name"]?.stringValue)
            let workflow = try await server.get("/templates/\(name).json")
            #expect(workflow.status == .ok, "\(name).json")
            #expect(try workflow.json().objectValue != nil)
            if let subtype = first["mediaSubtype"]?.stringValue {
                #expect(try await server.get("/templates/\(name)-1.\(subtype)").status == .ok, "\(name)-1.\(subtype)")
            }
            #expect(try await server.get("/templates/index_logo.json").status == .ok)
        }
    }
}

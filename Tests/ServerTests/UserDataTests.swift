import FolderPaths
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import JobQueue
import NIOCore
import NodeLibrary
import Server
import Testing
import Workflow

/// `/users`, `/settings`, `/userdata` and friends: shapes, user isolation, path safety, safe serving and
/// persistence across restarts.
@Suite struct UserDataTests {
    static let userHeader = HTTPField.Name("Comfy-User")!

    /// Headers selecting `user` in multi-user mode.
    static func as_(_ user: String) -> HTTPFields { [userHeader: user] }

    // MARK: settings

    @Test(arguments: ["", "/api"])
    func settingsRoundTripInSingleUserMode(prefix: String) async throws {
        try await withServer { server in
            let users = try await server.getJSON("\(prefix)/users")
            #expect(users == ["storage": "server", "migrated": false])
            #expect(try await server.getJSON("\(prefix)/settings") == [:])
            #expect(try await server.getJSON("\(prefix)/settings/Comfy.Locale") == .null)

            let saved = try await server.post("\(prefix)/settings", json: ["Comfy.Locale": "en", "Comfy.Count": 3])
            #expect(saved.status == .ok)
            #expect(saved.body.readableBytes == 0)
            #expect(try await server.getJSON("\(prefix)/users")["migrated"] == true)
            // Shallow merge keeps the other keys.
            try await server.post("\(prefix)/settings", json: ["Comfy.Count": 4])
            #expect(try await server.getJSON("\(prefix)/settings") == ["Comfy.Locale": "en", "Comfy.Count": 4])

            // One id, any JSON value; an id with an encoded slash is one id.
            #expect(try await server.post("\(prefix)/settings/Comfy.List", json: [1, ["a": nil]]).status == .ok)
            #expect(try await server.getJSON("\(prefix)/settings/Comfy.List") == [1, ["a": nil]])
            #expect(try await server.post("\(prefix)/settings/a%2Fb", json: "slash").status == .ok)
            #expect(try await server.getJSON("\(prefix)/settings/a%2Fb") == "slash")
            #expect(try await server.getJSON("\(prefix)/settings/Comfy.Locale") == "en")

            // The file is pretty-printed with an indent of 4.
            let file = server.directories.user + "/default/comfy.settings.json"
            let text = try String(contentsOfFile: file, encoding: .utf8)
            #expect(text.contains("\n    \"Comfy.Locale\": \"en\""))
            #expect(try JSONValue.parse(text)["a/b"] == "slash")

            // Bad bodies.
            #expect(try await server.post("\(prefix)/settings", json: [1, 2]).status == .badRequest)
            #expect(try await server.post("\(prefix)/settings", text: "{not json").status == .badRequest)
            #expect(try await server.post("\(prefix)/settings/x", text: "").status == .badRequest)

            // A corrupt file reads as {}.
            try Data("{corrupt".utf8).write(to: URL(fileURLWithPath: file))
            #expect(try await server.getJSON("\(prefix)/settings") == [:])
        }
    }

    // MARK: users and isolation

    @Test func multiUserRegistrationAndIsolation() async throws {
        try await withServer(multiUser: true) { server in
            #expect(try await server.getJSON("/api/users") == ["storage": "server", "users": [:]])
            // Nobody registered: "default" is not usable either.
            #expect(try await server.get("/api/settings").status == .unauthorized)

            let alice = try await createUser(server, "alice")
            #expect(alice.hasPrefix("alice_"))
            #expect(alice.count == "alice_".count + 36)
            let bob = try await createUser(server, "  bob ")
            #expect(bob.hasPrefix("bob_"))
            let odd = try await createUser(server, "a b!!c-d_é")
            #expect(odd.hasPrefix("a-b-c-d_-_"))

            for (body, message) in [(["username": "alice"], "Duplicate username."), (["username": "   "], "username not provided"),
                                    (["username": "__system"], "System User prefix not allowed"), ([:], "username not provided")]
                as [(JSONValue, String)] {
                let response = try await server.post("/api/users", json: body)
                #expect(response.status == .badRequest, "\(body.jsonString())")
                #expect(try response.json() == ["error": .string(message)])
            }
            let listed = try await server.getJSON("/users")
            let expectedUsers: JSONValue = .object(JSONObject([(alice, "alice"), (bob, "bob"), (odd, "a b!!c-d_é")]))
            #expect(listed["users"] == expectedUsers)
            let stored = try JSONValue.parse(try String(contentsOfFile: server.directories.user + "/users.json", encoding: .utf8))
            #expect(stored[alice] == "alice")

            // Settings are per user.
            try await server.post("/api/settings", json: ["Comfy.Locale": "fr"], headers: Self.as_(alice))
            try await server.post("/api/settings/Comfy.Locale", json: "de", headers: Self.as_(bob))
            #expect(try await server.get("/api/settings", headers: Self.as_(alice)).json() == ["Comfy.Locale": "fr"])
            #expect(try await server.get("/api/settings/Comfy.Locale", headers: Self.as_(bob)).json() == "de")

            // So are workflows.
            let saved = try await server.request(.post, "/api/userdata/workflows%2Fmine.json", body: ByteBuffer(string: "{\"a\":1}"),
                                                 headers: Self.as_(alice))
            #expect(saved.status == .ok)
            #expect(FileManager.default.fileExists(atPath: server.directories.user + "/\(alice)/workflows/mine.json"))
            #expect(try await server.get("/api/userdata/workflows%2Fmine.json", headers: Self.as_(alice)).text == "{\"a\":1}")
            #expect(try await server.get("/api/userdata/workflows%2Fmine.json", headers: Self.as_(bob)).status == .notFound)
            let bobsList = try await server.get("/api/userdata?dir=workflows&recurse=true&full_info=true", headers: Self.as_(bob))
            #expect(bobsList.status == .notFound)

            // Unknown, empty and system users.
            for header in ["nobody", "", "alice"] {
                #expect(try await server.get("/api/settings", headers: Self.as_(header)).status == .unauthorized, "\(header)")
                #expect(try await server.post("/api/settings", json: ["x": 1], headers: Self.as_(header)).status == .unauthorized)
                #expect(try await server.get("/api/userdata/workflows%2Fmine.json", headers: Self.as_(header)).status == .unauthorized)
                #expect(try await server.get("/api/userdata?dir=workflows", headers: Self.as_(header)).status == .unauthorized)
            }
            #expect(try await server.get("/api/settings", headers: Self.as_("__system")).status == .unauthorized)
            #expect(try await server.get("/api/userdata/x.json", headers: Self.as_("__system")).status == .forbidden)
            let denied = try await server.request(.post, "/api/userdata/x.json", body: ByteBuffer(string: "x"), headers: Self.as_("__system"))
            #expect(denied.status == .forbidden)
            #expect(!FileManager.default.fileExists(atPath: server.directories.user + "/__system"))
        }
    }

    @Test func singleUserModeIgnoresTheHeader() async throws {
        try await withServer { server in
            try await server.post("/api/settings", json: ["k": "v"], headers: Self.as_("someone"))
            #expect(try await server.getJSON("/api/settings") == ["k": "v"])
            #expect(try await server.get("/api/settings", headers: Self.as_("__system")).json() == ["k": "v"])
            #expect(FileManager.default.fileExists(atPath: server.directories.user + "/default/comfy.settings.json"))
        }
    }

    // MARK: files

    @Test func writeReadDeleteAndListUserData() async throws {
        try await withServer { server in
            let body = "{\"nodes\": []}"
            let created = try await server.post("/api/userdata/workflows%2Fsub%2Fa.json?overwrite=false", text: body)
            #expect(created.status == .ok)
            #expect(try created.json() == "workflows/sub/a.json")
            let again = try await server.post("/api/userdata/workflows%2Fsub%2Fa.json?overwrite=false", text: "{}")
            #expect(again.status == .conflict)
            #expect(again.text == "File already exists")

            let info = try await server.post("/userdata/workflows%2Fb.json?full_info=true", text: "12345")
            #expect(info.status == .ok)
            let infoJSON = try info.json()
            #expect(infoJSON["path"] == "workflows/b.json")
            #expect(infoJSON["size"] == 5)
            let modified = try #require(infoJSON["modified"]?.intValue)
            let now = Int(Date().timeIntervalSince1970 * 1000)
            #expect(abs(modified - now) < 60_000)
            #expect(infoJSON["created"]?.intValue != nil)
            #expect(infoJSON.keys.sorted() == ["created", "modified", "path", "size"])

            // Overwrite by default.
            #expect(try await server.post("/userdata/workflows%2Fb.json", text: "replaced").status == .ok)
            let read = try await server.get("/api/userdata/workflows%2Fb.json")
            #expect(read.status == .ok)
            #expect(read.text == "replaced")
            #expect(read.headers[.xContentTypeOptions] == "nosniff")
            #expect(read.headers[.contentType] == "application/json")
            #expect(read.headers[.contentDisposition]?.hasPrefix("attachment") == true)
            // No temporary files left behind.
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: server.directories.user + "/default/workflows")
            #expect(leftovers.sorted() == ["b.json", "sub"])

            // A hidden index and a file elsewhere.
            #expect(try await server.post("/api/userdata/workflows%2F.index.json", text: "{}").status == .ok)
            #expect(try await server.post("/api/userdata/subgraphs%2Fs.json", text: "{}").status == .ok)

            let full = try await server.getJSON("/api/userdata?dir=workflows&recurse=true&split=false&full_info=true")
            #expect(full.items.compactMap { $0["path"]?.stringValue } == ["b.json", "sub/a.json"])
            #expect(full.items.first?["size"] == 8)
            #expect(try await server.getJSON("/userdata?dir=workflows&recurse=true").strings == ["b.json", "sub/a.json"])
            #expect(try await server.getJSON("/userdata?dir=workflows").strings == ["b.json"])
            #expect(try await server.getJSON("/userdata?dir=workflows&recurse=true&split=true")
                == [["b.json", "b.json"], ["sub/a.json", "sub", "a.json"]])
            #expect(try await server.getJSON("/userdata?dir=workflows%2Fsub") == ["a.json"])

            let missingDir = try await server.get("/api/userdata")
            #expect(missingDir.status == .badRequest)
            #expect(missingDir.text == "Directory not provided")
            let notFound = try await server.get("/api/userdata?dir=keybindings&recurse=true&full_info=true")
            #expect(notFound.status == .notFound)
            #expect(notFound.text == "Directory not found")
            #expect(try await server.get("/api/userdata?dir=..").status == .forbidden)
            #expect(try await server.get("/api/userdata?dir=%2Ftmp").status == .forbidden)

            // v2 listing: directories first, paths relative to the user root.
            let v2 = try await server.getJSON("/api/v2/userdata")
            #expect(v2.items.compactMap { $0["name"]?.stringValue } == ["subgraphs", "workflows"])
            #expect(v2.items.first?["type"] == "directory")
            let v2Workflows = try await server.getJSON("/api/v2/userdata?path=workflows")
            #expect(v2Workflows.items.compactMap { $0["path"]?.stringValue } == ["workflows/sub", "workflows/.index.json", "workflows/b.json"])
            let bEntry = try #require(v2Workflows.items.last)
            #expect(bEntry["type"] == "file")
            #expect(bEntry["size"] == 8)
            #expect(bEntry["modified"]?.doubleValue != nil)
            #expect(try await server.get("/api/v2/userdata?path=nope").status == .notFound)
            #expect(try await server.get("/api/v2/userdata?path=workflows%2Fb.json").status == .badRequest)
            #expect(try await server.get("/api/v2/userdata?path=..").status == .forbidden)

            // Delete.
            let deleted = try await server.request(.delete, "/api/userdata/workflows%2Fb.json")
            #expect(deleted.status == .noContent)
            #expect(try await server.get("/api/userdata/workflows%2Fb.json").status == .notFound)
            #expect(try await server.request(.delete, "/api/userdata/workflows%2Fb.json").status == .notFound)
            #expect(try await server.request(.delete, "/api/userdata/workflows").status == .notFound)
            #expect(FileManager.default.fileExists(atPath: server.directories.user + "/default/workflows/sub/a.json"))

            // A directory is neither readable nor writable as a file.
            #expect(try await server.get("/api/userdata/workflows").status == .notFound)
            #expect(try await server.post("/api/userdata/workflows", text: "x").status == .badRequest)
        }
    }

    @Test func moveWithAndWithoutOverwrite() async throws {
        try await withServer { server in
            try await server.post("/api/userdata/workflows%2Fa.json", text: "A")
            try await server.post("/api/userdata/workflows%2Fb.json", text: "B")

            let blocked = try await server.post("/api/userdata/workflows%2Fa.json/move/workflows%2Fb.json?overwrite=false", text: "")
            #expect(blocked.status == .conflict)
            #expect(blocked.text == "File already exists")
            #expect(try await server.get("/api/userdata/workflows%2Fb.json").text == "B")

            let renamed = try await server.post("/api/userdata/workflows%2Fa.json/move/workflows%2Fnew%2Fc.json?overwrite=false", text: "")
            #expect(renamed.status == .ok)
            #expect(try renamed.json() == "workflows/new/c.json")
            #expect(try await server.get("/api/userdata/workflows%2Fa.json").status == .notFound)
            #expect(try await server.get("/api/userdata/workflows%2Fnew%2Fc.json").text == "A")

            let replaced = try await server.post("/userdata/workflows%2Fnew%2Fc.json/move/workflows%2Fb.json?full_info=true", text: "")
            #expect(replaced.status == .ok)
            let info = try replaced.json()
            #expect(info["path"] == "workflows/b.json")
            #expect(info["size"] == 1)
            #expect(try await server.get("/api/userdata/workflows%2Fb.json").text == "A")

            #expect(try await server.post("/api/userdata/workflows%2Fgone.json/move/workflows%2Fx.json", text: "").status == .notFound)
            #expect(try await server.post("/api/userdata/workflows%2Fb.json/move/..%2F..%2Fstolen.json", text: "").status == .forbidden)
            #expect(try await server.post("/api/userdata/..%2Fusers.json/move/mine.json", text: "").status == .forbidden)
            #expect(try await server.post("/api/userdata/workflows%2Fb.json/move/workflows", text: "").status == .badRequest)
            #expect(try await server.get("/api/userdata/workflows%2Fb.json").text == "A")
        }
    }

    @Test func traversalAndSymlinkEscapesAreRefused() async throws {
        try await withServer { server in
            let root = server.directories.user + "/default"
            let outside = (server.directories.base as NSString).deletingLastPathComponent + "/outside"
            try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
            try Data("secret".utf8).write(to: URL(fileURLWithPath: outside + "/secret.txt"))
            try Data("{}".utf8).write(to: URL(fileURLWithPath: server.directories.user + "/users.json"))
            try FileManager.default.createSymbolicLink(atPath: root + "/linkdir", withDestinationPath: outside)
            try FileManager.default.createSymbolicLink(atPath: root + "/link.txt", withDestinationPath: outside + "/secret.txt")
            try Data("ok".utf8).write(to: URL(fileURLWithPath: root + "/fine.txt"))
            try FileManager.default.createSymbolicLink(atPath: root + "/inside.txt", withDestinationPath: root + "/fine.txt")

            #expect(try await server.get("/api/userdata/fine.txt").text == "ok")
            #expect(try await server.get("/api/userdata/inside.txt").text == "ok")
            for uri in ["/api/userdata/..%2Fusers.json", "/api/userdata/..%252Fusers.json", "/api/userdata/%2Fetc%2Fpasswd",
                        "/api/userdata/workflows%2F..%2F..%2Fusers.json", "/api/userdata/linkdir%2Fsecret.txt",
                        "/api/userdata/link.txt", "/userdata/..%2F..%2F..%2Foutside%2Fsecret.txt"] {
                let response = try await server.get(uri)
                #expect(response.status == .forbidden, "\(uri)")
                #expect(!response.text.contains("secret"), "\(uri)")
            }
            for uri in ["/api/userdata/..%2Fevil.json", "/api/userdata/linkdir%2Fevil.json", "/api/userdata/%2Ftmp%2Fevil.json"] {
                #expect(try await server.post(uri, text: "evil").status == .forbidden, "\(uri)")
                #expect(try await server.request(.delete, uri).status == .forbidden, "\(uri)")
            }
            #expect(!FileManager.default.fileExists(atPath: server.directories.user + "/evil.json"))
            #expect(!FileManager.default.fileExists(atPath: outside + "/evil.json"))
            #expect(try await server.request(.delete, "/api/userdata/link.txt").status == .forbidden)
            #expect(FileManager.default.fileExists(atPath: outside + "/secret.txt"))

            // Listings skip what leaves the user's directory.
            #expect(try await server.getJSON("/api/userdata?dir=.&recurse=true").strings == ["fine.txt", "inside.txt"])
            #expect(try await server.get("/api/userdata?dir=linkdir").status == .forbidden)
            let v2 = try await server.getJSON("/api/v2/userdata")
            #expect(v2.items.compactMap { $0["name"]?.stringValue } == ["fine.txt", "inside.txt"])
        }
    }

    @Test func activeContentIsServedAsAnAttachment() async throws {
        try await withServer { server in
            let payloads = ["x.html": "<script>alert(1)</script>", "x.svg": "<svg xmlns=\"http://www.w3.org/2000/svg\"/>",
                            "x.js": "alert(1)", "x.xml": "<a/>", "sub%2Fuser.css": "body{}", "x.txt": "plain"]
            for (name, text) in payloads {
                #expect(try await server.post("/api/userdata/\(name)", text: text).status == .ok)
            }
            for name in ["x.html", "x.svg", "x.js", "x.xml", "sub%2Fuser.css"] {
                let response = try await server.get("/api/userdata/\(name)")
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/octet-stream", "\(name)")
                #expect(response.headers[.contentDisposition]?.hasPrefix("attachment; filename=\"") == true, "\(name)")
                #expect(response.headers[.xContentTypeOptions] == "nosniff")
                #expect(response.text == payloads[name])
            }
            let text = try await server.get("/api/userdata/x.txt")
            #expect(text.headers[.contentType] == "text/plain")
            #expect(text.headers[.contentDisposition] == "attachment; filename=\"x.txt\"; filename*=UTF-8''x.txt")

            // Only the root user.css is a stylesheet.
            #expect(try await server.get("/api/userdata/user.css").status == .notFound)
            try await server.post("/api/userdata/user.css", text: "body { color: red }")
            let css = try await server.get("/api/userdata/user.css")
            #expect(css.status == .ok)
            #expect(css.headers[.contentType]?.hasPrefix("text/css") == true)
            #expect(css.headers[.contentDisposition] == "inline")
            #expect(css.headers[.xContentTypeOptions] == "nosniff")
            #expect(css.text == "body { color: red }")

            // A name that needs quoting keeps the header well-formed.
            try await server.post("/api/userdata/%C3%A9t%C3%A9%20%22q%22.json", text: "{}")
            let unicode = try await server.get("/api/userdata/%C3%A9t%C3%A9%20%22q%22.json")
            #expect(unicode.status == .ok)
            #expect(unicode.headers[.contentDisposition] == "attachment; filename=\"_t_ _q_.json\"; filename*=UTF-8''%C3%A9t%C3%A9%20%22q%22.json")
        }
    }

    @Test func oversizedBodiesAre413() async throws {
        try await withServer(maxUploadSize: 1024) { (server: TestServer) async throws -> Void in
            let big = String(repeating: "x", count: 4096)
            #expect(try await server.post("/api/userdata/workflows%2Fbig.json", text: big).status == .contentTooLarge)
            #expect(!FileManager.default.fileExists(atPath: server.directories.user + "/default/workflows/big.json"))
            #expect(try await server.post("/api/settings/big", json: .string(big)).status == .contentTooLarge)
            #expect(try await server.post("/api/userdata/workflows%2Fsmall.json", text: "ok").status == .ok)
        }
    }

    // MARK: persistence

    @Test func settingsUsersAndFilesSurviveARestart() async throws {
        try await withTemporaryDirectory { tmp in
            let data = tmp + "/data"
            let ids: (String, String) = try await withServerOn(data: data, multiUser: true) { server in
                let alice = try await createUser(server, "alice")
                let bob = try await createUser(server, "bob")
                try await server.post("/api/settings", json: ["Comfy.Locale": "ja"], headers: Self.as_(alice))
                let saved = try await server.request(.post, "/api/userdata/workflows%2Fkept.json", body: ByteBuffer(string: "[1]"),
                                                     headers: Self.as_(bob))
                #expect(saved.status == .ok)
                return (alice, bob)
            }
            try await withServerOn(data: data, multiUser: true) { (server: TestServer) async throws -> Void in
                let users = try await server.getJSON("/api/users")
                #expect(users["users"]?[ids.0] == "alice")
                #expect(users["users"]?[ids.1] == "bob")
                #expect(try await server.get("/api/settings", headers: Self.as_(ids.0)).json() == ["Comfy.Locale": "ja"])
                #expect(try await server.get("/api/settings", headers: Self.as_(ids.1)).json() == [:])
                #expect(try await server.get("/api/userdata/workflows%2Fkept.json", headers: Self.as_(ids.1)).text == "[1]")
                let duplicate = try await server.post("/api/users", json: ["username": "alice"])
                #expect(duplicate.status == .badRequest)
            }
            // Single-user mode on the same data: its own "default" user.
            try await withServerOn(data: data, multiUser: false) { (server: TestServer) async throws -> Void in
                #expect(try await server.getJSON("/api/settings") == [:])
                try await server.post("/api/settings", json: ["solo": true])
            }
            try await withServerOn(data: data, multiUser: false) { (server: TestServer) async throws -> Void in
                #expect(try await server.getJSON("/api/settings") == ["solo": true])
                #expect(try await server.getJSON("/api/users")["migrated"] == true)
            }
        }
    }

    // MARK: helpers

    /// Registers `name` and returns the new id.
    func createUser(_ server: TestServer, _ name: String, sourceLocation: SourceLocation = #_sourceLocation) async throws -> String {
        let response = try await server.post("/api/users", json: ["username": .string(name)])
        try #require(response.status == .ok, "POST /users \(name) → \(response.status)", sourceLocation: sourceLocation)
        return try #require(try response.json().stringValue, sourceLocation: sourceLocation)
    }

    /// A live server over the data directory `data` (kept afterwards), for restart tests.
    func withServerOn<T: Sendable>(data: String, multiUser: Bool,
                                   _ body: @escaping @Sendable (TestServer) async throws -> T) async throws -> T {
        let directories = DataDirectories(base: data)
        let configuration = ServerConfiguration(host: "127.0.0.1", port: 0, directories: directories, multiUser: multiUser,
                                                argv: ["loom"])
        let registry = TestNodes.registry(NodeEnvironment(directories: directories))
        let built = try await LoomServer.build(configuration: configuration, store: MemoryQueueStore(), registry: registry,
                                               logger: testLogger)
        let result = ResultBox<T>()
        try await built.application.test(.live) { client in
            let server = TestServer(client: client, port: try #require(client.port), directories: directories, token: nil)
            await result.set(try await body(server))
        }
        return try #require(await result.value)
    }
}

/// Carries a value out of the live-test closure.
private actor ResultBox<T: Sendable> {
    var value: T?
    func set(_ newValue: T) { value = newValue }
}

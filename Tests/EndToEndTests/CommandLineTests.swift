import Foundation
import HummingbirdWSClient
import Logging
import Testing
import Workflow

extension EndToEndTests {
    /// ComfyUI's command line, authentication set-up and the data directory, through the real executable.
    @Suite struct CommandLineOptions {
        @Test("unknown ComfyUI flags are accepted with a one-line notice each")
        func unknownComfyFlags() async throws {
            let scratch = try ScratchDirectory()
            defer { scratch.remove() }
            let server = try await LoomProcess.start(dataDirectory: scratch.appending("data"),
                                                     extraArguments: ["--preview-method", "auto", "--highvram", "--cpu"],
                                                     logDirectory: scratch.path)
            defer { server.kill() }
            let notices = server.stdout.split(separator: "\n").filter { $0.hasPrefix("Note: ignoring ComfyUI option") }
            #expect(notices == [
                "Note: ignoring ComfyUI option --preview-method auto (it has no effect in Loom)",
                "Note: ignoring ComfyUI option --highvram (it has no effect in Loom)",
            ], "\(server.logs)")
            #expect(server.listenHost == "127.0.0.1")
            #expect(try await server.client().get("/system_stats").status == 200)
            #expect(try await server.terminate() == 0)
        }

        @Test("bare --listen binds 0.0.0.0, generates a token (0600), prints it once and enforces it")
        func listenGeneratesToken() async throws {
            let scratch = try ScratchDirectory()
            defer { scratch.remove() }
            let data = scratch.appending("data")
            let server = try await LoomProcess.start(dataDirectory: data, extraArguments: ["--listen"], logDirectory: scratch.path)
            defer { server.kill() }
            #expect(server.listenHost == "0.0.0.0")

            let tokenPath = data + "/auth_token"
            let token = try String(contentsOfFile: tokenPath, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(token.count == 64 && token.allSatisfy(\.isHexDigit))
            let attributes = try FileManager.default.attributesOfItem(atPath: tokenPath)
            #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
            let lines = server.stdout.split(separator: "\n").map(String.init)
            #expect(lines.filter { $0 == token }.count == 1, "the token is printed once, on its own line: \(server.logs)")
            #expect(!server.stderr.contains(token), "the token does not go to the log")

            let anonymous = server.client()
            #expect(try await anonymous.get("/health").status == 200)
            for path in ["/system_stats", "/api/queue", "/object_info/EmptyImage", "/api/jobs"] {
                let denied = try await anonymous.get(path)
                #expect(denied.status == 401, "\(path)")
                #expect(try denied.json()["error"] != nil, "\(path): a JSON error")
            }
            #expect(try await server.client(token: token).get("/system_stats").status == 200)
            #expect(try await LoomClient(base: server.baseURL, authorization: token).get("/system_stats").status == 200)
            #expect(try await server.client(token: "wrong").get("/system_stats").status == 401)
            #expect(try await server.terminate() == 0)

            // The stored token is reused on the next start, and not printed again.
            let again = try await LoomProcess.start(dataDirectory: data, extraArguments: ["--listen"], logDirectory: scratch.path)
            defer { again.kill() }
            #expect(!again.stdout.contains(token))
            #expect(try await again.client().get("/system_stats").status == 401)
            #expect(try await again.client(token: token).get("/system_stats").status == 200)
            #expect(try await again.terminate() == 0)
        }

        @Test("--listen followed by another option, with --no-auth: no token, open routes")
        func listenNoAuth() async throws {
            let scratch = try ScratchDirectory()
            defer { scratch.remove() }
            let data = scratch.appending("data")
            let server = try await LoomProcess.start(dataDirectory: data, extraArguments: ["--listen", "--no-auth"],
                                                     logDirectory: scratch.path)
            defer { server.kill() }
            #expect(server.listenHost == "0.0.0.0")
            #expect(!FileManager.default.fileExists(atPath: data + "/auth_token"))
            #expect(try await server.client().get("/system_stats").status == 200)
            #expect(server.stderr.contains("--no-auth"), "a warning is logged")
            #expect(try await server.terminate() == 0)
        }

        @Test("--token, LOOM_TOKEN and the token file protect a loopback server", arguments: ["flag", "env", "file"])
        func configuredToken(source: String) async throws {
            let scratch = try ScratchDirectory()
            defer { scratch.remove() }
            let data = scratch.appending("data")
            let token = "tok-\(source)-\(UUID().uuidString.prefix(8))"
            var arguments: [String] = []
            var environment: [String: String] = [:]
            switch source {
            case "flag": arguments = ["--token", token]
            case "env": environment["LOOM_TOKEN"] = token
            default:
                try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
                try (token + "\n").write(toFile: data + "/auth_token", atomically: true, encoding: .utf8)
            }
            let server = try await LoomProcess.start(dataDirectory: data, extraArguments: arguments, environment: environment,
                                                     logDirectory: scratch.path)
            defer { server.kill() }
            #expect(try await server.client().get("/health").status == 200)
            #expect(try await server.client().get("/system_stats").status == 401)
            #expect(try await server.client().post("/prompt", json: ["prompt": Workflows.quick(prefix: "x", width: 8, height: 8, color: 0)]).status == 401)
            #expect(try await server.client(token: token).get("/system_stats").status == 200)
            #expect(try await LoomClient(base: server.baseURL, authorization: token).get("/api/system_stats").status == 200)
            #expect(try await server.client(token: token + "x").get("/system_stats").status == 401)
            if source != "file" { #expect(!FileManager.default.fileExists(atPath: data + "/auth_token")) }
            #expect(!server.stdout.contains(token), "a configured token is not printed")

            // The WebSocket takes the token as ?token= too.
            let url = "ws://127.0.0.1:\(server.port)/ws?clientId=e2e"
            let first = try await Self.firstWebSocketMessage(url + "&token=\(token)")
            #expect(first?["type"]?.stringValue == "status")
            #expect(first?["data"]?["sid"]?.stringValue == "e2e")
            await #expect(throws: (any Error).self) { _ = try await Self.firstWebSocketMessage(url) }
            #expect(try await server.terminate() == 0)
        }

        /// Connects, returns the first text message as JSON and closes.
        static func firstWebSocketMessage(_ url: String) async throws -> JSONValue? {
            let received = ReceivedMessage()
            try await WebSocketClient.connect(url: url, logger: Logger(label: "e2e-ws")) { inbound, outbound, _ in
                for try await message in inbound.messages(maxSize: 1 << 20) {
                    if case .text(let text) = message {
                        received.set(try JSONValue.parse(text))
                        break
                    }
                }
                try await outbound.close(.normalClosure, reason: nil)
            }
            return received.value
        }

        @Test("the data directory layout is created and temp is wiped on start")
        func dataDirectoryLayout() async throws {
            let scratch = try ScratchDirectory()
            defer { scratch.remove() }
            let data = scratch.appending("data")
            let stale = data + "/temp/sub"
            try FileManager.default.createDirectory(atPath: stale, withIntermediateDirectories: true)
            try "old".write(toFile: stale + "/file.txt", atomically: true, encoding: .utf8)
            try "old".write(toFile: data + "/temp/preview.png", atomically: true, encoding: .utf8)
            try FileManager.default.createDirectory(atPath: data + "/output", withIntermediateDirectories: true)
            try "keep".write(toFile: data + "/output/kept.txt", atomically: true, encoding: .utf8)

            let server = try await LoomProcess.start(dataDirectory: data, logDirectory: scratch.path)
            defer { server.kill() }
            for folder in ["models/checkpoints", "models/loras", "models/vae", "models/clip", "models/controlnet",
                           "models/upscale_models", "models/embeddings", "custom_nodes", "input", "output", "temp", "user"] {
                var isDirectory: ObjCBool = false
                #expect(FileManager.default.fileExists(atPath: data + "/" + folder, isDirectory: &isDirectory) && isDirectory.boolValue,
                        "\(folder)")
            }
            #expect(visibleFiles(in: data + "/temp").isEmpty, "temp is wiped on start")
            #expect(FileManager.default.fileExists(atPath: data + "/output/kept.txt"), "output is kept")
            #expect(FileManager.default.fileExists(atPath: data + "/loom.sqlite"))
            #expect(try await server.terminate() == 0)
        }

        @Test("--output-directory and --input-directory move those folders out of the data directory")
        func directoryOverrides() async throws {
            let scratch = try ScratchDirectory()
            defer { scratch.remove() }
            let data = scratch.appending("data"), output = scratch.appending("out"), input = scratch.appending("in")
            let server = try await LoomProcess.start(dataDirectory: data, extraArguments: ["--output-directory", output,
                                                                                          "--input-directory", input],
                                                     logDirectory: scratch.path)
            defer { server.kill() }
            #expect(FileManager.default.fileExists(atPath: input))
            let client = server.client()
            let id = try await client.submit(Workflows.quick(prefix: "moved", width: 12, height: 9, color: 0xFF0000))
            let job = try await client.waitForFinished(id)
            #expect(job["status"]?.stringValue == "completed")
            #expect(try PNGCheck.validate(output + "/moved_00001_.png") == PNGCheck.Info(width: 12, height: 9))
            #expect(!FileManager.default.fileExists(atPath: data + "/output/moved_00001_.png"))
            #expect(try await server.terminate() == 0)
        }
    }
}

/// The first message a WebSocket handler saw.
final class ReceivedMessage: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: JSONValue?
    func set(_ value: JSONValue) { lock.withLock { stored = value } }
    var value: JSONValue? { lock.withLock { stored } }
}

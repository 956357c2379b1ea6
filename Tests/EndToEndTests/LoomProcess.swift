import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An error of the end-to-end harness, with the server's logs attached where there is one.
struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Where the `loom` executable is: built by `scripts/test.sh` (`swift build --product loom`) before
/// the tests run, found relative to this source file.
enum LoomBinary {
    static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `.build/debug/loom`, else `.build/release/loom`.
    static func path() throws -> String {
        let candidates = ["debug", "release"].map { packageRoot.appendingPathComponent(".build/\($0)/loom").path }
        if let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) { return found }
        throw HarnessError("""
            The loom executable is missing (looked for \(candidates.joined(separator: ", "))). \
            Build it first: `swift build --product loom` (scripts/test.sh does this).
            """)
    }
}

/// A scratch directory; `remove()` it in a `defer` declared right after creating it, so that it
/// outlives every server started on it (their `defer { kill() }` run first).
final class ScratchDirectory: Sendable {
    let path: String

    init(_ label: String = "loom-e2e") throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("\(label)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        path = base.path
    }

    func appending(_ component: String) -> String { (path as NSString).appendingPathComponent(component) }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// One run of the real `loom` executable as a child process, with its standard output and error
/// captured to files. Always stop it (`kill()` in a `defer`): it is not killed automatically.
final class LoomProcess: @unchecked Sendable {
    let dataDirectory: String
    let arguments: [String]
    let stdoutPath: String
    let stderrPath: String
    private let process = Process()
    private(set) var port = 0
    private(set) var listenHost = ""

    /// The base URL clients use: always loopback, whatever address the server binds.
    var baseURL: URL { URL(string: "http://127.0.0.1:\(port)")! }

    var pid: pid_t { process.processIdentifier }
    var isRunning: Bool { process.isRunning }

    /// Starts `loom --data-dir DIR --port 0 ARGS` (or `ARGS` alone when `rawArguments`) and waits until
    /// it prints the port it listens on and `GET /health` answers 200.
    ///
    /// - Parameters:
    ///   - dataDirectory: the data directory (`--data-dir`).
    ///   - extraArguments: further command-line arguments.
    ///   - environment: variables added to the test's environment (`LOOM_TOKEN` is never inherited).
    ///   - logDirectory: where the `stdout-N.txt`/`stderr-N.txt` files go.
    static func start(dataDirectory: String, extraArguments: [String] = [], environment: [String: String] = [:],
                      logDirectory: String, healthToken: String? = nil, timeout: Duration = .seconds(30)) async throws -> LoomProcess {
        let server = try LoomProcess(dataDirectory: dataDirectory,
                                     arguments: ["--data-dir", dataDirectory, "--port", "0"] + extraArguments,
                                     environment: environment, logDirectory: logDirectory)
        do {
            try await server.waitUntilHealthy(timeout: timeout)
        } catch {
            server.kill()
            throw error
        }
        return server
    }

    private init(dataDirectory: String, arguments: [String], environment: [String: String], logDirectory: String) throws {
        self.dataDirectory = dataDirectory
        self.arguments = arguments
        let stamp = UUID().uuidString.prefix(8)
        stdoutPath = (logDirectory as NSString).appendingPathComponent("stdout-\(stamp).txt")
        stderrPath = (logDirectory as NSString).appendingPathComponent("stderr-\(stamp).txt")
        FileManager.default.createFile(atPath: stdoutPath, contents: nil)
        FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: try LoomBinary.path())
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["LOOM_TOKEN"] = nil
        env.merge(environment) { $1 }
        process.environment = env
        let out = try FileHandle(forWritingTo: URL(fileURLWithPath: stdoutPath))
        let err = try FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
        defer {
            try? out.close()
            try? err.close()
        }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = out
        process.standardError = err
        try process.run()
    }

    /// Everything the server wrote to standard output so far.
    var stdout: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }
    /// Everything the server wrote to standard error (its log) so far.
    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }
    /// Both, for failure messages.
    var logs: String { "--- loom \(arguments.joined(separator: " "))\n--- stdout:\n\(stdout)--- stderr:\n\(stderr)" }

    /// Waits for "Loom is listening on http://HOST:PORT" and then for `GET /health` to answer 200.
    private func waitUntilHealthy(timeout: Duration) async throws {
        let deadline = ContinuousClock.now + timeout
        while port == 0 {
            if let match = stdout.firstMatch(of: /Loom is listening on http:\/\/(.+):(\d+)/) {
                listenHost = String(match.1)
                port = Int(match.2) ?? 0
                break
            }
            guard process.isRunning else { throw HarnessError("loom exited (status \(process.terminationStatus)) before listening\n\(logs)") }
            guard ContinuousClock.now < deadline else { throw HarnessError("loom did not print its port within \(timeout)\n\(logs)") }
            try await Task.sleep(for: .milliseconds(20))
        }
        let client = LoomClient(base: baseURL)
        while true {
            if let response = try? await client.get("/health"), response.status == 200 { return }
            guard process.isRunning else { throw HarnessError("loom exited (status \(process.terminationStatus)) before /health answered\n\(logs)") }
            guard ContinuousClock.now < deadline else { throw HarnessError("GET /health did not answer 200 within \(timeout)\n\(logs)") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// `kill -9`: the process gets no chance to clean up. Safe to call more than once.
    func kill() {
        guard process.isRunning else { return }
        _ = Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// SIGTERM, then waits for the process to exit on its own.
    /// - Returns: the exit status.
    /// - Throws: when it has not exited within `timeout` (it is then killed).
    @discardableResult
    func terminate(timeout: Duration = .seconds(20)) async throws -> Int32 {
        guard process.isRunning else { return process.terminationStatus }
        _ = Glibc.kill(process.processIdentifier, SIGTERM)
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            guard ContinuousClock.now < deadline else {
                kill()
                throw HarnessError("loom did not exit within \(timeout) of SIGTERM\n\(logs)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// A client for this server.
    func client(token: String? = nil) -> LoomClient { LoomClient(base: baseURL, token: token) }

    deinit {
        if process.isRunning { _ = Glibc.kill(process.processIdentifier, SIGKILL) }
    }
}

/// Runs a `loom` subcommand (e.g. `bench api …`) to completion.
/// - Returns: exit status, standard output and standard error.
func runLoom(_ arguments: [String], timeout: Duration = .seconds(120)) async throws -> (status: Int32, stdout: String, stderr: String) {
    let scratch = try ScratchDirectory("loom-cli")
    defer { scratch.remove() }
    let outPath = scratch.appending("stdout.txt"), errPath = scratch.appending("stderr.txt")
    FileManager.default.createFile(atPath: outPath, contents: nil)
    FileManager.default.createFile(atPath: errPath, contents: nil)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: try LoomBinary.path())
    process.arguments = arguments
    var env = ProcessInfo.processInfo.environment
    env["LOOM_TOKEN"] = nil
    process.environment = env
    let out = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
    let err = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
    process.standardInput = FileHandle.nullDevice
    process.standardOutput = out
    process.standardError = err
    try process.run()
    try? out.close()
    try? err.close()
    let deadline = ContinuousClock.now + timeout
    while process.isRunning {
        if ContinuousClock.now > deadline {
            _ = Glibc.kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw HarnessError("loom \(arguments.joined(separator: " ")) did not finish within \(timeout)")
        }
        try await Task.sleep(for: .milliseconds(20))
    }
    process.waitUntilExit()
    return (process.terminationStatus,
            (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
            (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")
}

/// Polls `condition` until it returns a value, or fails after `timeout`.
func eventually<T>(_ what: @autoclosure () -> String, timeout: Duration = .seconds(30), every interval: Duration = .milliseconds(20),
                   _ condition: () async throws -> T?) async throws -> T {
    let deadline = ContinuousClock.now + timeout
    while true {
        if let value = try await condition() { return value }
        guard ContinuousClock.now < deadline else { throw HarnessError("timed out after \(timeout) waiting for \(what())") }
        try await Task.sleep(for: interval)
    }
}

/// Milliseconds since the Unix epoch (the clock the server stamps jobs with).
func nowMillis() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

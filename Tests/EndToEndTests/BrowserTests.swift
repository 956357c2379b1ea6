import Foundation
import Testing

/// The official ComfyUI frontend, served by the real `loom` executable, driven in headless Chromium by
/// `Tests/Browser/browser_checks.py` over the DevTools protocol: the page loads without failed requests or console
/// errors, the node search finds SaveImage, a workflow of Loom's nodes runs from the Run button, and a setting
/// survives a server restart.
///
/// Needs the Debian package `chromium` and the checks' virtual environment, both installed by `scripts/setup.sh`
/// (`LOOM_BROWSER_PYTHON` points at another python, `LOOM_CHROMIUM` at another browser). Screenshots are kept in
/// `$TMPDIR/loom-browser-screenshots/<check>/` (or `LOOM_BROWSER_ARTIFACTS/<check>/`) and their paths printed.
@Suite(.serialized, .timeLimit(.minutes(10))) struct BrowserTests {
    static func python() throws -> String {
        if let given = ProcessInfo.processInfo.environment["LOOM_BROWSER_PYTHON"], !given.isEmpty { return given }
        let path = NSHomeDirectory() + "/.cache/loom-tests/browser-venv/bin/python"
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw HarnessError("The browser checks' environment is missing at \(path): run scripts/setup.sh (it creates it)")
        }
        return path
    }

    static let checks = LoomBinary.packageRoot.appendingPathComponent("Tests/Browser/browser_checks.py").path

    /// Where one check's screenshots go; kept after the test so they can be looked at.
    static func artefactDirectory(_ check: String) throws -> String {
        let environment = ProcessInfo.processInfo.environment["LOOM_BROWSER_ARTIFACTS"]
        let base = environment.flatMap { $0.isEmpty ? nil : $0 }
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("loom-browser-screenshots").path
        let directory = (base as NSString).appendingPathComponent(check)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory
    }

    /// Runs the checks script against a server; returns its exit status and combined output (also printed).
    static func runChecks(_ names: [String], server: LoomProcess, artefacts: String,
                          timeout: Duration = .seconds(400)) async throws -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try python())
        process.arguments = [checks, "--url", "http://127.0.0.1:\(server.port)/", "--out", artefacts]
            + names.flatMap { ["--check", $0] }
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("browser-\(UUID().uuidString).txt")
        FileManager.default.createFile(atPath: output.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: output) }
        let handle = try FileHandle(forWritingTo: output)
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        let deadline = ContinuousClock.now + timeout
        var timedOut = false
        while process.isRunning {
            if ContinuousClock.now > deadline {
                timedOut = true
                process.terminate()
                break
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        process.waitUntilExit()
        try? handle.close()
        var text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
        if timedOut { text += "\nbrowser_checks.py did not finish within \(timeout) and was stopped\n" }
        print("browser_checks.py \(names.joined(separator: " ")):\n\(text)")
        return (timedOut ? -1 : process.terminationStatus, text)
    }

    /// Starts a server on a fresh data directory, runs one check and expects it to pass.
    func runOne(_ check: String) async throws {
        let scratch = try ScratchDirectory("loom-browser")
        defer { scratch.remove() }
        let server = try await LoomProcess.start(dataDirectory: scratch.appending("data"), logDirectory: scratch.path)
        defer { server.kill() }
        let (status, output) = try await Self.runChecks([check], server: server, artefacts: try Self.artefactDirectory(check))
        #expect(status == 0, "browser check \(check) failed:\n\(output)\n\(server.logs)")
        #expect(output.contains("PASS \(check):"), "\(output)")
    }

    /// The page loads and the graph canvas gets ready with no console error and no failed request beyond the
    /// script's commented allow-list (spec 2.1, 2.7, 2.8, 2.10).
    @Test func pageLoadsWithoutErrors() async throws {
        try await runOne("load")
    }

    /// A double click on the canvas opens the node search box; typing SaveImage lists it.
    @Test func nodeSearchFindsSaveImage() async throws {
        try await runOne("search")
    }

    /// EmptyImage → SaveImage queued with the Run button shows its output image on the SaveImage node.
    @Test func workflowRunsFromTheRunButton() async throws {
        try await runOne("run")
    }

    /// A setting changed in the frontend is still there after a server restart and a fresh browser profile.
    @Test func settingsPersistAcrossARestart() async throws {
        let scratch = try ScratchDirectory("loom-browser-settings")
        defer { scratch.remove() }
        let data = scratch.appending("data")
        let artefacts = try Self.artefactDirectory("settings")
        let first = try await LoomProcess.start(dataDirectory: data, logDirectory: scratch.path)
        let (setStatus, setOutput) = try await Self.runChecks(["settings-set"], server: first, artefacts: artefacts)
        let logs = first.logs
        try await first.terminate()
        #expect(setStatus == 0, "settings-set failed:\n\(setOutput)\n\(logs)")
        let second = try await LoomProcess.start(dataDirectory: data, logDirectory: scratch.path)
        defer { second.kill() }
        let (status, output) = try await Self.runChecks(["settings-verify"], server: second, artefacts: artefacts)
        #expect(status == 0, "settings-verify failed after the restart:\n\(output)\n\(second.logs)")
        #expect(output.contains("PASS settings-verify:"), "\(output)")
    }
}

import Foundation
import Testing

/// The official ComfyUI frontend, served by the real `loom` executable, driven in headless Chromium by
/// `Tests/Browser/browser_checks.py` over the DevTools protocol: the page loads without failed requests or console
/// errors, the node search finds SaveImage, a workflow of Loom's nodes runs from the Run button, a setting and a
/// saved workflow survive a server restart, templates load (and name the nodes Loom lacks), a running job is
/// cancelled from the page, the user picker of `--multi-user` keeps each user's settings apart, and `--token`'s
/// web login lets the page in.
///
/// Each test starts its own server on a fresh data directory and its own browser, so they are independent.
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
    static func runChecks(_ names: [String], server: LoomProcess, artefacts: String, arguments: [String] = [],
                          timeout: Duration = .seconds(400)) async throws -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try python())
        process.arguments = [checks, "--url", "http://127.0.0.1:\(server.port)/", "--out", artefacts]
            + names.flatMap { ["--check", $0] } + arguments
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

    /// Starts a server on a fresh data directory (with `serverArguments`), runs one check (with `checkArguments`)
    /// and expects it to pass.
    func runOne(_ check: String, serverArguments: [String] = [], checkArguments: [String] = []) async throws {
        let scratch = try ScratchDirectory("loom-browser")
        defer { scratch.remove() }
        let server = try await LoomProcess.start(dataDirectory: scratch.appending("data"), extraArguments: serverArguments,
                                                 logDirectory: scratch.path)
        defer { server.kill() }
        let (status, output) = try await Self.runChecks([check], server: server, artefacts: try Self.artefactDirectory(check),
                                                        arguments: checkArguments)
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

    /// Runs `first` against a server, restarts the server on the same data directory and runs `second` in a fresh
    /// browser; both must pass.
    func runAcrossARestart(_ first: String, _ second: String, artefacts name: String) async throws {
        let scratch = try ScratchDirectory("loom-browser-\(name)")
        defer { scratch.remove() }
        let data = scratch.appending("data")
        let artefacts = try Self.artefactDirectory(name)
        let before = try await LoomProcess.start(dataDirectory: data, logDirectory: scratch.path)
        let (firstStatus, firstOutput) = try await Self.runChecks([first], server: before, artefacts: artefacts)
        let logs = before.logs
        try await before.terminate()
        #expect(firstStatus == 0, "\(first) failed:\n\(firstOutput)\n\(logs)")
        #expect(firstOutput.contains("PASS \(first):"), "\(firstOutput)")
        let after = try await LoomProcess.start(dataDirectory: data, logDirectory: scratch.path)
        defer { after.kill() }
        let (status, output) = try await Self.runChecks([second], server: after, artefacts: artefacts)
        #expect(status == 0, "\(second) failed after the restart:\n\(output)\n\(after.logs)")
        #expect(output.contains("PASS \(second):"), "\(output)")
    }

    /// A setting changed in the frontend is still there after a server restart and a fresh browser profile.
    @Test func settingsPersistAcrossARestart() async throws {
        try await runAcrossARestart("settings-set", "settings-verify", artefacts: "settings")
    }

    /// Workflow → Browse Templates loads an SD1-node template (SDXL text to image): every node is registered with
    /// the template's widgets and values, and the page logs no error (spec 2.8, 7).
    @Test func templateOfLoomNodesLoads() async throws {
        try await runOne("templates")
    }

    /// A template with node types Loom lacks (SDXL Turbo's SamplerCustom, …) loads, and the frontend's
    /// missing-nodes report names exactly those (spec 7).
    @Test func templateReportsMissingNodesByName() async throws {
        try await runOne("templates-missing")
    }

    /// A workflow saved from the page (its save prompt, `POST /api/userdata/workflows%2F….json`) is listed in the
    /// workflows side bar and by `GET /api/userdata?dir=workflows` after a server restart, and opens (spec 2.7).
    @Test func savedWorkflowIsListedAfterARestart() async throws {
        try await runAcrossARestart("workflow-save", "workflow-verify", artefacts: "workflows")
    }

    /// A slow workflow started with the Run button and stopped with "Cancel current run" ends as `cancelled` in
    /// `/api/jobs`, with `execution_interrupted` in its history (spec 2.2, 4.7).
    @Test func runningJobIsCancelledFromThePage() async throws {
        try await runOne("cancel")
    }

    /// `--multi-user`: the user picker creates and chooses users, every request carries the chosen
    /// `Comfy-User`, and each user's settings are their own (spec 5).
    @Test func multiUserPickerKeepsSettingsApart() async throws {
        try await runOne("multi-user", serverArguments: ["--multi-user"])
    }

    /// `--token`: the API answers 401 without it; `/?token=…` logs the page in with a cookie, after which it loads
    /// without failed requests and its WebSocket connects.
    @Test func tokenLoginLoadsThePage() async throws {
        let token = "browser-\(UUID().uuidString.prefix(12))"
        try await runOne("token", serverArguments: ["--token", token], checkArguments: ["--token", token])
    }
}

import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Test inputs shared by the test targets: checkpoints made by `../shared/tools/make_checkpoint.py`
/// (generated once, cached outside the repository) and the paths of ComfyUI's goldens.
///
/// Cache: `$LOOM_TEST_CACHE` or `~/.cache/loom-tests`. A file is named by the SHA-256 of the generator
/// arguments and script (editing the script regenerates), written under a temporary name and renamed,
/// under a per-file `flock` so parallel tests and processes do not generate it twice; its digest is
/// recorded next to it and checked once per process.
public enum ModelFixtures {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }

    /// The Loom package root (symlinks resolved).
    public static let packageRoot: URL = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    public static let shared = packageRoot.deletingLastPathComponent().appendingPathComponent("shared")
    public static let generator = shared.appendingPathComponent("tools/make_checkpoint.py")
    public static let components = shared.appendingPathComponent("fixtures/comfy_sd15_components_s0")
    public static let txt2img = shared.appendingPathComponent("fixtures/comfy_sd15_reduced_s0")
    /// ComfyUI's SVD image-to-video run and its component goldens.
    public static let svdFixtures = shared.appendingPathComponent("fixtures/comfy_svd_reduced_s0")

    public static var cacheDirectory: URL {
        if let dir = ProcessInfo.processInfo.environment["LOOM_TEST_CACHE"], !dir.isEmpty {
            return URL(fileURLWithPath: dir)
        }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/loom-tests")
    }

    /// sha256 of `make_checkpoint.py sd15 --variant reduced --seed 0` (the goldens' checkpoint).
    public static let reducedSHA256 = "0e0321bb28dc3c3c5511e1519d2456e718fa9f895f1e7bb0f6d73b764864f738"

    /// sha256 of `make_checkpoint.py sd15 --variant tiny --seed 0`.
    public static let tinySHA256 = "2f3e1236d97fc4a241fddcc7e1aac5903ca68916294cb7bccf90fcba563c0492"

    public static func tiny() throws -> String {
        try sd15(["--variant", "tiny", "--seed", "0"], expectedSHA256: tinySHA256)
    }

    /// The key → shape table `make_checkpoint.py <arch> <arguments> --list` prints (nothing is written).
    public static func table(_ arch: String, _ arguments: [String]) throws -> [String: [Int]] {
        let output = try run(["python3", generator.path, arch] + arguments + ["--list"])
        var table: [String: [Int]] = [:]
        for line in output.split(separator: "\n") {
            guard let open = line.firstIndex(of: "["), let close = line.firstIndex(of: "]") else { continue }
            let key = line[..<open].trimmingCharacters(in: .whitespaces)
            let dims = line[line.index(after: open)..<close].split(separator: ",").compactMap {
                Int($0.trimmingCharacters(in: .whitespaces))
            }
            table[key] = dims
        }
        guard !table.isEmpty else { throw Failure(description: "no table from \(arguments)") }
        return table
    }

    public static func reduced() throws -> String {
        try sd15(["--variant", "reduced", "--seed", "0"], expectedSHA256: reducedSHA256)
    }

    /// sha256 of `make_checkpoint.py svd --variant reduced --seed 0` (the SVD goldens' checkpoint, 2 GB).
    public static let svdReducedSHA256 = "485246c3a3dd3d28f4e74c1453ce3f8af6f9d9a4937904efdcd10c1542bcb56f"

    /// The SVD checkpoint ComfyUI's SVD goldens were made with.
    public static func svdReduced() throws -> String {
        try checkpoint("svd", ["--variant", "reduced", "--seed", "0"], expectedSHA256: svdReducedSHA256)
    }

    private static let verified = Mutex<Set<String>>([])

    /// The path of the checkpoint `make_checkpoint.py sd15 <arguments>` writes, generating it if needed.
    public static func sd15(_ arguments: [String], expectedSHA256: String? = nil) throws -> String {
        try checkpoint("sd15", arguments, expectedSHA256: expectedSHA256)
    }

    /// The path of the checkpoint `make_checkpoint.py <arch> <arguments>` writes, generating it if needed.
    public static func checkpoint(_ arch: String, _ arguments: [String], expectedSHA256: String? = nil) throws -> String {
        let scriptDigest = try sha256(file: generator.path)
        let key = try sha256(data: Data(([arch] + arguments + [scriptDigest]).joined(separator: "\u{0}").utf8))
        let directory = cacheDirectory
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let name = arch + "-" + arguments.joined(separator: "_").replacingOccurrences(of: "-", with: "")
            .replacingOccurrences(of: "/", with: "") + "-" + key.prefix(16)
        let file = directory.appendingPathComponent(name + ".safetensors").path
        let record = file + ".sha256"

        let lock = open(directory.appendingPathComponent(name + ".lock").path, O_CREAT | O_RDWR | O_CLOEXEC, 0o644)
        guard lock >= 0 else { throw Failure(description: "cannot open lock file in \(directory.path)") }
        defer { close(lock) }
        guard flock(lock, LOCK_EX) == 0 else { throw Failure(description: "flock failed") }
        defer { flock(lock, LOCK_UN) }

        if verified.withLock({ $0.contains(file) }) { return file }
        if FileManager.default.fileExists(atPath: file), let recorded = try? String(contentsOfFile: record, encoding: .utf8) {
            let digest = try sha256(file: file)
            if digest == recorded.trimmingCharacters(in: .whitespacesAndNewlines),
               expectedSHA256 == nil || expectedSHA256 == digest {
                verified.withLock { _ = $0.insert(file) }
                return file
            }
            try? FileManager.default.removeItem(atPath: file)  // corrupt or stale: regenerate
        }
        let temporary = file + ".partial-\(getpid())"
        _ = try run(["python3", generator.path, arch] + arguments + ["-o", temporary])
        let digest = try sha256(file: temporary)
        if let expectedSHA256, digest != expectedSHA256 {
            try? FileManager.default.removeItem(atPath: temporary)
            throw Failure(description: "generated \(arch) \(arguments) has sha256 \(digest), expected \(expectedSHA256)")
        }
        try Data((digest + "\n").utf8).write(to: URL(fileURLWithPath: record), options: .atomic)
        guard rename(temporary, file) == 0 else { throw Failure(description: "cannot rename \(temporary)") }
        verified.withLock { _ = $0.insert(file) }
        return file
    }

    public static func sha256(file: String) throws -> String {
        String(try run(["sha256sum", file]).prefix(64))
    }

    public static func sha256(data: Data) throws -> String {
        String(try run(["sha256sum"], input: data).prefix(64))
    }

    /// Runs `command` (looked up on PATH), returning stdout; throws on a non-zero exit.
    @discardableResult
    public static func run(_ command: [String], input: Data? = nil) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = command
        let stdout = Pipe(), stderr = Pipe(), stdin = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = input == nil ? FileHandle.nullDevice : stdin
        try process.run()
        if let input {
            stdin.fileHandleForWriting.write(input)
            try stdin.fileHandleForWriting.close()
        }
        let out = stdout.fileHandleForReading.readDataToEndOfFile()
        let err = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "\(command.joined(separator: " ")) exited \(process.terminationStatus): \(String(decoding: err, as: UTF8.self))")
        }
        return String(decoding: out, as: UTF8.self)
    }
}

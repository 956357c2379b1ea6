import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The locations of the `ffmpeg` and `ffprobe` programs that video encoding and decoding drive over pipes.
///
/// Video goes through the programs rather than the libav* libraries: no coupling to their ABI, an encoder
/// crash cannot take the server down, and frames stream through pipes so no encoded or second raw copy of a
/// video is held in memory.
public struct FFmpegTools: Sendable, Equatable {
    /// Path of the `ffmpeg` executable.
    public var ffmpeg: String
    /// Path of the `ffprobe` executable.
    public var ffprobe: String

    /// Uses the given executables as they are (no checks).
    public init(ffmpeg: String, ffprobe: String) {
        self.ffmpeg = ffmpeg
        self.ffprobe = ffprobe
    }

    /// Finds `ffmpeg` and `ffprobe`.
    ///
    /// `LOOM_FFMPEG` and `LOOM_FFPROBE` name the executables explicitly; otherwise each is searched on `PATH`
    /// (`ffprobe` is first looked for next to an explicit `LOOM_FFMPEG`).
    /// - Parameter environment: the variables to read (the process environment by default).
    /// - Throws: ``MediaError`` with code `.toolMissing` when a program cannot be found or is not executable.
    public static func locate(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> FFmpegTools {
        let searchPath = environment["PATH"].flatMap { $0.isEmpty ? nil : $0 } ?? "/usr/local/bin:/usr/bin:/bin"
        let directories = searchPath.split(separator: ":").map(String.init)

        func resolve(_ name: String, variable: String, extraDirectories: [String]) throws -> String {
            if let explicit = environment[variable], !explicit.isEmpty {
                guard isExecutableFile(explicit) else {
                    throw MediaError(.toolMissing, "\(variable)=\(explicit) is not an executable file; \(name) is required "
                                     + "for video outputs; install it (apt-get install ffmpeg) or fix \(variable)")
                }
                return explicit
            }
            for directory in extraDirectories + directories {
                let candidate = (directory as NSString).appendingPathComponent(name)
                if isExecutableFile(candidate) { return candidate }
            }
            throw MediaError(.toolMissing, "\(name) is required for video outputs; install it (apt-get install ffmpeg)"
                             + " or set \(variable) to its path")
        }

        let ffmpeg = try resolve("ffmpeg", variable: "LOOM_FFMPEG", extraDirectories: [])
        var nextToFFmpeg: [String] = []
        if let explicit = environment["LOOM_FFMPEG"], !explicit.isEmpty {
            nextToFFmpeg = [(explicit as NSString).deletingLastPathComponent]
        }
        let ffprobe = try resolve("ffprobe", variable: "LOOM_FFPROBE", extraDirectories: nextToFFmpeg)
        return FFmpegTools(ffmpeg: ffmpeg, ffprobe: ffprobe)
    }

    private static func isExecutableFile(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
            return false
        }
        return FileManager.default.isExecutableFile(atPath: path)
    }
}

// MARK: - Child processes over pipes

/// Writing to a pipe whose reader died must fail with `EPIPE`, not kill the server; SIGPIPE is ignored
/// process-wide the first time a tool is started.
private let sigpipeIgnored: Void = {
    _ = signal(SIGPIPE, SIG_IGN)
}()

/// Collects everything a child writes to one pipe on a dedicated thread, so a chatty child never blocks on a
/// full pipe while the caller is busy writing its stdin.
final class PipeCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var bytes: [UInt8] = []
    private var dropped = false
    private let limit: Int
    private let finished = DispatchSemaphore(value: 0)

    /// Starts draining `handle` (which the collector closes at end of file).
    /// - Parameter limit: keep at most about this many bytes (the newest ones).
    init(draining handle: FileHandle, limit: Int) {
        self.limit = limit
        let thread = Thread { [self] in
            self.drain(handle)
        }
        thread.name = "loom.pipe-collector"
        thread.start()
    }

    private func drain(_ handle: FileHandle) {
        let fd = handle.fileDescriptor
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                lock.lock()
                bytes.append(contentsOf: chunk[0..<n])
                if bytes.count > limit {
                    bytes.removeFirst(bytes.count - limit / 2)
                    dropped = true
                }
                lock.unlock()
            } else if n < 0 && errno == EINTR {
                continue
            } else {
                break
            }
        }
        try? handle.close()
        finished.signal()
    }

    /// Waits for the end of file and returns the text collected (trimmed).
    func text() -> String {
        finished.wait()
        finished.signal()
        lock.lock()
        defer { lock.unlock() }
        let body = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return dropped ? "…" + body : body
    }
}

/// One run of ffmpeg or ffprobe with optional stdin/stdout pipes and stderr always collected.
final class ToolProcess {
    let name: String
    private let process: Process
    private var stdinHandle: FileHandle?
    private var stdoutHandle: FileHandle?
    private let stderr: PipeCollector
    private var exitStatus: (status: Int32, signaled: Bool)?

    /// Starts `executable` with `arguments`.
    /// - Parameters:
    ///   - feedStdin: give the child a pipe as stdin (otherwise /dev/null).
    ///   - readStdout: give the child a pipe as stdout (otherwise /dev/null).
    init(executable: String, arguments: [String], feedStdin: Bool, readStdout: Bool) throws {
        _ = sigpipeIgnored
        name = (executable as NSString).lastPathComponent
        process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let inPipe = feedStdin ? Pipe() : nil
        let outPipe = readStdout ? Pipe() : nil
        let errPipe = Pipe()
        process.standardInput = inPipe ?? FileHandle.nullDevice
        process.standardOutput = outPipe ?? FileHandle.nullDevice
        process.standardError = errPipe
        do {
            try process.run()
        } catch {
            throw MediaError(.toolMissing, "Cannot start \(executable): \(error.localizedDescription); "
                             + "ffmpeg is required for video outputs; install it (apt-get install ffmpeg)")
        }
        // The child holds its own copies now; keep only the parent's ends so end-of-file and EPIPE work.
        if let inPipe { try? inPipe.fileHandleForReading.close() }
        if let outPipe { try? outPipe.fileHandleForWriting.close() }
        try? errPipe.fileHandleForWriting.close()
        stdinHandle = inPipe?.fileHandleForWriting
        stdoutHandle = outPipe?.fileHandleForReading
        stderr = PipeCollector(draining: errPipe.fileHandleForReading, limit: 256 * 1024)
    }

    /// The child's process id.
    var processIdentifier: Int32 { process.processIdentifier }

    /// Writes all of `buffer` to the child's stdin.
    /// - Returns: `false` when the child closed its stdin (exited); other errors throw.
    func write(_ buffer: UnsafeRawBufferPointer) throws -> Bool {
        guard let handle = stdinHandle else {
            throw MediaError(.invalidArgument, "\(name)'s input is already closed")
        }
        let fd = handle.fileDescriptor
        var offset = 0
        while offset < buffer.count {
            let n = posixWrite(fd, buffer.baseAddress! + offset, buffer.count - offset)
            if n >= 0 {
                offset += n
            } else if errno == EINTR {
                continue
            } else if errno == EPIPE {
                return false
            } else {
                let code = errno
                throw MediaError(.toolFailed, "Writing to \(name) failed: \(String(cString: strerror(code)))")
            }
        }
        return true
    }

    /// Reads until `buffer` is full or the child's stdout ends.
    /// - Returns: the number of bytes read (less than `buffer.count` only at end of file).
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard let handle = stdoutHandle else { return 0 }
        let fd = handle.fileDescriptor
        var offset = 0
        while offset < buffer.count {
            let n = posixRead(fd, buffer.baseAddress! + offset, buffer.count - offset)
            if n > 0 {
                offset += n
            } else if n == 0 {
                break
            } else if errno == EINTR {
                continue
            } else {
                let code = errno
                throw MediaError(.toolFailed, "Reading from \(name) failed: \(String(cString: strerror(code)))")
            }
        }
        return offset
    }

    /// Reads the child's whole stdout.
    /// - Parameter limit: throw `.tooLarge` once more than this many bytes arrive (the child is killed).
    func readToEnd(limit: Int) throws -> [UInt8] {
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = try chunk.withUnsafeMutableBytes { try read(into: $0) }
            result.append(contentsOf: chunk[0..<n])
            if result.count > limit {
                kill()
                throw MediaError(.tooLarge, "\(name) produced more than \(limit) bytes")
            }
            if n < chunk.count { return result }
        }
    }

    /// Closes the child's stdin (it sees end of file).
    func closeStdin() {
        if let handle = stdinHandle {
            try? handle.close()
            stdinHandle = nil
        }
    }

    /// Closes the read end of the child's stdout.
    func closeStdout() {
        if let handle = stdoutHandle {
            try? handle.close()
            stdoutHandle = nil
        }
    }

    /// Kills the child (SIGKILL) and closes the pipes; `wait()` still reaps it.
    func kill() {
        closeStdin()
        closeStdout()
        if exitStatus == nil && process.isRunning {
            _ = posixKill(process.processIdentifier, SIGKILL)
        }
    }

    /// Waits for the child to exit and for its stderr to end.
    /// - Returns: the exit status (or signal number when `signaled`) and the stderr text.
    @discardableResult
    func wait() -> (status: Int32, signaled: Bool, stderr: String) {
        closeStdin()
        if exitStatus == nil {
            process.waitUntilExit()
            exitStatus = (process.terminationStatus, process.terminationReason == .uncaughtSignal)
        }
        closeStdout()
        let status = exitStatus ?? (0, false)
        return (status.status, status.signaled, stderr.text())
    }

    /// Waits, and throws `.toolFailed` with the child's stderr when it did not exit with status 0.
    /// - Parameter action: what the run was doing, for the message ("encoding out.mp4").
    func waitForSuccess(_ action: String) throws {
        let result = wait()
        if let error = Self.failure(name: name, action: action, result) { throw error }
    }

    /// The error for a finished run, or nil when it succeeded.
    static func failure(name: String, action: String, _ result: (status: Int32, signaled: Bool, stderr: String)) -> MediaError? {
        if result.signaled {
            let detail = result.stderr.isEmpty ? "" : ": \(result.stderr)"
            return MediaError(.toolFailed, "\(name) was killed by signal \(result.status) while \(action)\(detail)")
        }
        guard result.status != 0 else { return nil }
        let detail = result.stderr.isEmpty ? " (no error output)" : ": \(result.stderr)"
        return MediaError(.toolFailed, "\(name) failed while \(action) (exit status \(result.status))\(detail)")
    }

    deinit {
        if exitStatus == nil {
            kill()
            wait()
        }
    }
}

// The C calls under names the methods above do not shadow.
@inline(__always) private func posixWrite(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int { write(fd, p, n) }
@inline(__always) private func posixRead(_ fd: Int32, _ p: UnsafeMutableRawPointer, _ n: Int) -> Int { read(fd, p, n) }
@inline(__always) private func posixKill(_ pid: Int32, _ sig: Int32) -> Int32 { kill(pid, sig) }

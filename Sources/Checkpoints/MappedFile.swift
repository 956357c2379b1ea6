#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A whole file memory-mapped read-only (`PROT_READ`, `MAP_PRIVATE`), unmapped when the last reference goes.
///
/// Tensors read from a checkpoint point straight into this mapping, so whoever holds such bytes holds
/// the `MappedFile` too.
///
/// `@unchecked Sendable` invariant: `base` and `count` are set once in `init` and never change; the
/// mapping is read-only, so concurrent reads from any thread are safe; `munmap` runs only in `deinit`,
/// when no other reference (and so no reader) can exist.
public final class MappedFile: @unchecked Sendable {
    /// The file's path as given to `init`.
    public let path: String
    private let base: UnsafeRawPointer?
    /// The file's size in bytes.
    public let count: Int

    /// Maps the file at `path`.
    ///
    /// - Throws: `CheckpointError` with code `.ioError` when the file cannot be opened, stat'ed or mapped.
    public init(path: String) throws(CheckpointError) {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw CheckpointError(.ioError, "cannot open the file", path: path, cause: Self.errnoText())
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw CheckpointError(.ioError, "cannot stat the file", path: path, cause: Self.errnoText())
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw CheckpointError(.ioError, "not a regular file", path: path)
        }
        count = Int(info.st_size)
        if count == 0 {
            base = nil  // mmap of zero bytes is an error; an empty file simply has no bytes
            return
        }
        let mapped = mmap(nil, count, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let mapped, mapped != MAP_FAILED else {
            throw CheckpointError(.ioError, "cannot memory-map \(count) bytes", path: path, cause: Self.errnoText())
        }
        base = UnsafeRawPointer(mapped)
    }

    deinit {
        if let base { munmap(UnsafeMutableRawPointer(mutating: base), count) }
    }

    /// The mapped bytes; valid as long as this object is alive.
    public var bytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base, count: count)
    }

    /// Drops this process's resident copy of the mapped pages (`madvise(MADV_DONTNEED)`): the file stays in the
    /// page cache and any later read of these bytes faults the pages back in, so it is always safe. Call it once a
    /// model's weights have been converted out of the mapping, so the process does not keep both copies resident.
    public func releaseResidentPages() {
        guard let base else { return }
        _ = madvise(UnsafeMutableRawPointer(mutating: base), count, Int32(MADV_DONTNEED))
    }

    private static func errnoText() -> String {
        let code = errno
        return "errno \(code): " + String(cString: strerror(code))
    }
}

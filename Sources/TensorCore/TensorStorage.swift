/// A block of raw bytes shared by tensors and their views: either allocated here (64-byte aligned, through
/// ``StorageBlockCache/shared``) or borrowed from something that owns the memory, such as a memory-mapped
/// checkpoint, which it keeps alive.
///
/// Safety (`@unchecked Sendable`): the pointer and size never change. Bytes are written only through
/// ``Tensor``'s mutating methods, which first make the storage uniquely referenced (copy-on-write),
/// so no two threads can write, or read while another writes, the same storage. Borrowed storage is
/// read-only and always copied before a write.
public final class TensorStorage: @unchecked Sendable {
    public let pointer: UnsafeMutableRawPointer
    public let byteCount: Int
    /// Borrowed memory (a mapped file) must not be written.
    public let isReadOnly: Bool
    private let owner: AnyObject?

    /// Allocates `byteCount` zeroed bytes.
    public convenience init(byteCount: Int) {
        self.init(uninitializedByteCount: byteCount)
        pointer.initializeMemory(as: UInt8.self, repeating: 0, count: max(byteCount, 1))
    }

    /// Allocates `byteCount` bytes with unspecified contents, for a result whose every byte is about to be written.
    public init(uninitializedByteCount byteCount: Int) {
        precondition(byteCount >= 0, "negative storage size")
        self.byteCount = byteCount
        pointer = StorageBlockCache.shared.allocate(byteCount: byteCount)
        isReadOnly = false
        owner = nil
    }

    /// Wraps memory owned by `owner` (kept alive as long as this storage) without copying.
    public init(borrowing pointer: UnsafeRawPointer, byteCount: Int, owner: AnyObject) {
        self.pointer = UnsafeMutableRawPointer(mutating: pointer)
        self.byteCount = byteCount
        self.isReadOnly = true
        self.owner = owner
    }

    deinit {
        if owner == nil { StorageBlockCache.shared.deallocate(pointer, byteCount: byteCount) }
    }
}

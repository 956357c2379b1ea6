import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Keeps large freed tensor buffers for reuse.
///
/// A diffusion step allocates and frees the same large activations over and over. glibc serves blocks above
/// 32 MiB (and, once trimmed, smaller ones) straight from `mmap`, so every such allocation page-faults and zeroes
/// its pages again and every free unmaps them: in an SD1.x step at 512² that kernel work was about 12 % of the
/// time. Blocks of at least ``minimumBytes`` are rounded up to a multiple of ``granule`` and, when freed, kept in
/// a list per rounded size, up to ``limitBytes`` in all; an allocation takes back a kept block of its rounded size,
/// or else the smallest one at most a quarter larger.
/// An allocation that finds no block of its size first frees kept blocks of other sizes worth at least as many
/// bytes, so the cache does not raise peak memory: what is allocated (live plus kept) only grows when nothing is
/// kept. ``trim()`` returns every kept block to the system (call it when a prompt ends or memory is needed).
public final class StorageBlockCache: Sendable {
    /// The process-wide cache every ``TensorStorage`` allocates through.
    public static let shared = StorageBlockCache(limitBytes: StorageBlockCache.defaultLimit())

    /// Blocks smaller than this go straight to the allocator (glibc reuses them itself).
    public static let minimumBytes = 1 << 20
    /// Cached sizes are multiples of this.
    public static let granule = 1 << 16
    /// The most bytes kept while unused.
    public let limitBytes: Int

    private struct State {
        var blocks: [Int: [UnsafeMutableRawPointer]] = [:]
        var cachedBytes = 0
        /// The real size of every large block handed out (a reused block may be larger than its request).
        var outstanding: [UnsafeMutableRawPointer: Int] = [:]
    }

    /// `@unchecked`: the raw pointers are owned by the cache while listed and only handed out under the mutex.
    private struct Guarded: @unchecked Sendable { var state = State() }
    private let guarded = Mutex(Guarded())

    public init(limitBytes: Int) {
        self.limitBytes = max(0, limitBytes)
    }

    /// An eighth of physical memory, at most 4 GiB.
    static func defaultLimit() -> Int {
        let pages = sysconf(Int32(_SC_PHYS_PAGES)), pageSize = sysconf(Int32(_SC_PAGESIZE))
        guard pages > 0, pageSize > 0 else { return 1 << 30 }
        return min(4 << 30, pages * pageSize / 8)
    }

    /// The size actually allocated for a request of `byteCount` bytes.
    static func roundedSize(_ byteCount: Int) -> Int {
        let size = max(byteCount, 1)
        guard size >= minimumBytes else { return size }
        return (size + granule - 1) / granule * granule
    }

    /// A 64-byte-aligned block of at least `byteCount` bytes with unspecified contents.
    public func allocate(byteCount: Int) -> UnsafeMutableRawPointer {
        let size = Self.roundedSize(byteCount)
        if size >= Self.minimumBytes {
            let (reused, released): (UnsafeMutableRawPointer?, [UnsafeMutableRawPointer]) = guarded.withLock { g in
                // The same size, else the smallest kept block at most a quarter larger.
                let fit = g.state.blocks[size] != nil ? size
                    : g.state.blocks.keys.filter { $0 > size && $0 <= size + size / 4 }.min()
                if let fit, var list = g.state.blocks[fit], let block = list.popLast() {
                    g.state.blocks[fit] = list.isEmpty ? nil : list
                    g.state.cachedBytes -= fit
                    g.state.outstanding[block] = fit
                    return (block, [])
                }
                // A miss: give back at least as many kept bytes as the new block takes, so kept blocks never
                // raise the process's peak above what the live tensors alone reach.
                var released: [UnsafeMutableRawPointer] = []
                var freed = 0
                while freed < size, let (key, list) = g.state.blocks.first {
                    var list = list
                    while freed < size, let block = list.popLast() {
                        released.append(block)
                        freed += key
                    }
                    g.state.blocks[key] = list.isEmpty ? nil : list
                }
                g.state.cachedBytes -= freed
                return (nil, released)
            }
            if let reused { return reused }
            for block in released { block.deallocate() }
            let block = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 64)
            guarded.withLock { $0.state.outstanding[block] = size }
            return block
        }
        return UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 64)
    }

    /// Returns a block from ``allocate(byteCount:)`` (with the same `byteCount`): kept when it is large and the
    /// cache has room, freed otherwise.
    public func deallocate(_ block: UnsafeMutableRawPointer, byteCount: Int) {
        let requested = Self.roundedSize(byteCount)
        if requested >= Self.minimumBytes {
            let kept: Bool = guarded.withLock { g in
                let size = g.state.outstanding.removeValue(forKey: block) ?? requested
                guard g.state.cachedBytes + size <= limitBytes else { return false }
                g.state.blocks[size, default: []].append(block)
                g.state.cachedBytes += size
                return true
            }
            if kept { return }
        }
        block.deallocate()
    }

    /// Bytes held for reuse.
    public var cachedBytes: Int { guarded.withLock { $0.state.cachedBytes } }

    /// Frees every kept block.
    public func trim() {
        let blocks: [UnsafeMutableRawPointer] = guarded.withLock { g in
            let all = g.state.blocks.values.flatMap { $0 }
            g.state.blocks = [:]
            g.state.cachedBytes = 0
            return all
        }
        for block in blocks { block.deallocate() }
    }
}

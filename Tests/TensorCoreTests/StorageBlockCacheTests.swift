import Testing
import TensorCore

/// The reuse cache behind every tensor allocation: large blocks come back, small ones are not kept, a miss frees
/// other kept blocks first, and the limit and `trim` bound what is held.
@Suite struct StorageBlockCacheTests {
    static let mib = 1 << 20

    @Test func aFreedLargeBlockIsReusedForTheSameRoundedSize() {
        let cache = StorageBlockCache(limitBytes: 64 * Self.mib)
        let block = cache.allocate(byteCount: 3 * Self.mib + 5)
        cache.deallocate(block, byteCount: 3 * Self.mib + 5)
        #expect(cache.cachedBytes >= 3 * Self.mib + 5)
        // Any request that rounds to the same size gets the same block back.
        let again = cache.allocate(byteCount: 3 * Self.mib + 100)
        #expect(again == block)
        #expect(cache.cachedBytes == 0)
        cache.deallocate(again, byteCount: 3 * Self.mib + 100)
        cache.trim()
        #expect(cache.cachedBytes == 0)
    }

    @Test func aSlightlyLargerKeptBlockServesASmallerRequest() {
        let cache = StorageBlockCache(limitBytes: 64 * Self.mib)
        let big = cache.allocate(byteCount: 4 * Self.mib)
        cache.deallocate(big, byteCount: 4 * Self.mib)
        // 3.5 MiB fits in the kept 4 MiB block (within a quarter); it goes back to the cache at its real size.
        let reused = cache.allocate(byteCount: 7 * Self.mib / 2)
        #expect(reused == big)
        cache.deallocate(reused, byteCount: 7 * Self.mib / 2)
        #expect(cache.cachedBytes == 4 * Self.mib)
        // 2 MiB would waste half the block: a new block is allocated (and the kept one released to pay for it).
        let other = cache.allocate(byteCount: 2 * Self.mib)
        #expect(other != big || cache.cachedBytes == 0)
        #expect(cache.cachedBytes == 0)
        cache.deallocate(other, byteCount: 2 * Self.mib)
        cache.trim()
    }

    @Test func smallBlocksAreNotKept() {
        let cache = StorageBlockCache(limitBytes: 64 * Self.mib)
        let block = cache.allocate(byteCount: 4096)
        cache.deallocate(block, byteCount: 4096)
        #expect(cache.cachedBytes == 0)
    }

    @Test func aMissReleasesKeptBlocksOfOtherSizesFirst() {
        let cache = StorageBlockCache(limitBytes: 64 * Self.mib)
        let a = cache.allocate(byteCount: 2 * Self.mib), b = cache.allocate(byteCount: 2 * Self.mib)
        cache.deallocate(a, byteCount: 2 * Self.mib)
        cache.deallocate(b, byteCount: 2 * Self.mib)
        #expect(cache.cachedBytes == 4 * Self.mib)
        // 3 MiB is not kept: at least 3 MiB of kept blocks (two 2 MiB blocks) are freed before it is allocated.
        let c = cache.allocate(byteCount: 3 * Self.mib)
        #expect(cache.cachedBytes == 0)
        cache.deallocate(c, byteCount: 3 * Self.mib)
        cache.trim()
    }

    @Test func theLimitBoundsWhatIsKept() {
        let cache = StorageBlockCache(limitBytes: 5 * Self.mib)
        let blocks = (0..<4).map { _ in cache.allocate(byteCount: 2 * Self.mib) }
        for block in blocks { cache.deallocate(block, byteCount: 2 * Self.mib) }
        #expect(cache.cachedBytes == 4 * Self.mib)
        cache.trim()
        #expect(cache.cachedBytes == 0)
    }

    @Test func tensorsAllocateThroughTheSharedCache() {
        // A zero-filled tensor is zero even when its block was used before.
        do {
            var used = Tensor(uninitialized: [1 << 19])
            used.withMutableFloats { for i in $0.indices { $0[i] = 7 } }
        }
        let zeros = Tensor(zeros: [1 << 19])
        #expect(zeros.scalars.allSatisfy { $0 == 0 })
        let fresh = Tensor(uninitialized: [2, 3], dtype: .bfloat16)
        #expect(fresh.shape == [2, 3] && fresh.dtype == .bfloat16 && fresh.count == 6)
    }
}

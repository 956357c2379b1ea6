/// NumPy's `SeedSequence` (NEP 19, `numpy.random.bit_generator`), the entropy pool torchsde derives every
/// Brownian-interval seed from.
///
/// The algorithm is O'Neill's seed_seq hash: the entropy words (the run entropy, padded with zeros to the pool
/// size when a spawn key follows, then the spawn key) are hashed into a pool of `poolSize` 32-bit words, which
/// ``generateState(_:)`` then hashes out again. All arithmetic wraps modulo 2^32 as NumPy's `uint32` does.
public struct NumpySeedSequence: Sendable, Equatable {
    /// The mixed entropy pool.
    public let pool: [UInt32]

    private static let initA: UInt32 = 0x43b0_d7e5
    private static let multA: UInt32 = 0x931e_8875
    private static let initB: UInt32 = 0x8b51_f9dd
    private static let multB: UInt32 = 0x58f3_8ded
    private static let mixMultL: UInt32 = 0xca01_f9dd
    private static let mixMultR: UInt32 = 0x4973_f715
    private static let xShift: UInt32 = 16

    /// `SeedSequence(entropy=entropy, spawn_key=spawnKey, pool_size=poolSize)`.
    ///
    /// - Parameters:
    ///   - entropy: the seed as its little-endian 32-bit words (see ``words(of:)``); a Python int is split
    ///     into as many words as it needs, 0 being one zero word.
    ///   - spawnKey: the spawn key, each element split into words the same way and concatenated.
    ///   - poolSize: the pool size in words (NumPy's default is 4).
    public init(entropy: [UInt32], spawnKey: [UInt64] = [], poolSize: Int = 4) {
        precondition(poolSize > 0, "SeedSequence: pool size must be positive")
        var assembled = entropy
        let spawnWords = spawnKey.flatMap(NumpySeedSequence.words(of:))
        if !spawnWords.isEmpty && assembled.count < poolSize {
            // NumPy ≥ 1.19 pads the run entropy so that spawn keys cannot collide with longer entropy.
            assembled += [UInt32](repeating: 0, count: poolSize - assembled.count)
        }
        assembled += spawnWords
        pool = NumpySeedSequence.mixEntropy(assembled, poolSize: poolSize)
    }

    /// `SeedSequence(entropy=seed, spawn_key=spawnKey, pool_size=poolSize)` for a non-negative integer seed.
    public init(entropy seed: UInt64, spawnKey: [UInt64] = [], poolSize: Int = 4) {
        self.init(entropy: NumpySeedSequence.words(of: seed), spawnKey: spawnKey, poolSize: poolSize)
    }

    /// NumPy's conversion of a non-negative integer to 32-bit words, least significant first (0 → `[0]`).
    public static func words(of value: UInt64) -> [UInt32] {
        if value == 0 { return [0] }
        var words: [UInt32] = []
        var rest = value
        while rest > 0 {
            words.append(UInt32(truncatingIfNeeded: rest))
            rest >>= 32
        }
        return words
    }

    /// `generate_state(count)` with the default `uint32` dtype.
    public func generateState(_ count: Int) -> [UInt32] {
        var hashConst = NumpySeedSequence.initB
        var state: [UInt32] = []
        state.reserveCapacity(count)
        for i in 0..<count {
            var value = pool[i % pool.count]
            value ^= hashConst
            hashConst = hashConst &* NumpySeedSequence.multB
            value = value &* hashConst
            value ^= value >> NumpySeedSequence.xShift
            state.append(value)
        }
        return state
    }

    private static func hashMix(_ value: UInt32, _ hashConst: inout UInt32) -> UInt32 {
        var value = value ^ hashConst
        hashConst = hashConst &* multA
        value = value &* hashConst
        value ^= value >> xShift
        return value
    }

    private static func mix(_ x: UInt32, _ y: UInt32) -> UInt32 {
        var result = (mixMultL &* x) &- (mixMultR &* y)
        result ^= result >> xShift
        return result
    }

    private static func mixEntropy(_ entropy: [UInt32], poolSize: Int) -> [UInt32] {
        var hashConst = initA
        var mixer = [UInt32](repeating: 0, count: poolSize)
        for i in 0..<poolSize {
            mixer[i] = hashMix(i < entropy.count ? entropy[i] : 0, &hashConst)
        }
        // Every word influences every other, so late entropy reaches early words.
        for source in 0..<poolSize {
            for destination in 0..<poolSize where source != destination {
                mixer[destination] = mix(mixer[destination], hashMix(mixer[source], &hashConst))
            }
        }
        // Entropy beyond the pool size is folded into every word.
        if entropy.count > poolSize {
            for source in poolSize..<entropy.count {
                for destination in 0..<poolSize {
                    mixer[destination] = mix(mixer[destination], hashMix(entropy[source], &hashConst))
                }
            }
        }
        return mixer
    }
}

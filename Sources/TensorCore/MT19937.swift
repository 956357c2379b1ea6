/// The 32-bit Mersenne Twister MT19937.
///
/// Algorithm: M. Matsumoto and T. Nishimura, "Mersenne Twister: a 623-dimensionally equidistributed uniform
/// pseudo-random number generator", ACM TOMACS 8(1), 1998 (n = 624, m = 397, matrix 0x9908B0DF, the standard
/// tempering), seeded with the paper authors' `init_genrand` recurrence. This is the engine inside torch's CPU
/// generator: the first output is the first word after one full regeneration of the freshly seeded state.
public struct MT19937: Sendable, Equatable {
    static let n = 624
    static let m = 397

    private var state: [UInt32]
    /// Index of the next state word to temper and hand out; `n` means "regenerate first".
    private var index: Int

    /// Seeds the state with `init_genrand(seed)`.
    public init(seed: UInt32) {
        var state = [UInt32](repeating: 0, count: Self.n)
        state[0] = seed
        for i in 1..<Self.n {
            let previous = state[i - 1]
            state[i] = 1_812_433_253 &* (previous ^ (previous >> 30)) &+ UInt32(i)
        }
        self.state = state
        self.index = Self.n
    }

    /// The next 32-bit output.
    public mutating func next() -> UInt32 {
        var value: UInt32 = 0
        fill(count: 1) { _, word in value = word }
        return value
    }

    /// Fills `output` with the next `output.count` outputs, in stream order.
    public mutating func fill(_ output: UnsafeMutableBufferPointer<UInt32>) {
        fill(count: output.count) { offset, word in output[offset] = word }
    }

    /// Hands the next `count` tempered outputs to `body(offset, word)`, in order; the hot loop of the generator.
    @inline(__always)
    mutating func fill(count: Int, _ body: (Int, UInt32) -> Void) {
        var produced = 0
        var index = self.index
        state.withUnsafeMutableBufferPointer { mt in
            while produced < count {
                if index == Self.n {
                    Self.regenerate(mt)
                    index = 0
                }
                let chunk = min(Self.n - index, count - produced)
                for k in 0..<chunk {
                    var y = mt[index + k]
                    y ^= y >> 11
                    y ^= (y << 7) & 0x9D2C_5680
                    y ^= (y << 15) & 0xEFC6_0000
                    y ^= y >> 18
                    body(produced + k, y)
                }
                index += chunk
                produced += chunk
            }
        }
        self.index = index
    }

    /// Advances all 624 words of the state (the "twist").
    @inline(__always)
    private static func regenerate(_ mt: UnsafeMutableBufferPointer<UInt32>) {
        @inline(__always) func twist(_ upper: UInt32, _ lower: UInt32, _ far: UInt32) -> UInt32 {
            let y = (upper & 0x8000_0000) | (lower & 0x7FFF_FFFF)
            return far ^ (y >> 1) ^ ((y & 1) &* 0x9908_B0DF)
        }
        for i in 0..<(n - m) { mt[i] = twist(mt[i], mt[i + 1], mt[i + m]) }
        for i in (n - m)..<(n - 1) { mt[i] = twist(mt[i], mt[i + 1], mt[i + m - n]) }
        mt[n - 1] = twist(mt[n - 1], mt[0], mt[m - 1])
    }
}

import Testing
import Workflow
@testable import TensorCore

@Suite("TorchGenerator: torch's CPU randn, bit for bit")
struct TorchGeneratorTests {
    @Test("MT19937 first outputs")
    func mersenneTwister() throws {
        let fixture = try TorchRandnFixture.load()
        let table = try #require(fixture["mt19937_first8_u32"]?.objectValue)
        for seed in ["0", "42", "5489"] {
            var generator = TorchGenerator(seed: UInt64(seed)!)
            let expected = try #require(table[seed]?.arrayValue).compactMap(\.int64Value)
            #expect((0..<8).map { _ in Int64(generator.random()) } == expected, "seed \(seed)")
        }
    }

    @Test("float32 uniforms are the low 24 bits times 2^-24")
    func uniforms() throws {
        let fixture = try TorchRandnFixture.load()
        let table = try #require(fixture["uniform_f32_first8"]?.objectValue)
        for seed in ["0", "42"] {
            var engine = MT19937(seed: UInt32(seed)!)
            let actual = (0..<8).map { _ in TorchRandnFixture.hex8((Float(engine.next() & 0xFF_FFFF) * 0x1p-24).bitPattern) }
            let expected = try #require(table[seed]?.arrayValue).compactMap(\.stringValue)
            #expect(actual == expected, "seed \(seed)")
        }
    }

    @Test("every fixture case, both kernels", arguments: TorchGenerator.Kernel.allCases)
    func fixtureCases(kernel: TorchGenerator.Kernel) throws {
        let fixture = try TorchRandnFixture.load()
        let cases = try #require(fixture["cases"]?.arrayValue)
        #expect(cases.count >= 17)
        var checked = 0
        for record in cases {
            let seed = try TorchRandnFixture.seed(record["seed"])
            let shape = try #require(TorchRandnFixture.ints(record["shape"]))
            let count = shape.reduce(1, *)
            // Below 16 elements both kernels take the same double-precision path (recorded under "avx2" only).
            let key = kernel == .avx2 || count < 16 ? "avx2" : "scalar_libm"
            var generator = TorchGenerator(seed: seed, kernel: kernel)
            try TorchRandnFixture.check(generator.randn(count: count), against: record[key],
                                        "seed \(seed) shape \(shape) kernel \(kernel)")
            checked += 1
        }
        #expect(checked == cases.count)
    }

    @Test("a sequence of calls on one generator (cache and tails carry over)")
    func callSequence() throws {
        let fixture = try TorchRandnFixture.load()
        let sequence = try #require(fixture["sequence_seed5"]?.arrayValue)
        #expect(sequence.count == 10)
        var generator = TorchGenerator(seed: 5)
        for (step, record) in sequence.enumerated() {
            let shape = try #require(TorchRandnFixture.ints(record["shape"]))
            try TorchRandnFixture.check(generator.randn(count: shape.reduce(1, *)), against: record["avx2"],
                                        "call \(step) shape \(shape)")
        }
    }

    @Test("seeds wrap: only seed mod 2^32 matters, negative Int64 seeds wrap mod 2^64")
    func seedWrapping() {
        var a = TorchGenerator(seed: 5)
        var b = TorchGenerator(seed: (1 << 32) + 5)
        #expect(a.randn(count: 40) == b.randn(count: 40))
        var minusOne = TorchGenerator(seed: Int64(-1))
        var max = TorchGenerator(seed: UInt64.max)
        #expect(minusOne.seed == UInt64.max)
        #expect(minusOne.randn(count: 20) == max.randn(count: 20))
    }

    @Test("manualSeed resets the stream and clears the cached normal")
    func manualSeedClearsCache() {
        var generator = TorchGenerator(seed: 3)
        let first = generator.randn(count: 3)  // leaves one value cached
        generator.manualSeed(3)
        #expect(generator.randn(count: 3) == first)
        generator.manualSeed(Int64(3))
        #expect(generator.randn(count: 1) == [first[0]])
    }

    @Test("the ≥16 path neither uses nor clears the cached normal")
    func blockPathKeepsCache() {
        var withBlock = TorchGenerator(seed: 11)
        var withoutBlock = TorchGenerator(seed: 11)
        _ = withBlock.randn(count: 1)
        _ = withoutBlock.randn(count: 1)
        _ = withBlock.randn(count: 32)  // consumes 32 MT outputs, keeps the cache
        // The cached value comes next in both.
        #expect(withBlock.randn(count: 1) == withoutBlock.randn(count: 1))
    }

    @Test("randn(into:) equals randn(count:), across lengths around the tail rule", arguments: [16, 17, 31, 33, 624, 1000])
    func intoBuffer(count: Int) {
        var a = TorchGenerator(seed: 9)
        var b = TorchGenerator(seed: 9)
        var buffer = [Float](repeating: .nan, count: count)
        buffer.withUnsafeMutableBufferPointer { a.randn(into: $0) }
        #expect(buffer == b.randn(count: count))
        #expect(a == b)
    }

    @Test("a 17-element tensor is not a prefix of the 32-element one; the tail draws 16 more")
    func tailRule() {
        var short = TorchGenerator(seed: 0)
        var long = TorchGenerator(seed: 0)
        let seventeen = short.randn(count: 17)
        let thirtyTwo = long.randn(count: 32)
        #expect(seventeen[0] == thirtyTwo[0])
        #expect(Array(seventeen[1...]) != Array(thirtyTwo[1..<17]))
        // 17 elements consume 17 + 16 = 33 outputs, 32 elements consume 32.
        _ = long.random()
        #expect(short.random() == long.random())
    }
}

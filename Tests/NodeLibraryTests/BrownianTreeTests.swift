import Diffusion
import Foundation
import TensorCore
import Testing

/// Golden values made by real torch 2.9.1 + torchsde 0.2.6 + NumPy (see Fixtures/brownian/README.md).
private enum BrownianGoldens {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/brownian")

    static func load<T: Decodable>(_ name: String, as type: T.Type) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(contentsOf: directory.appendingPathComponent(name)))
    }

    struct Summary: Decodable {
        var head_f32_hex: [String]
        var tail_f32_hex: [String]
        var fsum: Double
        var abs_fsum: Double
        var bits_sum_mod_2_32: UInt32
    }

    struct SeedSequenceFile: Decodable {
        struct Case: Decodable {
            var entropy: String
            var spawn_key: [String]
            var pool_size: Int
            var state: [UInt32]
        }
        var cases: [Case]
    }

    struct RoundFile: Decodable {
        struct Case: Decodable {
            var x: String
            var round6: String
        }
        var cases: [Case]
    }

    struct Query: Decodable {
        var sigma: String
        var sigma_next: String
        /// ComfyUI's `BatchedBrownianTree(sigma, sigma_next)`: the signed increment before normalising.
        var increment: Summary
        /// torch's `(sigma_next - sigma).abs().sqrt()`.
        var scale: String
        var noise: Summary
    }

    struct NoiseFile: Decodable {
        struct Case: Decodable {
            var seed: String
            var shape: [Int]
            var schedule: String
            var sigmas_f32_hex: [String]
            var queries: [Query]
        }
        var cases: [Case]
    }

    struct TrajectoryFile: Decodable {
        struct Step: Decodable {
            var step: Int
            var x: Summary
        }
        struct Options: Decodable {
            var eta: Float?
            var s_noise: Float?
            var solver_type: String?
        }
        struct Case: Decodable {
            var sampler: String
            var options: Options
            var seed: String
            var shape: [Int]
            var schedule: String
            var sigmas_f32_hex: [String]
            var steps: [Step]
            var noise_draws: [Query]
            var output: Summary
        }
        var cases: [Case]
    }

    static func float(_ hex: String) -> Float { Float(bitPattern: UInt32(hex, radix: 16)!) }
    static func double(_ hex: String) -> Double { Double(bitPattern: UInt64(hex, radix: 16)!) }
    static func hex(_ value: Float) -> String {
        let digits = String(value.bitPattern, radix: 16)
        return String(repeating: "0", count: 8 - digits.count) + digits
    }

    /// Exact comparison of a draw with its summary: leading and trailing bit patterns, the wrapping sum of all bit
    /// patterns and the exact sum.
    static func matchesExactly(_ values: [Float], _ summary: Summary) -> Bool {
        let head = values.prefix(summary.head_f32_hex.count).map(hex)
        let tail = values.suffix(summary.tail_f32_hex.count).map(hex)
        let bits = values.reduce(UInt32(0)) { $0 &+ $1.bitPattern }
        return head == summary.head_f32_hex && tail == summary.tail_f32_hex && bits == summary.bits_sum_mod_2_32
            && abs(exactSum(values) - summary.fsum) <= 1e-9 * max(1, summary.abs_fsum)
    }

    static func exactSum(_ values: [Float]) -> Double {
        // Kahan–Babuška in double: ample for comparing with Python's fsum over a few hundred floats.
        var sum = 0.0, compensation = 0.0
        for v in values.map(Double.init) {
            let t = sum + v
            compensation += abs(sum) >= abs(v) ? (sum - t) + v : (v - t) + sum
            sum = t
        }
        return sum + compensation
    }

    /// Checks one draw: the increment bit for bit, its normalisation by torch's square root bit for bit, and the
    /// sampler's own draw (correctly rounded square root) within 1 ulp of torch's scale.
    static func checkDraw(_ sampler: inout BrownianTreeNoiseSampler, _ query: Query, _ label: String) {
        let sigma = float(query.sigma), sigmaNext = float(query.sigma_next)
        let increment = sampler.increment(sigma, sigmaNext)
        #expect(matchesExactly(increment, query.increment), "\(label): increment")
        let torchScale = float(query.scale)
        #expect(matchesExactly(BrownianTreeNoiseSampler.normalise(increment, scale: torchScale), query.noise),
                "\(label): normalised with torch's scale")
        let ownScale = (sigmaNext - sigma).magnitude.squareRoot()
        #expect(abs(Int64(ownScale.bitPattern) - Int64(torchScale.bitPattern)) <= 1, "\(label): scale")
        let noise = sampler(sigma, sigmaNext)
        let expectedHead = query.noise.head_f32_hex.map(float)
        for (value, expected) in zip(noise, expectedHead) {
            #expect(abs(value - expected) <= 2.5 * expected.ulp, "\(label): noise \(value) vs \(expected)")
        }
    }

    /// Largest absolute difference between the leading values and the summary's, relative to the data's scale.
    static func closeness(_ values: [Float], _ summary: Summary) -> (head: Float, sum: Double) {
        let expected = summary.head_f32_hex.map(float)
        let headError = zip(values, expected).map { abs($0 - $1) }.max() ?? 0
        let scale = summary.abs_fsum / Double(max(values.count, 1))
        let sumError = abs(exactSum(values) - summary.fsum) / Double(max(values.count, 1)) / max(scale, 1e-12)
        return (headError, sumError)
    }
}

@Suite("Brownian-tree noise (torchsde BrownianTree) and SDE samplers")
struct BrownianTreeTests {
    @Test func seedSequenceMatchesNumPy() throws {
        let file = try BrownianGoldens.load("seed_sequence.json", as: BrownianGoldens.SeedSequenceFile.self)
        #expect(file.cases.count > 40)
        for testCase in file.cases {
            let sequence = NumpySeedSequence(entropy: UInt64(testCase.entropy)!,
                                             spawnKey: testCase.spawn_key.map { UInt64($0)! },
                                             poolSize: testCase.pool_size)
            #expect(sequence.generateState(testCase.state.count) == testCase.state,
                    "entropy \(testCase.entropy) spawn key \(testCase.spawn_key) pool \(testCase.pool_size)")
        }
    }

    @Test func timeRoundingMatchesPythonRound() throws {
        let file = try BrownianGoldens.load("python_round.json", as: BrownianGoldens.RoundFile.self)
        #expect(file.cases.count > 50)
        for testCase in file.cases {
            let x = BrownianGoldens.double(testCase.x)
            let expected = BrownianGoldens.double(testCase.round6)
            let got = BrownianTree.pythonRound(x, digits: 6)
            #expect(got.bitPattern == expected.bitPattern, "round(\(x), 6): \(got) vs \(expected)")
        }
    }

    /// ComfyUI's noise sampler for several seeds, shapes and schedules, including repeated, reversed and
    /// out-of-order queries: the Brownian increments bit for bit, and the normalised draws bit for bit given torch's
    /// square root (within an ulp with Loom's own, correctly rounded one).
    @Test func brownianIncrementsMatchTorchsdeBitForBit() throws {
        let file = try BrownianGoldens.load("noise.json", as: BrownianGoldens.NoiseFile.self)
        #expect(file.cases.count >= 4)
        for testCase in file.cases {
            let sigmas = testCase.sigmas_f32_hex.map(BrownianGoldens.float)
            var sampler = try #require(BrownianTreeNoiseSampler(sigmas: sigmas, shape: testCase.shape,
                                                                seed: UInt64(testCase.seed)!))
            for (index, query) in testCase.queries.enumerated() {
                BrownianGoldens.checkDraw(&sampler, query, "seed \(testCase.seed) \(testCase.schedule) query \(index)")
            }
            #expect(sampler.count == testCase.shape.reduce(1, *))
        }
    }

    /// A latent of 16384 elements (drawn with the parallel prefetch) starts with the same values as the golden
    /// 256-element one: torch's `randn` of n·16 values is a prefix of a longer draw and all tree arithmetic is
    /// elementwise.
    @Test func largeLatentsContinueTheSameStream() throws {
        let file = try BrownianGoldens.load("noise.json", as: BrownianGoldens.NoiseFile.self)
        let testCase = try #require(file.cases.first { $0.shape == [1, 4, 8, 8] })
        let sigmas = testCase.sigmas_f32_hex.map(BrownianGoldens.float)
        var sampler = try #require(BrownianTreeNoiseSampler(sigmas: sigmas, shape: [1, 4, 64, 64],
                                                            seed: UInt64(testCase.seed)!))
        for (index, query) in testCase.queries.enumerated() {
            let increment = sampler.increment(BrownianGoldens.float(query.sigma), BrownianGoldens.float(query.sigma_next))
            #expect(increment.count == 16384)
            #expect(increment.prefix(query.increment.head_f32_hex.count).map(BrownianGoldens.hex)
                    == query.increment.head_f32_hex, "query \(index)")
        }
    }

    /// Whole sampler runs with the analytic denoiser `x / (σ² + 1)`: every Brownian draw exact for the sigmas
    /// ComfyUI queried, and the trajectory within float32 rounding of ComfyUI's.
    @Test(arguments: ["dpmpp_sde", "dpmpp_2m_sde", "dpmpp_3m_sde"])
    func samplerTrajectoriesMatchComfyUI(_ sampler: String) throws {
        let file = try BrownianGoldens.load("trajectories.json", as: BrownianGoldens.TrajectoryFile.self)
        let cases = file.cases.filter { $0.sampler == sampler }
        #expect(cases.count >= 3)
        for testCase in cases {
            let sigmas = testCase.sigmas_f32_hex.map(BrownianGoldens.float)
            let seed = UInt64(testCase.seed)!
            let label = "\(sampler) \(testCase.options) seed \(seed) \(testCase.schedule)"

            // The draws, replayed with the sigmas ComfyUI passed.
            var noise = try #require(BrownianTreeNoiseSampler(sigmas: sigmas, shape: testCase.shape, seed: seed))
            for (index, draw) in testCase.noise_draws.enumerated() {
                BrownianGoldens.checkDraw(&noise, draw, "\(label) draw \(index)")
            }

            // The sampler itself, from ComfyUI's initial noise scaled by sigma 0.
            let initial = ComfyNoise.prepareNoise(shape: testCase.shape, seed: seed, batchIndex: nil)
            let x = Tensor(shape: testCase.shape, scalars: initial.map { $0 * sigmas[0] })
            var seen: [(Int, [Float])] = []
            let denoise: (Tensor, Float) throws -> Tensor = { x, sigma in
                let divisor = sigma * sigma + 1
                return Tensor(shape: x.shape, scalars: x.scalars.map { $0 / divisor })
            }
            let callback: (Int, Int, Tensor, Tensor) throws -> Void = { step, total, x, denoised in
                #expect(total == sigmas.count - 1)
                #expect(denoised.shape == x.shape)
                seen.append((step, x.scalars))
            }
            let eta = testCase.options.eta ?? 1, sNoise = testCase.options.s_noise ?? 1
            let output: Tensor
            switch sampler {
            case "dpmpp_sde":
                output = try sampleDPMPPSDE(denoise: denoise, x: x, sigmas: sigmas, seed: seed, eta: eta,
                                            sNoise: sNoise, callback: callback)
            case "dpmpp_2m_sde":
                let solver = try #require(DPMSolverSDEType(rawValue: testCase.options.solver_type ?? "midpoint"))
                output = try sampleDPMPP2MSDE(denoise: denoise, x: x, sigmas: sigmas, seed: seed, eta: eta,
                                              sNoise: sNoise, solverType: solver, callback: callback)
            default:
                output = try sampleDPMPP3MSDE(denoise: denoise, x: x, sigmas: sigmas, seed: seed, eta: eta,
                                              sNoise: sNoise, callback: callback)
            }
            #expect(output.shape == testCase.shape)
            #expect(seen.map(\.0) == testCase.steps.map(\.step))
            for ((step, xs), expected) in zip(seen, testCase.steps) {
                let xError = BrownianGoldens.closeness(xs, expected.x)
                #expect(xError.head < 2e-5 && xError.sum < 1e-6, "\(label) step \(step) x: \(xError)")
            }
            let outError = BrownianGoldens.closeness(output.scalars, testCase.output)
            #expect(outError.head < 2e-5 && outError.sum < 1e-6, "\(label) output: \(outError)")
        }
    }

    // MARK: Structural properties

    @Test func sameQueryGivesTheSameValueInAnyOrder() {
        let sigmas: [Float] = [14.6, 7.1, 3.2, 1.4, 0.6, 0.2, 0.03, 0]
        let shape = [1, 4, 8, 8]
        var forward = BrownianTreeNoiseSampler(sigmas: sigmas, shape: shape, seed: 7)!
        var backward = BrownianTreeNoiseSampler(sigmas: sigmas, shape: shape, seed: 7)!
        let steps = Array(zip(sigmas.dropLast(2), sigmas.dropFirst().dropLast()))
        let inOrder = steps.map { forward($0.0, $0.1) }
        let reversed = steps.reversed().map { backward($0.0, $0.1) }.reversed()
        for (a, b) in zip(inOrder, reversed) { #expect(a == b) }
        #expect(forward(steps[2].0, steps[2].1) == inOrder[2])
        var other = BrownianTreeNoiseSampler(sigmas: sigmas, shape: shape, seed: 8)!
        #expect(other(steps[0].0, steps[0].1) != inOrder[0])
    }

    @Test func reversedQueryNegatesTheIncrement() {
        var tree = BrownianTreeNoiseSampler(sigmas: [10, 2, 0.1, 0], shape: [64], seed: 3)!
        let down = tree(10, 2)
        let up = tree(2, 10)
        #expect(down == up.map { -$0 })
    }

    /// Increments over adjacent intervals add up to the increment over their union (the bridge is consistent).
    @Test func incrementsAreAdditive() {
        var tree = BrownianTree(t0: 0.03, t1: 14.6, count: 256, entropy: 11)
        let whole = tree.increment(from: 0.5, to: 9)
        let first = tree.increment(from: 0.5, to: 3.25)
        let second = tree.increment(from: 3.25, to: 9)
        let error = zip(whole, zip(first, second)).map { abs($0 - ($1.0 + $1.1)) }.max()!
        #expect(error < 1e-5)
        let total = tree.increment(from: 0.03, to: 14.6)
        let pieces = [(0.03, 1.0), (1.0, 1.5), (1.5, 14.6)].map { tree.increment(from: $0.0, to: $0.1) }
        let sum = (0..<256).map { i in pieces.reduce(Float(0)) { $0 + $1[i] } }
        #expect(zip(total, sum).map { abs($0 - $1) }.max()! < 1e-5)
    }

    /// Normalised increments are standard normal at every scale (mean ≈ 0, variance ≈ 1 over many elements).
    @Test func normalisedIncrementsHaveUnitVariance() {
        var sampler = BrownianTreeNoiseSampler(sigmaMin: 0.0292, sigmaMax: 14.6, shape: [16384], seed: 5)
        for (a, b) in [(Float(14.6), Float(14.0)), (2.0, 1.9), (0.2, 0.19999), (0.05, 0.0292)] {
            let noise = sampler(a, b)
            let mean = noise.reduce(0, +) / Float(noise.count)
            let variance = noise.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(noise.count)
            #expect(abs(mean) < 0.05, "mean \(mean) for [\(b), \(a)]")
            #expect(abs(variance - 1) < 0.05, "variance \(variance) for [\(b), \(a)]")
        }
    }

    @Test func eachSamplerIsDeterministicAndUsesItsSeed() throws {
        let sigmas: [Float] = [14.614643, 3.1686049, 0.44691858, 0.029167177, 0]
        let x = Tensor(shape: [1, 4, 4, 4], scalars: ComfyNoise.prepareNoise(shape: [1, 4, 4, 4], seed: 1, batchIndex: nil))
        let denoise: (Tensor, Float) throws -> Tensor = { x, _ in Tensor(shape: x.shape, scalars: x.scalars.map { $0 * 0.5 }) }
        for run in [
            { (seed: UInt64) in try sampleDPMPPSDE(denoise: denoise, x: x, sigmas: sigmas, seed: seed) },
            { (seed: UInt64) in try sampleDPMPP2MSDE(denoise: denoise, x: x, sigmas: sigmas, seed: seed, solverType: .heun) },
            { (seed: UInt64) in try sampleDPMPP3MSDE(denoise: denoise, x: x, sigmas: sigmas, seed: seed) },
        ] {
            let a = try run(1), b = try run(1), c = try run(2)
            #expect(a.scalars == b.scalars)
            #expect(a.scalars != c.scalars)
        }
        // Without noise the SDE sampler is deterministic in the seed.
        let quiet1 = try sampleDPMPP2MSDE(denoise: denoise, x: x, sigmas: sigmas, seed: 1, eta: 0)
        let quiet2 = try sampleDPMPP2MSDE(denoise: denoise, x: x, sigmas: sigmas, seed: 2, eta: 0)
        #expect(quiet1.scalars == quiet2.scalars)
    }
}

import Checkpoints
import Foundation
import LoomTestSupport
import Models
import TensorCore
import TensorCPU
import TensorNN
import Testing

/// SD1.x UNet parity with ComfyUI 0.3.64 on the reduced seed-0 checkpoint (recipe:
/// ../shared/fixtures/comfy_sd15_components_s0/manifest.json "unet": the raw UNet output for the input
/// `x/sqrt(σ²+1)` at `timestep(σ)`). Tolerance: max|Δ| / max|ref| ≤ 1e-3.
@Suite("SD1 UNet", .serialized)
struct SD1UNetTests {
    static let tolerance: Float = 1e-3

    /// The reduced checkpoint's UNet, loaded once (f16 in the file, converted to f32 at load).
    static let reduced = Result { () throws -> SD1UNet in
        let checkpoint = try SafetensorsFile(path: try ModelFixtures.reduced())
        return try SD1UNet(checkpoint: checkpoint, configuration: try detectedConfiguration(checkpoint))
    }

    static func detectedConfiguration(_ checkpoint: SafetensorsFile) throws -> SD1UNetConfiguration {
        try #require(try SD1UNetConfiguration.detect(in: StateDictShapes(checkpoint), prefix: SD1UNet.checkpointPrefix))
            .configuration
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var folder: String
        var shape: [Int]
        var sigma: Float
        var timestep: Float
        var testDescription: String { "\(folder) σ=\(sigma) t=\(Int(timestep))" }
    }

    /// The eight cases of the manifest (1×4×8×8 and 2×4×32×32 at four sigmas).
    static let cases: [Case] = {
        let manifest = ModelFixtures.components.appendingPathComponent("manifest.json")
        guard let data = try? Data(contentsOf: manifest),
              let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let unet = root["unet"] as? [String: Any], let cases = unet["cases"] as? [[String: Any]] else { return [] }
        return cases.compactMap { entry in
            guard let shape = entry["shape"] as? [Int], let sigma = (entry["sigma"] as? NSNumber)?.floatValue,
                  let timestep = (entry["timestep"] as? NSNumber)?.floatValue,
                  let x = entry["x"] as? [String: Any], let file = x["file"] as? String else { return nil }
            return Case(folder: (file as NSString).deletingLastPathComponent, shape: shape, sigma: sigma, timestep: timestep)
        }
    }()

    static func golden(_ path: String) throws -> Tensor {
        let array = try NumpyArray(contentsOf: ModelFixtures.components.appendingPathComponent(path).path)
        return Tensor(shape: array.shape, scalars: array.values)
    }

    /// `context[1, L, D]` repeated to `batch` rows (ComfyUI's `repeat_to_batch_size`).
    static func repeated(_ context: Tensor, batch: Int) -> Tensor {
        Tensor.concatenated([Tensor](repeating: context, count: batch), dim: 0)
    }

    @Test("the manifest lists the eight UNet cases")
    func manifestCases() {
        #expect(Self.cases.count == 8)
        #expect(Set(Self.cases.map(\.shape)) == [[1, 4, 8, 8], [2, 4, 32, 32]])
    }

    @Test("ε for the positive and negative context matches ComfyUI's goldens", arguments: cases)
    func parity(_ c: Case) throws {
        let unet = try Self.reduced.get()
        let backend = try testBackend()
        let x = try Self.golden(c.folder + "/x.npy")
        #expect(x.shape == c.shape)
        let scale = 1 / (c.sigma * c.sigma + 1).squareRoot()
        let input = backend.affine(x, scale: scale, shift: 0)
        let timesteps = [Float](repeating: c.timestep, count: c.shape[0])
        for prompt in ["positive", "negative"] {
            let context = Self.repeated(try Self.golden("unet/context_\(prompt).npy"), batch: c.shape[0])
            let start = ContinuousClock.now
            let eps = unet(input, timesteps: timesteps, context: context, backend: backend)
            let elapsed = ContinuousClock.now - start
            let reference = try Self.golden(c.folder + "/eps_\(prompt).npy")
            #expect(eps.shape == reference.shape)
            let scaleRef = reference.scalars.reduce(0) { max($0, abs($1)) }
            let difference = zip(eps.scalars, reference.scalars).reduce(0) { max($0, abs($1.0 - $1.1)) }
            let relative = difference / scaleRef
            print("SD1 UNet parity \(c.testDescription) \(prompt): max|Δ| = \(difference), relative \(relative), "
                + "one call \(c.shape) on the reduced model: \(elapsed)")
            #expect(relative <= Self.tolerance, "max|Δ|/max|ref| = \(relative)")
        }
    }

    @Test("one 2×4×32×32 call on the reduced model (timing, printed)")
    func timing() throws {
        let unet = try Self.reduced.get()
        let backend = try testBackend()
        let x = Tensor(shape: [2, 4, 32, 32], scalars: (0..<(2 * 4 * 32 * 32)).map { Float(($0 * 7919) % 1000) / 500 - 1 })
        let context = Self.repeated(try Self.golden("unet/context_positive.npy"), batch: 2)
        _ = unet(x, timesteps: [500, 500], context: context, backend: backend)  // warm-up
        var runs: [Duration] = []
        for _ in 0..<3 {
            let start = ContinuousClock.now
            let eps = unet(x, timesteps: [500, 500], context: context, backend: backend)
            runs.append(ContinuousClock.now - start)
            #expect(eps.shape == [2, 4, 32, 32])
        }
        runs.sort()
        print("SD1 UNet timing (\(type(of: backend))): reduced model, 2×4×32×32: median \(runs[1]), min \(runs[0]) "
            + "(\(unet.parameterCount) parameters)")
    }

    @Test("loading the reduced and tiny checkpoints reads every UNet key, weights in float32")
    func loadReports() throws {
        for path in [try ModelFixtures.reduced(), try ModelFixtures.tiny()] {
            let checkpoint = try SafetensorsFile(path: path)
            let configuration = try Self.detectedConfiguration(checkpoint)
            let unet = try SD1UNet(checkpoint: checkpoint, configuration: configuration)
            #expect(unet.loadReport.isClean, "\(unet.loadReport.summary())")
            #expect(unet.loadReport.loaded == configuration.expectedKeys().count)
            #expect(unet.loadReport.ignored.isEmpty)
            #expect(unet.parameters.values.allSatisfy { $0.dtype == .float32 })
            #expect(Set(unet.parameters.keys.map { SD1UNet.checkpointPrefix + $0 }) == Set(configuration.expectedKeys().keys))
            print("SD1 UNet load \(URL(fileURLWithPath: path).lastPathComponent): \(unet.loadReport.summary()), "
                + "\(configuration.channelMult)×\(configuration.numResBlocks)")
        }
    }

    /// Shapes the configuration can describe, beyond the checkpoint variants.
    static let shapes: [SD1UNetConfiguration] = [
        .sd15,
        SD1UNetConfiguration(modelChannels: 64, channelMult: [1, 2, 2], numResBlocks: [2, 1, 1],
                             transformerDepth: [1, 0, 2, 0], transformerDepthOutput: [0, 1, 0, 1, 2, 0, 1],
                             transformerDepthMiddle: 2, contextDim: 24, numHeads: -1, numHeadChannels: 16,
                             useLinearInTransformer: true),
        SD1UNetConfiguration(modelChannels: 32, channelMult: [1, 3], numResBlocks: [1, 1], transformerDepth: [0, 1],
                             transformerDepthOutput: [0, 0, 1, 1], transformerDepthMiddle: -1, contextDim: 16),
        SD1UNetConfiguration(modelChannels: 32, channelMult: [1], numResBlocks: [1], transformerDepth: [1],
                             transformerDepthOutput: [1, 1], transformerDepthMiddle: -2, contextDim: 16, numHeads: 4),
    ]

    @Test("the module reads exactly the keys and shapes of expectedKeys", arguments: shapes.indices)
    func keysMatchConfiguration(_ index: Int) throws {
        let configuration = Self.shapes[index]
        // Zero-stride placeholders: one float per tensor, so the full model's table costs nothing.
        let source = configuration.expectedKeys().mapValues { Tensor(zeros: $0.map { _ in 1 }).expanded(to: $0) }
        let loader = ParameterLoader(source: source, prefix: SD1UNet.checkpointPrefix)
        let unet = try SD1UNet(loader: loader, configuration: configuration)
        #expect(unet.loadReport.isClean, "\(unet.loadReport.summary())")
        #expect(unet.loadReport.loaded == source.count)
        #expect(unet.parameters.mapValues(\.shape) == Dictionary(uniqueKeysWithValues: source.map {
            (String($0.key.dropFirst(SD1UNet.checkpointPrefix.count)), $0.value.shape)
        }))
    }

    @Test("a custom shape from an f16 file runs odd latent sizes, batched rows equal single calls, CPU = reference")
    func customShape() throws {
        let configuration = Self.shapes[1]
        let path = try RandomCheckpoint.write(configuration.expectedKeys(), seed: 7)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let unet = try SD1UNet(checkpoint: try SafetensorsFile(path: path), configuration: configuration)
        #expect(unet.loadReport.isClean)
        #expect(unet.parameters.values.allSatisfy { $0.dtype == .float32 })
        let backend = try testBackend()

        for (height, width) in [(9, 7), (8, 9), (5, 5)] {
            let x = RandomCheckpoint.tensor([2, 4, height, width], seed: UInt64(height * 31 + width), scale: 1)
            let context = RandomCheckpoint.tensor([2, 5, 24], seed: 99, scale: 1)
            let eps = unet(x, timesteps: [999, 3], context: context, backend: backend)
            #expect(eps.shape == [2, 4, height, width])
            #expect(eps.scalars.allSatisfy { $0.isFinite })
            #expect(eps.scalars.contains { $0 != 0 })

            let single = unet(x.narrowed(dim: 0, start: 1, length: 1), timesteps: [3],
                              context: context.narrowed(dim: 0, start: 1, length: 1), backend: backend)
            let row = eps.narrowed(dim: 0, start: 1, length: 1).scalars
            let batchDifference = zip(single.scalars, row).reduce(0) { max($0, abs($1.0 - $1.1)) }
            #expect(batchDifference <= 1e-5, "batch row vs single call at \(height)×\(width): \(batchDifference)")

            if height == 9 {
                let reference = unet(x, timesteps: [999, 3], context: context, backend: ReferenceBackend())
                let scale = reference.scalars.reduce(0) { max($0, abs($1)) }
                let difference = zip(eps.scalars, reference.scalars).reduce(0) { max($0, abs($1.0 - $1.1)) }
                #expect(difference / scale <= 1e-4, "CPU vs reference backend: \(difference) of \(scale)")
            }
        }
    }

    @Test("a checkpoint missing a UNet key is refused with the key named")
    func missingKey() throws {
        let configuration = Self.shapes[1]
        let key = "model.diffusion_model.middle_block.1.transformer_blocks.1.attn2.to_k.weight"
        var table = configuration.expectedKeys()
        #expect(table.removeValue(forKey: key) != nil)
        let path = try RandomCheckpoint.write(table, seed: 7)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let error = #expect(throws: ParameterLoadError.self) {
            try SD1UNet(checkpoint: try SafetensorsFile(path: path), configuration: configuration)
        }
        #expect(error?.report.missing == [key])
        #expect(error?.report.unexpected.isEmpty == true)
        #expect(error?.description.contains(key) == true)
    }

    @Test("a configuration the network cannot be built from is refused")
    func unsupportedConfiguration() throws {
        var configuration = Self.shapes[3]
        configuration.modelChannels = 48  // not a multiple of the 32 norm groups
        let source = configuration.expectedKeys().mapValues { Tensor(zeros: $0.map { _ in 1 }).expanded(to: $0) }
        let error = #expect(throws: CheckpointError.self) {
            try SD1UNet(loader: ParameterLoader(source: source, prefix: SD1UNet.checkpointPrefix), configuration: configuration)
        }
        #expect(error?.code == .unrecognisedModel)
    }
}

/// Deterministic random weights written as an f16 safetensors file.
enum RandomCheckpoint {
    /// SplitMix64 values mapped to `[-scale, scale)`.
    static func values(count: Int, seed: UInt64, scale: Float) -> [Float] {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 &+ 1
        return (0..<count).map { _ in
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            return (Float(z >> 40) / Float(1 << 24) * 2 - 1) * scale
        }
    }

    static func tensor(_ shape: [Int], seed: UInt64, scale: Float) -> Tensor {
        Tensor(shape: shape, scalars: values(count: shape.reduce(1, *), seed: seed, scale: scale))
    }

    /// Writes `table` (key → shape) with random f16 values to a temporary file and returns its path.
    /// Rank-1 `weight`s are norm scales around 1; other tensors are scaled by 1/√fan-in.
    static func write(_ table: [String: [Int]], seed: UInt64) throws -> String {
        var header: [String: Any] = [:]
        var data = Data()
        for (index, key) in table.keys.sorted().enumerated() {
            let shape = table[key]!
            let count = shape.reduce(1, *)
            let fanIn = shape.count > 1 ? shape.dropFirst().reduce(1, *) : 1
            var values = Self.values(count: count, seed: seed &+ UInt64(index), scale: 1 / Float(fanIn).squareRoot())
            if shape.count == 1 && key.hasSuffix(".weight") { values = values.map { 1 + 0.1 * $0 } }
            let start = data.count
            for v in values { withUnsafeBytes(of: Float16(v).bitPattern.littleEndian) { data.append(contentsOf: $0) } }
            header[key] = ["dtype": "F16", "shape": shape, "data_offsets": [start, data.count]]
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }
        var file = Data()
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { file.append(contentsOf: $0) }
        file.append(json)
        file.append(data)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("unet-\(UUID().uuidString).safetensors").path
        try file.write(to: URL(fileURLWithPath: path))
        return path
    }
}

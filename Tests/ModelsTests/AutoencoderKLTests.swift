import Checkpoints
import Foundation
import LoomTestSupport
import Models
import Testing
import TensorCore
import TensorNN

/// SD1.x VAE parity with ComfyUI 0.3.64 on the reduced seed-0 checkpoint (recipes:
/// ../shared/fixtures/comfy_sd15_components_s0/manifest.json "vae": `VAEDecode` / `VAEEncode` nodes), and the
/// tiled paths against the plain ones and against ComfyUI's blending rule. Tolerance: max |Δ| / max |ref| ≤ 1e-3.
@Suite("AutoencoderKL (VAE)", .serialized)
struct AutoencoderKLTests {
    static let tolerance: Float = 1e-3
    /// Tiled against plain on periodic inputs (see ``decodeTiledSeams()``): loose, because the test VAE has random
    /// weights, for which zero-padded tile borders and per-tile GroupNorm statistics move the output much more than
    /// for a trained VAE (measured: decode 0.42 / 0.67, encode 0.16 / 0.21 for mean / max; a non-periodic input
    /// gives 0.86 / 1.15). The exact rule is checked by ``blendingRule()`` and ``decodeTiledSingleTile()``.
    static let tiledTolerance: (decodeMean: Float, decodeMax: Float, encodeMean: Float, encodeMax: Float) = (0.5, 0.8, 0.25, 0.3)
    static let vaeFolder = ModelFixtures.components.appendingPathComponent("vae").path + "/"

    /// The reduced checkpoint's VAE with float32 weights, loaded once for the suite.
    static let reducedVAE = Result { () throws -> AutoencoderKL in
        let checkpoint = try SafetensorsFile(path: try ModelFixtures.reduced())
        return try AutoencoderKL(checkpoint: checkpoint, configuration: .sd1)
    }

    // MARK: Parity

    @Test("decode matches ComfyUI's VAEDecode", arguments: ["1x4x8x8", "1x4x32x32"])
    func decodeParity(_ name: String) throws {
        let vae = try Self.reducedVAE.get()
        let latent = try Self.tensor(Self.vaeFolder + "decode_\(name)_latent.npy")
        let golden = try NumpyArray(contentsOf: Self.vaeFolder + "decode_\(name)_image.npy")
        let backend = try testBackend()
        let start = ContinuousClock.now
        let image = vae.decode(latent, backend: backend)
        let elapsed = ContinuousClock.now - start
        print("VAE decode \(name) → \(image.shape): \(elapsed)")
        #expect(image.shape == [1, 3, latent.shape[2] * 8, latent.shape[3] * 8])
        let node = Self.decodeNodeOutput(image)
        #expect(golden.shape == [1, image.shape[2], image.shape[3], 3])
        let error = Self.relativeError(node, golden.values)
        print("VAE decode parity \(name): max|Δ|/max|ref| = \(error)")
        #expect(error <= Self.tolerance)
    }

    @Test("encode matches ComfyUI's VAEEncode", arguments: ["64x64", "256x256"])
    func encodeParity(_ name: String) throws {
        let vae = try Self.reducedVAE.get()
        let image = try NumpyArray(contentsOf: Self.vaeFolder + "encode_\(name)_image.npy")
        let golden = try NumpyArray(contentsOf: Self.vaeFolder + "encode_\(name)_latent.npy")
        let latent = vae.encode(Self.encodeNodeInput(image), backend: try testBackend())
        #expect(latent.shape == golden.shape)
        let error = Self.relativeError(latent.scalars, golden.values)
        print("VAE encode parity \(name): max|Δ|/max|ref| = \(error)")
        #expect(error <= Self.tolerance)
    }

    // MARK: Loading

    @Test("the reduced and tiny checkpoints load with every VAE key read", arguments: ["reduced", "tiny"])
    func loadReport(_ variant: String) throws {
        let path = variant == "reduced" ? try ModelFixtures.reduced() : try ModelFixtures.tiny()
        let checkpoint = try SafetensorsFile(path: path)
        let shapes = StateDictShapes(checkpoint)
        let configuration = try #require(try AutoencoderKLConfiguration.detect(in: shapes, prefix: "first_stage_model."))
        #expect(configuration == .sd1)
        let vae = try AutoencoderKL(checkpoint: checkpoint, configuration: configuration, weightType: .float16)
        let expected = configuration.expectedKeys(prefix: "")
        #expect(vae.loadReport.isClean && vae.loadReport.ignored.isEmpty)
        #expect(vae.loadReport.loaded == expected.count)
        #expect(Dictionary(uniqueKeysWithValues: vae.parameters.map { ($0.key, $0.value.shape) }) == expected)
        // Stored as f16 and asked for f16: borrowed from the mapping, not copied.
        let weight = try #require(vae.parameters["decoder.conv_in.weight"])
        #expect(weight.dtype == .float16 && weight.storage.isReadOnly)
        #expect(vae.weightType == .float16)
        let converted = try Self.reducedVAE.get()
        #expect(converted.weightType == .float32)
        #expect(converted.parameters.values.allSatisfy { $0.dtype == .float32 })
    }

    @Test("a checkpoint lacking a VAE key is refused with the key named")
    func missingKey() throws {
        let checkpoint = try SafetensorsFile(path: try ModelFixtures.reduced())
        let dropped = "first_stage_model.decoder.up.1.block.2.norm2.bias"
        let source = HidingSource(base: CheckpointParameterSource(file: checkpoint), hidden: [dropped])
        let loader = ParameterLoader(source: source, prefix: "first_stage_model.")
        let error = #expect(throws: ParameterLoadError.self) {
            try AutoencoderKL(loader: loader, configuration: .sd1)
        }
        #expect(error?.report.missing == [dropped])
        #expect(error?.report.unexpected.isEmpty == true)
        #expect(error?.description.contains(dropped) == true)
    }

    @Test("a configuration with more res blocks than the file reports the missing ones; fewer reports unexpected keys")
    func wrongConfiguration() throws {
        let checkpoint = try SafetensorsFile(path: try ModelFixtures.reduced())
        var more = AutoencoderKLConfiguration.sd1
        more.numResBlocks = 3
        let missing = #expect(throws: ParameterLoadError.self) { try AutoencoderKL(checkpoint: checkpoint, configuration: more) }
        #expect(missing?.report.missing.contains("first_stage_model.encoder.down.0.block.2.conv1.weight") == true)
        var fewer = AutoencoderKLConfiguration.sd1
        fewer.numResBlocks = 1
        let unexpected = #expect(throws: ParameterLoadError.self) { try AutoencoderKL(checkpoint: checkpoint, configuration: fewer) }
        #expect(unexpected?.report.unexpected.contains("first_stage_model.decoder.up.0.block.2.conv1.weight") == true)
    }

    @Test("a standalone VAE file (keys without prefix) loads; its loss weights are ignored")
    func standaloneFile() throws {
        let configuration = Self.smallConfiguration
        let weights = Self.randomWeights(configuration)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("loom-vae-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("vae.safetensors")
        var entries = weights
        entries["loss.logvar"] = Tensor(shape: [1], scalars: [0])
        try Self.writeSafetensors(entries, to: url)

        let vae = try AutoencoderKL(checkpoint: try SafetensorsFile(path: url.path), configuration: configuration, prefix: "")
        #expect(vae.loadReport.isClean)
        #expect(vae.loadReport.ignored == ["loss.logvar"])
        #expect(vae.loadReport.loaded == weights.count)
        let reference = try AutoencoderKL(loader: ParameterLoader(source: weights), configuration: configuration)
        let latent = Self.randomTensor([1, 4, 4, 4], seed: 7)
        let backend = try testBackend()
        #expect(Self.maxDifference(vae.decode(latent, backend: backend).scalars, reference.decode(latent, backend: backend).scalars) == 0)

        // With the single-file prefix nothing is found.
        let error = #expect(throws: ParameterLoadError.self) {
            try AutoencoderKL(checkpoint: try SafetensorsFile(path: url.path), configuration: configuration)
        }
        #expect(error?.report.missing.count == weights.count)
    }

    // MARK: Tiling

    @Test("blending follows ComfyUI's tiled_scale: feathered masks, weighted mean")
    func blendingRule() throws {
        // Width 10, tiles of 6 with overlap 2: tiles start at 0 and 4; masks ramp over 2 elements
        // ([0.5, 1, 1, 1, 1, 0.5]); the height (1) is shorter than the feather, so it has no ramp.
        let input = Tensor(zeros: [1, 1, 1, 10])
        var call = 0
        let blended = TiledScale.apply(input, tile: (height: 1, width: 6), overlap: 2, factor: 1, outChannels: 1) { piece in
            call += 1
            #expect(piece.shape == [1, 1, 1, 6])
            return Tensor(repeating: Float(call), shape: piece.shape)
        }
        #expect(call == 2)
        let expected: [Float] = [1, 1, 1, 1, (1 + 2 * 0.5) / 1.5, (0.5 + 2) / 1.5, 2, 2, 2, 2]
        #expect(zip(blended.scalars, expected).allSatisfy { abs($0 - $1) <= 1e-6 }, "\(blended.scalars)")

        // Upscaling by 2: outputs placed at twice the start, ramps over round(2·2) = 4 output elements.
        call = 0
        let upscaled = TiledScale.apply(input, tile: (height: 1, width: 6), overlap: 2, factor: 2, outChannels: 1) { piece in
            call += 1
            return Tensor(repeating: Float(call), shape: [1, 1, 2, 12])
        }
        #expect(upscaled.shape == [1, 1, 2, 20])
        let ramp: [Float] = [0.25, 0.5, 0.75, 1]
        var row = [Float](repeating: 1, count: 8) + [Float](repeating: 2, count: 8) + [2, 2, 2, 2]
        for t in 0..<4 {
            let first = ramp[3 - t], second = ramp[t]  // tile 1's falling edge over tile 2's rising one
            row[8 + t] = (first * 1 + second * 2) / (first + second)
        }
        #expect(zip(upscaled.scalars, row + row).allSatisfy { abs($0 - $1) <= 1e-6 }, "\(upscaled.scalars)")

        // A function that commutes with tiling (nearest upsampling) is reproduced exactly by the blend.
        let ramp2D = Self.randomTensor([2, 3, 13, 17], seed: 3)
        let nearest = { (t: Tensor) in Self.nearestUpsample(t, by: 4) }
        let tiled = TiledScale.apply(ramp2D, tile: (height: 5, width: 6), overlap: 2, factor: 4, outChannels: 3, function: nearest)
        #expect(Self.maxDifference(tiled.scalars, nearest(ramp2D).scalars) <= 1e-6)
    }

    @Test("tile placement matches ComfyUI's positions")
    func tileStarts() {
        var seen: [[Int]] = []
        _ = TiledScale.apply(Tensor(zeros: [1, 1, 40, 100]), tile: (height: 64, width: 64), overlap: 16, factor: 1,
                             outChannels: 1) { piece in
            seen.append([piece.offset % 100, piece.shape[2], piece.shape[3]])
            return Tensor(zeros: [1, 1, piece.shape[2], piece.shape[3]])
        }
        // range(0, 100 − 16, 48) = [0, 48]; the second tile is cut at 100 (52 wide); the height fits one tile.
        #expect(seen == [[0, 40, 64], [48, 40, 52]])
    }

    @Test("decodeTiled with the whole latent in one tile equals the plain decode")
    func decodeTiledSingleTile() throws {
        let vae = try Self.reducedVAE.get()
        let latent = try Self.tensor(Self.vaeFolder + "decode_1x4x8x8_latent.npy")
        let backend = try testBackend()
        let plain = vae.decode(latent, backend: backend)
        // 128 px tiles are 16 latent elements; the half-width pass (8) still covers the 8×8 latent.
        let tiled = vae.decodeTiled(latent, tileSize: 128, overlap: 32, backend: backend)
        #expect(tiled.shape == plain.shape)
        #expect(Self.relativeError(tiled.scalars, plain.scalars) <= 1e-6)
    }

    // A tile's decode differs from the whole image's through its zero-padded borders (feathered by the blend) and
    // the per-tile GroupNorm statistics and attention. A latent periodic with a period that divides every tile
    // length and start gives every tile the statistics of the whole, which keeps the tiled result near the plain one.
    @Test("decodeTiled of a latent larger than a tile stays close to the plain decode")
    func decodeTiledSeams() throws {
        let vae = try Self.smallVAE()
        let latent = Self.periodic([1, 4, 24, 40], period: 4)
        let backend = try testBackend()
        let plain = vae.decode(latent, backend: backend)
        let tiled = vae.decodeTiled(latent, tileSize: 128, overlap: 32, backend: backend)
        #expect(tiled.shape == plain.shape)
        let (mean, max) = Self.agreement(tiled, plain)
        print("VAE decodeTiled vs plain: mean |Δ| / mean |ref| = \(mean), max |Δ| / max |ref| = \(max)")
        #expect(mean <= Self.tiledTolerance.decodeMean)
        #expect(max <= Self.tiledTolerance.decodeMax)
        // The tiles really differ from one decode: shifting the tile grid changes the result.
        let shifted = vae.decodeTiled(latent, tileSize: 160, overlap: 32, backend: backend)
        #expect(Self.maxDifference(shifted.scalars, tiled.scalars) > 0)
    }

    @Test("encodeTiled of an image larger than a tile stays close to the plain encode")
    func encodeTiledSeams() throws {
        let vae = try Self.smallVAE()
        let image = Self.periodic([1, 3, 192, 320], period: 32)
        let backend = try testBackend()
        let plain = vae.encode(image, backend: backend)
        let tiled = vae.encodeTiled(image, tileSize: 128, overlap: 32, backend: backend)
        #expect(tiled.shape == [1, 4, 24, 40] && plain.shape == tiled.shape)
        let (mean, max) = Self.agreement(tiled, plain)
        print("VAE encodeTiled vs plain: mean |Δ| / mean |ref| = \(mean), max |Δ| / max |ref| = \(max)")
        #expect(mean <= Self.tiledTolerance.encodeMean)
        #expect(max <= Self.tiledTolerance.encodeMax)
        // One tile covering the image in every pass: the plain encode.
        let small = image.narrowed(dim: 2, start: 0, length: 64).narrowed(dim: 3, start: 0, length: 64)
        let single = vae.encodeTiled(small, tileSize: 128, overlap: 16, backend: backend)
        #expect(Self.relativeError(single.scalars, vae.encode(small, backend: backend).scalars) <= 1e-6)
    }

    // MARK: Cropping and batching

    @Test("images that are not multiples of 8 are cropped as VAEEncode does")
    func cropping() throws {
        let image = Self.randomTensor([1, 3, 70, 67], seed: 2)
        let cropped = AutoencoderKL.cropToMultiple(image, of: 8)
        #expect(cropped.shape == [1, 3, 64, 64])
        // (70 mod 8)/2 = 3 rows off the top, (67 mod 8)/2 = 1 column off the left.
        let manual = image.narrowed(dim: 2, start: 3, length: 64).narrowed(dim: 3, start: 1, length: 64)
        #expect(Self.maxDifference(cropped.scalars, manual.scalars) == 0)
        #expect(AutoencoderKL.cropToMultiple(manual, of: 8).shape == manual.shape)

        let vae = try Self.smallVAE()
        let backend = try testBackend()
        #expect(Self.maxDifference(vae.encode(image, backend: backend).scalars, vae.encode(manual, backend: backend).scalars) == 0)
    }

    @Test("batches split by the memory budget give the same result; over budget, decode falls back to tiles")
    func batchSplitting() throws {
        var vae = try Self.smallVAE()
        let latent = Self.randomTensor([3, 4, 8, 8], seed: 9)
        let backend = try testBackend()
        let whole = vae.decode(latent, backend: backend)
        vae.memoryBudget = AutoencoderKL.decodeMemory(height: 8, width: 8)  // one item per batch
        // oneDNN may block a batch of 3 differently from a batch of 1: equal up to rounding.
        let split = vae.decode(latent, backend: backend)
        #expect(Self.relativeError(split.scalars, whole.scalars) <= 1e-5)
        for b in 0..<3 {
            let item = vae.decode(latent.narrowed(dim: 0, start: b, length: 1), backend: backend)
            #expect(Self.relativeError(item.scalars, whole.narrowed(dim: 0, start: b, length: 1).scalars) <= 1e-5)
        }

        let image = Self.randomTensor([2, 3, 32, 32], seed: 4)
        vae.memoryBudget = AutoencoderKL.defaultMemoryBudget
        let encoded = vae.encode(image, backend: backend)
        vae.memoryBudget = AutoencoderKL.encodeMemory(height: 32, width: 32)
        #expect(Self.relativeError(vae.encode(image, backend: backend).scalars, encoded.scalars) <= 1e-5)

        let large = Self.randomTensor([1, 4, 72, 16], seed: 8)
        vae.memoryBudget = AutoencoderKL.decodeMemory(height: 72, width: 16) - 1
        let fallback = vae.decode(large, backend: backend)
        #expect(Self.maxDifference(fallback.scalars, vae.decodeTiled(large, tileSize: 512, overlap: 128, backend: backend).scalars) == 0)
        vae.memoryBudget = Int.max
        #expect(Self.maxDifference(fallback.scalars, vae.decode(large, backend: backend).scalars) > 0)
    }

    // MARK: Helpers

    /// A small layout with the SD layout's structure and compression 8: 32 channels, four levels.
    static let smallConfiguration = AutoencoderKLConfiguration(channels: 32, channelMult: [1, 2, 1, 1], numResBlocks: 1)

    static func smallVAE() throws -> AutoencoderKL {
        try AutoencoderKL(loader: ParameterLoader(source: randomWeights(smallConfiguration)), configuration: smallConfiguration)
    }

    /// Deterministic weights for `configuration`: convolutions ~ U(−1, 1)·√(3/fan-in), norms near (1, 0).
    static func randomWeights(_ configuration: AutoencoderKLConfiguration) -> [String: Tensor] {
        var weights: [String: Tensor] = [:]
        for (index, (key, shape)) in configuration.expectedKeys(prefix: "").sorted(by: { $0.key < $1.key }).enumerated() {
            var generator = SplitMix(seed: UInt64(index + 1))
            let count = shape.reduce(1, *)
            let values: [Float]
            if shape.count == 4 {
                let bound = (3 / Float(shape[1] * shape[2] * shape[3])).squareRoot()
                values = (0..<count).map { _ in generator.uniform() * bound }
            } else if key.contains("norm") && key.hasSuffix(".weight") {
                values = (0..<count).map { _ in 1 + 0.1 * generator.uniform() }
            } else {
                values = (0..<count).map { _ in 0.05 * generator.uniform() }
            }
            weights[key] = Tensor(shape: shape, scalars: values)
        }
        return weights
    }

    static func randomTensor(_ shape: [Int], seed: UInt64) -> Tensor {
        var generator = SplitMix(seed: seed)
        return Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map { _ in generator.uniform() })
    }

    /// A sum of waves of `period` elements along x, y and the diagonal, with a phase and offset per channel.
    static func periodic(_ shape: [Int], period: Int) -> Tensor {
        let (batch, channels, height, width) = (shape[0], shape[1], shape[2], shape[3])
        let k = 2 * Float.pi / Float(period)
        var values = [Float](repeating: 0, count: shape.reduce(1, *))
        for plane in 0..<(batch * channels) {
            let phase = 0.7 * Float(plane)
            for y in 0..<height {
                for x in 0..<width {
                    values[(plane * height + y) * width + x] = cos(k * Float(x) + phase) + 0.5 * sin(k * Float(y) - phase)
                        + 0.3 * cos(k * Float(x + y) + 2 * phase) + 0.1 * Float(plane % channels)
                }
            }
        }
        return Tensor(shape: shape, scalars: values)
    }

    static func nearestUpsample(_ t: Tensor, by factor: Int) -> Tensor {
        let (b, c, h, w) = (t.shape[0], t.shape[1], t.shape[2], t.shape[3])
        let source = t.scalars
        var out = [Float](repeating: 0, count: b * c * h * w * factor * factor)
        for plane in 0..<(b * c) {
            for y in 0..<(h * factor) {
                for x in 0..<(w * factor) {
                    out[(plane * h * factor + y) * w * factor + x] = source[(plane * h + y / factor) * w + x / factor]
                }
            }
        }
        return Tensor(shape: [b, c, h * factor, w * factor], scalars: out)
    }

    static func tensor(_ path: String) throws -> Tensor {
        let array = try NumpyArray(contentsOf: path)
        return Tensor(shape: array.shape, scalars: array.values)
    }

    /// What `VAEDecode` returns: `clamp((x + 1)/2, 0, 1)`, channels last.
    static func decodeNodeOutput(_ image: Tensor) -> [Float] {
        let (b, c, h, w) = (image.shape[0], image.shape[1], image.shape[2], image.shape[3])
        let values = image.scalars
        var out = [Float](repeating: 0, count: values.count)
        for n in 0..<b {
            for ch in 0..<c {
                for p in 0..<(h * w) {
                    out[(n * h * w + p) * c + ch] = min(max((values[(n * c + ch) * h * w + p] + 1) / 2, 0), 1)
                }
            }
        }
        return out
    }

    /// What `VAEEncode` feeds the model: `[B, H, W, 3]` in 0…1 → `2p − 1`, channels first.
    static func encodeNodeInput(_ image: NumpyArray) -> Tensor {
        let (b, h, w, c) = (image.shape[0], image.shape[1], image.shape[2], image.shape[3])
        var out = [Float](repeating: 0, count: image.values.count)
        for n in 0..<b {
            for p in 0..<(h * w) {
                for ch in 0..<c { out[(n * c + ch) * h * w + p] = image.values[(n * h * w + p) * c + ch] * 2 - 1 }
            }
        }
        return Tensor(shape: [b, c, h, w], scalars: out)
    }

    static func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
        zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }

    /// max |a − b| / max |b|.
    static func relativeError(_ a: [Float], _ b: [Float]) -> Float {
        precondition(a.count == b.count, "\(a.count) vs \(b.count) values")
        return maxDifference(a, b) / max(b.reduce(0) { max($0, abs($1)) }, .leastNormalMagnitude)
    }

    /// (mean |Δ| / mean |ref|, max |Δ| / max |ref|) of `tiled` against `plain`.
    static func agreement(_ tiled: Tensor, _ plain: Tensor) -> (Float, Float) {
        let a = tiled.scalars, b = plain.scalars
        let meanDifference = zip(a, b).reduce(0) { $0 + abs($1.0 - $1.1) } / Float(a.count)
        let meanReference = b.reduce(0) { $0 + abs($1) } / Float(b.count)
        return (meanDifference / meanReference, relativeError(a, b))
    }

    /// Writes `tensors` as a float32 safetensors file.
    static func writeSafetensors(_ tensors: [String: Tensor], to url: URL) throws {
        var entries: [String] = []
        var data = Data()
        for (key, tensor) in tensors.sorted(by: { $0.key < $1.key }) {
            let bytes = tensor.scalars.withUnsafeBufferPointer { Data(buffer: $0) }
            entries.append("\"\(key)\":{\"dtype\":\"F32\",\"shape\":[\(tensor.shape.map(String.init).joined(separator: ","))],"
                + "\"data_offsets\":[\(data.count),\(data.count + bytes.count)]}")
            data.append(bytes)
        }
        var header = Data(("{" + entries.joined(separator: ",") + "}").utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        var file = Data((0..<8).map { UInt8(truncatingIfNeeded: UInt64(header.count) >> (8 * UInt64($0))) })
        file.append(header)
        file.append(data)
        try file.write(to: url)
    }
}

/// A parameter source with some keys removed.
private struct HidingSource: ParameterSource {
    var base: any ParameterSource
    var hidden: Set<String>

    var parameterKeys: [String] { base.parameterKeys.filter { !hidden.contains($0) } }
    func parameterShape(_ key: String) -> [Int]? { hidden.contains(key) ? nil : base.parameterShape(key) }
    func parameter(_ key: String) throws -> Tensor {
        guard !hidden.contains(key) else { throw CheckpointError(.missingTensor, "hidden", path: "", key: key) }
        return try base.parameter(key)
    }
}

/// SplitMix64, for deterministic test data.
private struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }

    /// Uniform in [−1, 1).
    mutating func uniform() -> Float {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Float(z >> 40) / Float(1 << 23) - 1
    }
}

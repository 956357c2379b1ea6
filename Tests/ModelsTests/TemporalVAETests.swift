import Checkpoints
import Foundation
import LoomTestSupport
import MediaIO
import Models
import Testing
import TensorCore
import TensorNN

/// Stable Video Diffusion's VAE (SD encoder + temporal `VideoDecoder`) against ComfyUI 0.3.64 on the reduced seed-0
/// SVD checkpoint (../shared/fixtures/comfy_svd_reduced_s0: `VAEDecode` of the sampled latent, and the
/// `SVD_img2vid_Conditioning` encode of the init image). Tolerance: max |Δ| / max |ref| ≤ 1e-3.
@Suite("Temporal VAE (SVD)", .serialized)
struct TemporalVAETests {
    static let tolerance: Float = 1e-3
    static let prefix = AutoencoderKL.checkpointPrefix

    /// The SVD checkpoint's VAE with float32 weights, loaded once for the suite.
    static let svdVAE = Result { () throws -> AutoencoderKL in
        let checkpoint = try SafetensorsFile(path: try ModelFixtures.svdReduced())
        let configuration = try #require(try AutoencoderKLConfiguration.detect(in: StateDictShapes(checkpoint), prefix: prefix))
        return try AutoencoderKL(checkpoint: checkpoint, configuration: configuration)
    }

    static func fixture(_ name: String) -> String { ModelFixtures.svdFixtures.appendingPathComponent(name).path }

    // MARK: Detection and loading

    @Test("the SVD checkpoint detects as the temporal VAE and loads with every key read")
    func detectionAndLoading() throws {
        let checkpoint = try SafetensorsFile(path: try ModelFixtures.svdReduced())
        let shapes = StateDictShapes(checkpoint)
        let configuration = try #require(try AutoencoderKLConfiguration.detect(in: shapes, prefix: Self.prefix))
        #expect(configuration == .svd)
        #expect(configuration.temporalDecoder && configuration.videoKernelSize == [3, 1, 1] && !configuration.useQuantConv)

        // The expected table is exactly the file's VAE keys.
        let fileKeys = shapes.shapes.filter { $0.key.hasPrefix(Self.prefix) }
        let expected = configuration.expectedKeys(prefix: Self.prefix)
        let sameKeys = fileKeys == expected
        #expect(sameKeys, "missing \(Set(fileKeys.keys).subtracting(expected.keys).sorted().prefix(5)), extra \(Set(expected.keys).subtracting(fileKeys.keys).sorted().prefix(5))")

        let vae = try Self.svdVAE.get()
        #expect(vae.loadReport.isClean)
        #expect(vae.loadReport.loaded == expected.count)
        let parameters = Dictionary(uniqueKeysWithValues: vae.parameters.map { (Self.prefix + $0.key, $0.value.shape) })
        #expect(parameters == expected)
        #expect(vae.weightType == .float32)
        #expect(vae.compression == 8)
    }

    @Test("an SD1 VAE still detects as the image decoder")
    func sd1IsNotTemporal() throws {
        let checkpoint = try SafetensorsFile(path: try ModelFixtures.reduced())
        let configuration = try #require(try AutoencoderKLConfiguration.detect(in: StateDictShapes(checkpoint), prefix: Self.prefix))
        #expect(!configuration.temporalDecoder && configuration.videoKernelSize == nil)
        #expect(configuration == .sd1)
        #expect(configuration.expectedKeys().keys.allSatisfy { !$0.contains("time_") && !$0.contains("mix_factor") })
    }

    @Test("configurations without the temporal field decode as image VAEs; temporal ones round-trip")
    func codable() throws {
        let old = #"{"channels":128,"channelMult":[1,2,4,4],"numResBlocks":2,"zChannels":4,"embedDim":4,"inChannels":3,"outChannels":3,"useQuantConv":true}"#
        let decoded = try JSONDecoder().decode(AutoencoderKLConfiguration.self, from: Data(old.utf8))
        #expect(decoded == .sd1 && !decoded.temporalDecoder)
        let encoded = try JSONEncoder().encode(AutoencoderKLConfiguration.svd)
        #expect(try JSONDecoder().decode(AutoencoderKLConfiguration.self, from: encoded) == .svd)
        #expect(AutoencoderKLConfiguration.sd1 != .svd)
    }

    @Test("a checkpoint missing a temporal key is refused with the key named")
    func missingTemporalKey() throws {
        let checkpoint = try SafetensorsFile(path: try ModelFixtures.svdReduced())
        for dropped in ["first_stage_model.decoder.up.2.block.1.time_stack.out_layers.3.weight",
                        "first_stage_model.decoder.mid.block_2.mix_factor",
                        "first_stage_model.decoder.conv_out.time_mix_conv.bias"] {
            let source = TemporalHidingSource(base: CheckpointParameterSource(file: checkpoint), hidden: [dropped])
            let loader = ParameterLoader(source: source, prefix: Self.prefix)
            let error = #expect(throws: ParameterLoadError.self) {
                try AutoencoderKL(loader: loader, configuration: .svd, weightType: .float16)
            }
            #expect(error?.report.missing == [dropped])
            #expect(error?.description.contains(dropped) == true)
        }
        // Detection needs the time_stack convolution to read the kernel size.
        var shapes = StateDictShapes(checkpoint).shapes
        let kernelKey = "first_stage_model.decoder.mid.block_1.time_stack.in_layers.2.weight"
        shapes[kernelKey] = nil
        let error = #expect(throws: CheckpointError.self) {
            try AutoencoderKLConfiguration.detect(in: StateDictShapes(shapes), prefix: Self.prefix)
        }
        #expect(error?.key == kernelKey)
        // Without the marker key the decoder is the image one (and the SVD file's temporal keys are unexpected).
        shapes = StateDictShapes(checkpoint).shapes
        shapes["first_stage_model." + AutoencoderKLConfiguration.temporalMarker] = nil
        #expect(try AutoencoderKLConfiguration.detect(in: StateDictShapes(shapes), prefix: Self.prefix)?.temporalDecoder == false)
    }

    // MARK: Parity

    @Test("decode of the sampled latent matches ComfyUI's VAEDecode (the 4 frames as one video)")
    func decodeParity() throws {
        let vae = try Self.svdVAE.get()
        let latent = try Self.tensor(Self.fixture("latent_final.npy"))
        let golden = try NumpyArray(contentsOf: Self.fixture("frames_float.npy"))
        #expect(latent.shape == [4, 4, 8, 8] && golden.shape == [4, 64, 64, 3])
        let backend = try testBackend()
        let start = ContinuousClock.now
        let frames = vae.decode(latent, backend: backend)
        print("SVD VAE decode \(latent.shape) → \(frames.shape): \(ContinuousClock.now - start)")
        #expect(frames.shape == [4, 3, 64, 64])
        let node = AutoencoderKLTests.decodeNodeOutput(frames)
        let error = Parity.relativeError(node, reference: golden.values)
        // The frames are near-uniform grey (random weights): also measure against their spread.
        let spread = Self.standardDeviation(golden.values)
        print("SVD VAE decode parity: max|Δ|/max|ref| = \(error), max|Δ|/std(ref) = \(error * Self.maxAbs(golden.values) / spread)")
        #expect(error <= Self.tolerance)

        // Decoding the frames separately (no temporal mixing across them) is measurably further from ComfyUI: the
        // comparison resolves the temporal layers.
        var separate = vae
        separate.memoryBudget = AutoencoderKL.decodeMemory(height: 8, width: 8)
        let unmixed = AutoencoderKLTests.decodeNodeOutput(separate.decode(latent, backend: backend))
        let unmixedError = Parity.relativeError(unmixed, reference: golden.values)
        print("SVD VAE decode, frames one at a time: max|Δ|/max|ref| = \(unmixedError)")
        #expect(unmixedError > 10 * max(error, 1e-6))
    }

    @Test("encode of the init image matches ComfyUI's concat latent")
    func encodeParity() throws {
        let vae = try Self.svdVAE.get()
        let image = try Self.initImage()
        let golden = try NumpyArray(contentsOf: Self.fixture("components/concat_latent.npy"))
        let latent = vae.encode(image, backend: try testBackend())
        #expect(latent.shape == golden.shape)
        let error = Parity.relativeError(latent.scalars, reference: golden.values)
        print("SVD VAE encode parity: max|Δ|/max|ref| = \(error)")
        #expect(error <= Self.tolerance)
    }

    // MARK: Batch split and tiles

    @Test("the batch split decides which frames mix: each slice decodes as its own video")
    func chunking() throws {
        var vae = try Self.svdVAE.get()
        let latent = try Self.tensor(Self.fixture("latent_final.npy"))
        let backend = try testBackend()
        vae.memoryBudget = 2 * AutoencoderKL.decodeMemory(height: 8, width: 8) + 1  // two frames per slice
        let split = vae.decode(latent, backend: backend)
        vae.memoryBudget = Int.max
        let halves = [0, 2].map { vae.decode(latent.narrowed(dim: 0, start: $0, length: 2), backend: backend) }
        let expected = Tensor.concatenated(halves, dim: 0)
        #expect(Parity.relativeError(split.scalars, reference: expected.scalars) <= 1e-6)
        let whole = vae.decode(latent, backend: backend)
        #expect(Parity.relativeError(whole.scalars, reference: split.scalars) > 1e-4)
    }

    @Test("tiled decode runs every frame as a one-frame video, as VAEDecodeTiled does for SVD")
    func tiledDecode() throws {
        var vae = try Self.svdVAE.get()
        let latent = try Self.tensor(Self.fixture("latent_final.npy")).narrowed(dim: 0, start: 0, length: 2)
        let backend = try testBackend()
        // 128 px tiles hold the 8×8 latent in every pass: the result is the per-frame decode.
        let tiled = vae.decodeTiled(latent, tileSize: 128, overlap: 32, backend: backend)
        vae.memoryBudget = AutoencoderKL.decodeMemory(height: 8, width: 8)
        let perFrame = vae.decode(latent, backend: backend)
        #expect(tiled.shape == perFrame.shape)
        #expect(Parity.relativeError(tiled.scalars, reference: perFrame.scalars) <= 1e-6)
    }

    // MARK: Helpers

    static func tensor(_ path: String) throws -> Tensor {
        let array = try NumpyArray(contentsOf: path)
        return Tensor(shape: array.shape, scalars: array.values)
    }

    /// `init_image.png` (8-bit RGB) as `SVD_img2vid_Conditioning` hands it to the VAE: `p/255`, then `2p − 1`,
    /// channels first `[1, 3, H, W]`.
    static func initImage() throws -> Tensor {
        let image = try CLIPVisionTests.loadPNG(fixture("init_image.png"))
        return Tensor(shape: image.shape, scalars: image.scalars.map { $0 * 2 - 1 }).permuted([0, 3, 1, 2]).contiguous()
    }


    static func maxAbs(_ values: [Float]) -> Float { values.reduce(0) { max($0, abs($1)) } }

    static func standardDeviation(_ values: [Float]) -> Float {
        let mean = values.reduce(0, +) / Float(values.count)
        return (values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Float(values.count)).squareRoot()
    }
}

/// A parameter source with some keys removed.
private struct TemporalHidingSource: ParameterSource {
    var base: any ParameterSource
    var hidden: Set<String>

    var parameterKeys: [String] { base.parameterKeys.filter { !hidden.contains($0) } }
    func parameterShape(_ key: String) -> [Int]? { hidden.contains(key) ? nil : base.parameterShape(key) }
    func parameter(_ key: String) throws -> Tensor {
        guard !hidden.contains(key) else { throw CheckpointError(.missingTensor, "hidden", path: "", key: key) }
        return try base.parameter(key)
    }
}

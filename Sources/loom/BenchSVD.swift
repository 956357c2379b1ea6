import ArgumentParser
import Checkpoints
import Diffusion
import Foundation
import Models
import TensorCPU
import TensorCore

/// `loom bench svd`: Stable Video Diffusion image-to-video timings on the CPU backend — checkpoint load, the
/// conditioning (CLIP-vision encode of the init image and its VAE encode), seconds per sampling step (cfg on, so
/// the UNet runs on cond and uncond: 2 × frames latents), the video VAE decode and peak resident memory — with
/// the UNet weights in float32 (the parity mode) or bfloat16.
struct BenchSVD: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "svd", abstract: "SVD img2vid step, conditioning, VAE decode and load timings.")

    @Option(help: "An SVD / SVD-XT single-file checkpoint (.safetensors).") var checkpoint: String
    @Option(help: "Video size WIDTHxHEIGHT in pixels (multiples of 8).") var size = "512x320"
    @Option(help: "Video frames.") var frames = 14
    @Option(help: "Sampling steps (euler_ancestral, karras).") var steps = 2
    @Option(help: "Guidance scale (VideoLinearCFGGuidance from 1 to this).") var cfg = 2.5
    @Option(help: "UNet weight dtype: f32 (ComfyUI's CPU mode, the parity mode) or bf16.") var weights = "f32"
    @Flag(help: "Skip the VAE decode.") var noDecode = false
    @Flag(help: "Time every backend op of the last sampling step and print the costliest.") var opProfile = false

    func run() async throws {
        let parts = size.split(separator: "x").compactMap { Int($0) }
        guard parts.count == 2, parts.allSatisfy({ $0 >= 64 && $0 % 8 == 0 }) else {
            throw ValidationError("--size must be WIDTHxHEIGHT, multiples of 8, at least 64")
        }
        guard frames >= 1, steps >= 1 else { throw ValidationError("--frames and --steps must be at least 1") }
        let (width, height) = (parts[0], parts[1])
        let weightType: DType
        switch weights {
        case "f32": weightType = .float32
        case "bf16": weightType = .bfloat16
        default: throw ValidationError("--weights must be f32 or bf16")
        }
        let backend = try CPUBackend()
        let start = Date()
        let file = try SafetensorsFile(path: checkpoint)
        guard case .svd(let config) = try ModelDetection.detect(file) else { throw ValidationError("not an SVD checkpoint") }
        let unet = try VideoUNet(checkpoint: file, configuration: config.unet,
                                 prefix: SVDCheckpointConfiguration.Component.unet.prefix, weightType: weightType)
        let vae = try AutoencoderKL(checkpoint: file, configuration: config.vae,
                                    prefix: SVDCheckpointConfiguration.Component.vae.prefix)
        let tower = try CLIPVisionEncoder(checkpoint: file, prefix: SVDCheckpointConfiguration.Component.clipVision.prefix,
                                          configuration: config.clipVision, weightType: CLIPVisionHandle.weightType)
        file.mapping.releaseResidentPages()  // as the server's model cache does after a load
        let loaded = Date()
        var peaks = [("load", BenchMemory.peakResidentBytes())]

        // A smooth synthetic init image, conditioned as SVD_img2vid_Conditioning does.
        var pixels = [Float](repeating: 0, count: height * width * 3)
        for y in 0..<height {
            for x in 0..<width {
                for c in 0..<3 { pixels[(y * width + x) * 3 + c] = Float((x + 2 * y + 40 * c) % 256) / 255 }
            }
        }
        let image = Tensor(shape: [1, height, width, 3], scalars: pixels)
        let embeds = tower.encode(pixels: CLIPImagePreprocessing.pixels(image, size: config.clipVision.imageSize, crop: true),
                                  backend: backend).imageEmbeds
        file.mapping.releaseResidentPages()  // as CLIPVisionHandle does after an encode
        let encoded = Date()
        let vaeInput = Tensor(shape: [1, height, width, 3], scalars: pixels.map { $0 * 2 - 1 }).permuted([0, 3, 1, 2])
        let concat = vae.encode(backend.contiguous(vaeInput), backend: backend)
        let conditioned = Date()
        peaks.append(("conditioning", BenchMemory.peakResidentBytes()))
        let video = VideoConditioning(fps: 6, motionBucketID: 127, augmentationLevel: 0)
        let cond = embeds.reshaped([1] + embeds.shape)
        let positive = Conditioning([Conditioning.Entry(cond, pooled: nil, concatLatentImage: concat, video: video)])
        let negative = Conditioning([Conditioning.Entry(Tensor(zeros: cond.shape), pooled: nil,
                                                        concatLatentImage: Tensor(zeros: concat.shape), video: video)])

        let latent = Latent(samples: Tensor(zeros: [frames, 4, height / 8, width / 8]))
        let settings = KSamplerSettings(seed: 42, steps: steps, cfg: cfg, sampler: .eulerAncestral, scheduler: .karras)
        var stepEnds: [Date] = []
        let samplingStart = Date()
        // With --op-profile the sampler runs on a timing wrapper, reset at each step but the last.
        let timed = opProfile ? TimedBackend(backend) : nil
        func sample(_ backend: some Backend) throws -> Tensor {
            try KSamplerRun.sample(network: unet, sampling: .stableVideoDiffusion, positive: positive, negative: negative,
                                   latent: latent, settings: settings, cfgFunction: .linear(minCFG: 1), backend: backend,
                                   progress: { _, _ in
                                       stepEnds.append(Date())
                                       if stepEnds.count < steps { timed?.reset() }
                                   })
        }
        let samples = try timed.map(sample) ?? sample(backend)
        peaks.append(("sampling", BenchMemory.peakResidentBytes()))
        var stepTimes: [Double] = []
        var previous = samplingStart
        for end in stepEnds {
            stepTimes.append(end.timeIntervalSince(previous))
            previous = end
        }

        let fileSize = (try? FileManager.default.attributesOfItem(atPath: checkpoint)[.size] as? NSNumber)?.int64Value ?? 0
        print("checkpoint: \(checkpoint) (\(fileSize / 1_048_576) MiB); UNet \(config.unet.channelMult) × \(config.unet.numResBlocks)")
        print("UNet weights: \(weights); video \(width)x\(height), \(frames) frames, latent \(width / 8)x\(height / 8), euler_ancestral/karras, cfg 1→\(cfg)")
        print(String(format: "load (UNet, VAE, CLIP vision): %.3f s; CLIP-vision encode: %.3f s; VAE encode: %.3f s",
                     loaded.timeIntervalSince(start), encoded.timeIntervalSince(loaded), conditioned.timeIntervalSince(encoded)))
        print(String(format: "sampling: %@ s per step (each step: the UNet on %d latents)",
                     stepTimes.map { String(format: "%.3f", $0) }.joined(separator: ", "), 2 * frames))
        if let timed { BenchOpProfile.print(timed.report) }
        if !noDecode {
            let decodeStart = Date()
            let decoded = vae.decode(samples, backend: backend)
            print(String(format: "VAE decode of %d frames: %.3f s (output %@)", frames, Date().timeIntervalSince(decodeStart),
                         "\(decoded.shape)"))
            peaks.append(("decode", BenchMemory.peakResidentBytes()))
        }
        print(String(format: "peak resident memory: %.0f MiB (%@)", Double(BenchMemory.peakResidentBytes()) / 1_048_576,
                     peaks.map { String(format: "%.0f after %@", Double($0.1) / 1_048_576, $0.0) }.joined(separator: ", ")))
    }
}

import ArgumentParser
import Checkpoints
import Diffusion
import Foundation
import MediaIO
import Models
import TensorCPU
import TensorCore
import Tokenizers

/// `loom bench sd15`: SD1.x txt2img timings on the CPU backend — checkpoint open to first step, seconds per
/// sampling step (cfg on, so the UNet runs on a batch of 2), VAE decode, peak resident memory — with the UNet
/// weights in float32 (the parity mode) or bfloat16.
struct BenchSD15: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "sd15", abstract: "SD1.x sampling step, VAE decode and load timings.")

    @Option(help: "An SD1.x single-file checkpoint (.safetensors).") var checkpoint: String
    @Option(help: "Image width and height in pixels (a multiple of 8).") var size = 512
    @Option(help: "Sampling steps (euler, normal schedule).") var steps = 3
    @Option(help: "Classifier-free guidance scale (1 runs the UNet on the positive prompt only).") var cfg = 7.0
    @Option(help: "UNet weight dtype: f32 (ComfyUI's CPU mode, the parity mode) or bf16.") var weights = "f32"
    @Flag(help: "Skip the VAE decode.") var noDecode = false
    @Flag(help: "Time every backend op of the last sampling step and print the costliest.") var opProfile = false
    @Flag(help: "Evict the file from the page cache first (posix_fadvise DONTNEED) to time a cold load.") var cold = false
    @Option(help: "Write the decoded image to this PNG file (to compare weight modes: the same seed and prompt every run).")
    var output: String?

    func run() async throws {
        guard size % 8 == 0, size >= 64 else { throw ValidationError("--size must be a multiple of 8, at least 64") }
        let weightType: DType
        switch weights {
        case "f32": weightType = .float32
        case "bf16": weightType = .bfloat16
        default: throw ValidationError("--weights must be f32 or bf16")
        }
        if cold { BenchMemory.evictFromPageCache(checkpoint) }
        let backend = try CPUBackend()
        let start = Date()
        let file = try SafetensorsFile(path: checkpoint)
        guard case .sd1(let config) = try ModelDetection.detect(file) else { throw ValidationError("not an SD1.x checkpoint") }
        let opened = Date()
        let unet = try SD1UNet(checkpoint: file, configuration: config.unet, weightType: weightType)
        file.mapping.releaseResidentPages()  // as the server's model cache does after a load
        let unetLoaded = Date()
        let clip = try CLIPTextEncoder(checkpoint: file, configuration: CLIPTextEncoderConfiguration(sd1: config))
            .converted(to: .float32)
        let tokenizer = try CLIPTokenizer()
        func encode(_ text: String) -> Conditioning {
            let windows = tokenizer.tokenizeWithWeights(text).map { $0.map { BenchToken(id: $0.id, weight: $0.weight) } }
            let (cond, pooled) = clip.encode(windows, backend: backend)
            return Conditioning([Conditioning.Entry(cond, pooled: pooled)])
        }
        let positive = encode("a photograph of an astronaut riding a horse")
        let negative = encode("blurry, low quality")
        let encoded = Date()

        let latent = Latent(samples: Tensor(zeros: [1, config.unet.inChannels, size / 8, size / 8]))
        let settings = KSamplerSettings(seed: 42, steps: steps, cfg: cfg, sampler: .euler, scheduler: .normal)
        var stepEnds: [Date] = []
        let samplingStart = Date()
        // With --op-profile the sampler runs on a timing wrapper, reset at each step but the last.
        let timed = opProfile ? TimedBackend(backend) : nil
        func sample(_ backend: some Backend) throws -> Tensor {
            try KSamplerRun.sample(network: unet, sampling: ModelSampling(), positive: positive, negative: negative,
                                   latent: latent, settings: settings, backend: backend,
                                   progress: { _, _ in
                                       stepEnds.append(Date())
                                       if stepEnds.count < steps { timed?.reset() }
                                   })
        }
        let samples = try timed.map(sample) ?? sample(backend)
        var stepTimes: [Double] = []
        var previous = samplingStart
        for end in stepEnds {
            stepTimes.append(end.timeIntervalSince(previous))
            previous = end
        }

        let fileSize = (try? FileManager.default.attributesOfItem(atPath: checkpoint)[.size] as? NSNumber)?.int64Value ?? 0
        print("checkpoint: \(checkpoint) (\(fileSize / 1_048_576) MiB)\(cold ? ", cold page cache" : "")")
        print("UNet weights: \(weights); image \(size)x\(size), latent \(size / 8)x\(size / 8), euler/normal, cfg \(cfg), batch 1")
        print(String(format: "open + detect: %.3f s; UNet load: %.3f s; CLIP load + 2 encodes: %.3f s",
                     opened.timeIntervalSince(start), unetLoaded.timeIntervalSince(opened), encoded.timeIntervalSince(unetLoaded)))
        print(String(format: "checkpoint open to end of first step: %.3f s (first step %.3f s)",
                     (stepEnds.first ?? samplingStart).timeIntervalSince(start) - encoded.timeIntervalSince(unetLoaded),
                     stepTimes.first ?? 0))
        let later = stepTimes.dropFirst()
        let perStep = later.isEmpty ? (stepTimes.first ?? 0) : later.reduce(0, +) / Double(later.count)
        print(String(format: "sampling: %@ s per step; mean after the first: %.3f s/step",
                     stepTimes.map { String(format: "%.3f", $0) }.joined(separator: ", "), perStep))
        if let timed { BenchOpProfile.print(timed.report) }
        if !noDecode {
            let vae = try AutoencoderKL(checkpoint: file, configuration: config.vae)
            file.mapping.releaseResidentPages()
            let decodeStart = Date()
            let image = vae.decode(samples, backend: backend)
            let decodeTime = Date().timeIntervalSince(decodeStart)
            print(String(format: "VAE decode %dx%d: %.3f s (output %@)", size, size, decodeTime, "\(image.shape)"))
            if let output {
                // The VAE's −1…1 range to ComfyUI's 0…1 image, channels last, 8-bit.
                let pixels = image.permuted([0, 2, 3, 1]).contiguous()
                let rgb = Tensor(shape: pixels.shape, scalars: pixels.scalars.map { min(max(($0 + 1) / 2, 0), 1) })
                let png = try encodePNG(rgb.imagePixels(batch: 0), width: size, height: size, channels: 3)
                try Data(png).write(to: URL(fileURLWithPath: output))
                print("decoded image written to \(output)")
            }
        }
        print(String(format: "peak resident memory: %.0f MiB", Double(BenchMemory.peakResidentBytes()) / 1_048_576))
    }
}

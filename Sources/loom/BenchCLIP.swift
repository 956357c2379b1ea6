import ArgumentParser
import Checkpoints
import Foundation
import Models
import TensorCPU
import TensorCore
import Tokenizers

/// A token as the encoder reads it (the benchmark's own adapter over ``TokenWeight``).
struct BenchToken: WeightedToken {
    var id: Int
    var weight: Double
}

/// `loom bench clip`: checkpoint open/detect time, CLIP text encoder load time, memory after load,
/// and encode time for one prompt on the CPU backend.
struct BenchCLIP: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "clip", abstract: "Checkpoint load and CLIP encode timings.")

    @Option(help: "An SD1.x single-file checkpoint (.safetensors).") var checkpoint: String
    @Option(help: "Prompt to encode.") var prompt = "a photograph of an astronaut riding a horse, highly detailed"
    @Option(name: .customLong("repeat"), help: "Encode repetitions (the median is reported).") var repetitions = 5
    @Flag(help: "Evict the file from the page cache first (posix_fadvise DONTNEED) to time a cold load.") var cold = false
    @Flag(help: "Widen the CLIP weights to float32 once at load instead of at every use.") var f32 = false


    func run() async throws {
        if cold { BenchMemory.evictFromPageCache(checkpoint) }
        let rssBefore = BenchMemory.residentBytes()
        let t0 = Date()
        let file = try SafetensorsFile(path: checkpoint)
        let detected = try ModelDetection.detect(file)
        let t1 = Date()
        guard case .sd1(let config) = detected else { throw ValidationError("not an SD1.x checkpoint") }
        var encoder = try CLIPTextEncoder(checkpoint: file, configuration: CLIPTextEncoderConfiguration(sd1: config))
        if f32 { encoder = encoder.converted(to: .float32) }
        let t2 = Date()
        let rssAfterLoad = BenchMemory.residentBytes()
        let tokenizer = try CLIPTokenizer()
        let windows = tokenizer.tokenizeWithWeights(prompt).map { $0.map { BenchToken(id: $0.id, weight: $0.weight) } }
        let backend = try CPUBackend()
        var times: [Double] = []
        for _ in 0..<max(1, repetitions) {
            let s = Date()
            _ = encoder.encode(windows, backend: backend)
            times.append(Date().timeIntervalSince(s))
        }
        let first = times[0]
        times.sort()
        let size = (try? FileManager.default.attributesOfItem(atPath: checkpoint)[.size] as? NSNumber)?.int64Value ?? 0
        print("checkpoint: \(checkpoint) (\(size / 1_048_576) MiB, \(file.tensors.count) tensors)\(cold ? ", cold page cache" : "")")
        print(String(format: "open + validate + detect: %.1f ms", t1.timeIntervalSince(t0) * 1000))
        print(String(format: "CLIP text encoder load: %.1f ms (weights %@)", t2.timeIntervalSince(t1) * 1000, f32 ? "widened to f32" : "as stored, zero-copy"))
        print(String(format: "resident memory: %.0f MiB before, %.0f MiB after load, peak %.0f MiB",
                     Double(rssBefore) / 1_048_576, Double(rssAfterLoad) / 1_048_576, Double(BenchMemory.peakResidentBytes()) / 1_048_576))
        print(String(format: "CLIP encode, 1 window: first %.3f s (pages the weights in), median %.3f s, min %.3f s (%d runs)",
                     first, times[times.count / 2], times[0], times.count))
    }
}

/// Process memory figures from /proc/self/status, and page-cache eviction.
enum BenchMemory {
    static func residentBytes() -> Int64 { statusField("VmRSS:") }
    static func peakResidentBytes() -> Int64 { statusField("VmHWM:") }

    /// Resets the peak (VmHWM) to the current resident size (Linux `clear_refs` 5).
    static func resetPeak() {
        try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
    }

    private static func statusField(_ name: String) -> Int64 {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix(name) {
            // "VmHWM:\t  5807744 kB": a tab, then padding spaces that vanish from 10 GB (8 digits) up.
            let kb = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first.flatMap { Int64($0) } ?? 0
            return kb * 1024
        }
        return 0
    }

    /// Asks the kernel to drop the file's cached pages, so the next read comes from disk.
    static func evictFromPageCache(_ path: String) {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return }
        _ = posix_fadvise(fd, 0, 0, Int32(POSIX_FADV_DONTNEED))
        close(fd)
    }
}

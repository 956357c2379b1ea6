import LoomTestSupport
import Checkpoints
import Foundation
import Models
import Testing
import TensorCore
import Tokenizers

/// Figures for issue 3's closing note: text-encoder load time and one-window encode time on the test
/// backend. Printed, not asserted (machine-dependent); run alone so that other tests do not share the
/// cores: `LOOM_BENCH=1 swift test --filter CLIPTimingTests`.
@Suite("CLIP text encoder timings", .enabled(if: ProcessInfo.processInfo.environment["LOOM_BENCH"] != nil), .serialized)
struct CLIPTimingTests {
    @Test("load and one-prompt encode time")
    func timings() throws {
        let path = try ModelFixtures.reduced()
        let backend = try testBackend()
        let windows = try CLIPTokenizer().tokenizeWithWeights("a photograph of an astronaut riding a horse")

        let loadStart = ContinuousClock.now
        let checkpoint = try SafetensorsFile(path: path)
        let encoder = try CLIPTextEncoder(checkpoint: checkpoint)
        let load = ContinuousClock.now - loadStart

        _ = encoder.encode(windows, backend: backend)  // warm-up: page in the weights, build kernels
        var runs: [Duration] = []
        for _ in 0..<3 {
            let start = ContinuousClock.now
            let (cond, _) = encoder.encode(windows, backend: backend)
            runs.append(ContinuousClock.now - start)
            #expect(cond.shape == [1, 77, 768])
        }
        runs.sort()
        let convertStart = ContinuousClock.now
        let converted = encoder.parameters.values.reduce(0) { $0 + $1.contiguous(as: .float32).count }
        let convert = ContinuousClock.now - convertStart
        let resident = encoder.converted(to: .float32)
        _ = resident.encode(windows, backend: backend)
        var residentRuns: [Duration] = []
        for _ in 0..<3 {
            let start = ContinuousClock.now
            let (cond, _) = resident.encode(windows, backend: backend)
            residentRuns.append(ContinuousClock.now - start)
            #expect(cond == encoder.encode(windows, backend: backend).conditioning)
        }
        residentRuns.sort()
        print("CLIP timings (\(type(of: backend))): encode one window with f32-resident weights: median \(residentRuns[1]), min \(residentRuns[0])")
        print("CLIP timings: converting all \(converted) f16 weights to f32 once (Tensor.contiguous(as:)) takes \(convert)")
        print("CLIP timings (\(type(of: backend))): open + load text encoder \(load) (zero-copy, \(encoder.parameterCount) parameters, "
            + "\(encoder.parameterBytes >> 20) MiB f16); encode one window: median \(runs[1]), min \(runs[0])")
    }
}

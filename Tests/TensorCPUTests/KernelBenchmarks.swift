import CBLAS
import Foundation
import Testing
import TensorCPU

/// Throughput figures for the closing note; run with `LOOM_BENCH=1 swift test --filter KernelBenchmarks`.
///
/// TensorCPU is compiled with `-O` even in debug builds, so these figures hold for a debug test run too.
@Suite("TensorCPU benchmarks", .enabled(if: ProcessInfo.processInfo.environment["LOOM_BENCH"] != nil), .serialized)
struct KernelBenchmarks {
    /// Best-of-`repeats` seconds for `body`, after one warm-up call.
    func seconds(repeats: Int = 5, _ body: () throws -> Void) rethrows -> Double {
        try body()
        var best = Double.infinity
        for _ in 0..<repeats {
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return best
    }

    @Test func gemm() throws {
        let engine = try CPUEngine()
        print("bench: \(CPUEngine.dnnlVersion); \(CPUEngine.openBLASConfiguration); threads \(engine.threads)")
        for n in [256, 512, 1024, 2048] {
            var random = SeededRandom(seed: UInt64(n))
            let a = random.floats(n * n), b = random.floats(n * n)
            var c = [Float](repeating: 0, count: n * n)
            let flops = 2 * Double(n) * Double(n) * Double(n)
            let repeats = n >= 2048 ? 3 : 10
            let blas = seconds(repeats: repeats) {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(n), Int32(n), 1, a, Int32(n),
                            b, Int32(n), 0, &c, Int32(n))
            }
            let tensorCPU = seconds(repeats: repeats) {
                engine.sgemm(m: n, n: n, k: n, a: a, lda: n, b: b, ldb: n, c: &c, ldc: n)
            }
            let dnnl = seconds(repeats: repeats) {
                engine.sgemm(m: n, n: n, k: n, a: a, lda: n, b: b, ldb: n, c: &c, ldc: n, backend: .oneDNN)
            }
            let transB = seconds(repeats: repeats) {
                engine.sgemm(transB: true, m: n, n: n, k: n, a: a, lda: n, b: b, ldb: n, c: &c, ldc: n)
            }
            print(String(format: "bench: sgemm %4d: cblas_sgemm %6.1f GFLOP/s | TensorCPU sgemm %6.1f | TensorCPU tB %6.1f | oneDNN matmul %6.1f",
                         n, flops / blas / 1e9, flops / tensorCPU / 1e9, flops / transB / 1e9, flops / dnnl / 1e9))
        }
    }

    @Test func batchedSmallGEMM() throws {
        // Attention-sized products: 8 heads of [77 × 64]·[64 × 77] (CLIP) and [256 × 40]·[40 × 256].
        let engine = try CPUEngine()
        for (heads, m, k) in [(12, 77, 64), (8, 256, 40), (8, 1024, 40)] {
            var random = SeededRandom(seed: 7)
            let a = random.floats(heads * m * k), b = random.floats(heads * m * k)
            var c = [Float](repeating: 0, count: heads * m * m)
            let flops = 2 * Double(heads * m * m * k)
            var figures: [String] = []
            for backend in [GEMMBackend.openBLAS, .oneDNN, .automatic] {
                let t = seconds(repeats: 20) {
                    engine.sgemm(transB: true, m: m, n: m, k: k, a: a, lda: k, b: b, ldb: k, c: &c, ldc: m,
                                 batch: heads, strideA: m * k, strideB: m * k, strideC: m * m, backend: backend)
                }
                figures.append(String(format: "%@ %.1f GFLOP/s", "\(backend)", flops / t / 1e9))
            }
            print("bench: batched sgemm \(heads)×[\(m)×\(k)]·[\(k)×\(m)]: " + figures.joined(separator: " | "))
        }
    }

    @Test func convolution3x3() throws {
        let engine = try CPUEngine()
        let p = ConvolutionParameters(batch: 1, inChannels: 320, outChannels: 320, inputSize: [64, 64],
                                      kernelSize: [3, 3], padding: [1, 1])
        var random = SeededRandom(seed: 3)
        let x = random.floats(p.inputShape.reduce(1, *)), w = random.floats(p.weightShape.reduce(1, *))
        let bias = random.floats(320)
        var y = [Float](repeating: 0, count: p.outputShape.reduce(1, *))
        let t = try seconds(repeats: 5) { try engine.convolution(p, input: x, weight: w, bias: bias, output: &y) }
        let flops = 2 * Double(320 * 320 * 9 * 64 * 64)
        print(String(format: "bench: conv2d 3x3 320->320 64x64 (N=1): %.1f ms, %.1f GFLOP/s", t * 1e3, flops / t / 1e9))
    }

    @Test func attention4096() throws {
        // SD1.5 at 512×512: 8 heads, 4096 tokens, head dim 40, self-attention.
        let engine = try CPUEngine()
        let (h, l, d) = (8, 4096, 40)
        var random = SeededRandom(seed: 11)
        let q = random.floats(h * l * d), k = random.floats(h * l * d), v = random.floats(h * l * d)
        var out = [Float](repeating: 0, count: h * l * d)
        let t = try seconds(repeats: 2) {
            try engine.attention(q: q, k: k, v: v, out: &out, batch: 1, heads: h, queryLength: l, keyLength: l, headDim: d)
        }
        let flops = 4 * Double(h) * Double(l) * Double(l) * Double(d)
        print(String(format: "bench: attention B1 H8 L4096 D40: %.1f ms, %.1f GFLOP/s (score buffer 16 MiB)", t * 1e3, flops / t / 1e9))
    }

    @Test func pointwise() throws {
        let engine = try CPUEngine()
        let count = 2 * 320 * 64 * 64
        var random = SeededRandom(seed: 5)
        let x = random.floats(count), gamma = random.floats(320), beta = random.floats(320)
        var y = [Float](repeating: 0, count: count)
        let gn = seconds { engine.groupNorm(x: x, y: &y, batch: 2, channels: 320, spatial: 4096, groups: 32, eps: 1e-5, gamma: gamma, beta: beta) }
        let silu = try seconds { try engine.activation(.silu, x: x, y: &y, count: count) }
        let gelu = try seconds { try engine.activation(.gelu, x: x, y: &y, count: count) }
        let add = seconds { engine.binary(.add, a: x, aShape: [count], b: x, bShape: [count], out: &y) }
        let ln = seconds { engine.layerNorm(x: x, y: &y, rows: count / 320, dim: 320, eps: 1e-5, gamma: gamma, beta: beta) }
        print(String(format: "bench: [2,320,64,64]: groupNorm %.2f ms, layerNorm(320) %.2f ms, silu %.2f ms, gelu %.2f ms, add %.2f ms",
                     gn * 1e3, ln * 1e3, silu * 1e3, gelu * 1e3, add * 1e3))
    }
}

import CBLAS
import Foundation
import Testing
import TensorCore
import TensorCPU

/// ``CPUBackend`` throughput at the ``Backend`` level (views, conversions and output allocation included), next to
/// the raw OpenBLAS call; run with `LOOM_BENCH=1 swift test --filter BackendBenchmarks`.
@Suite("CPUBackend benchmarks", .enabled(if: ProcessInfo.processInfo.environment["LOOM_BENCH"] != nil), .serialized)
struct BackendBenchmarks {
    func seconds(repeats: Int = 5, _ body: () -> Void) -> Double {
        body()
        var best = Double.infinity
        for _ in 0..<repeats {
            let start = DispatchTime.now().uptimeNanoseconds
            body()
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return best
    }

    @Test func matmulAndLinear() throws {
        let backend = try CPUBackend()
        for n in [512, 1024] {
            var random = SeededRandom(seed: UInt64(n))
            let a = random.tensor([n, n]), b = random.tensor([n, n])
            let flops = 2 * Double(n) * Double(n) * Double(n)
            let x = a.scalars, y = b.scalars
            var c = [Float](repeating: 0, count: n * n)
            let blas = seconds {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(n), Int32(n), 1, x, Int32(n),
                            y, Int32(n), 0, &c, Int32(n))
            }
            let dense = seconds { _ = backend.matmul(a, b) }
            let transposed = seconds { _ = backend.matmul(a, b.transposed(0, 1)) }
            let linear = seconds { _ = backend.linear(a, weight: b, bias: nil) }
            print(String(format: "bench: backend %4d: cblas_sgemm %6.1f GFLOP/s | matmul %6.1f | matmul bᵀ view %6.1f | linear %6.1f",
                         n, flops / blas / 1e9, flops / dense / 1e9, flops / transposed / 1e9, flops / linear / 1e9))
        }
    }

    @Test func clipAttention() throws {
        let backend = try CPUBackend()
        var random = SeededRandom(seed: 3)
        let q = random.tensor([1, 77, 12, 64]).permuted([0, 2, 1, 3])
        let causal = Tensor(shape: [77, 77], scalars: (0..<(77 * 77)).map { $0 % 77 > $0 / 77 ? -.infinity : 0 })
        let permuted = seconds(repeats: 20) { _ = backend.attention(query: q, key: q, value: q, mask: causal, scale: nil) }
        let dense = q.contiguous()
        let contiguous = seconds(repeats: 20) {
            _ = backend.attention(query: dense, key: dense, value: dense, mask: causal, scale: nil)
        }
        print(String(format: "bench: CLIP attention 12×77×64: permuted views %.3f ms | contiguous %.3f ms",
                     permuted * 1e3, contiguous * 1e3))
    }
}

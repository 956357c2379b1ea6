import ArgumentParser
import CBLAS
import Foundation
import TensorCPU

/// `loom bench gemm`: single-precision GEMM throughput of the CPU backend beside OpenBLAS's own
/// `cblas_sgemm` on the same machine, plus one SD-sized convolution.
struct BenchGEMM: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "gemm", abstract: "GEMM GFLOP/s: TensorCPU vs cblas_sgemm.")

    @Option(help: "Square sizes to measure.") var sizes: [Int] = [256, 512, 1024, 2048]
    @Option(name: .customLong("repeat"), help: "Repetitions per size (the best is reported).") var repetitions = 5


    func run() async throws {
        let engine = try CPUEngine()
        print("threads: \(engine.threads); \(CPUEngine.dnnlVersion)")
        for n in sizes {
            let a = (0..<(n * n)).map { Float(($0 * 7919) % 1000) / 1000 - 0.5 }
            let b = (0..<(n * n)).map { Float(($0 * 104_729) % 1000) / 1000 - 0.5 }
            var c = [Float](repeating: 0, count: n * n)
            let flops = 2.0 * Double(n) * Double(n) * Double(n)
            func best(_ body: () -> Void) -> Double {
                body()  // warm-up
                var t = Double.infinity
                for _ in 0..<max(1, repetitions) {
                    let s = Date()
                    body()
                    t = min(t, Date().timeIntervalSince(s))
                }
                return flops / t / 1e9
            }
            let ours = best {
                a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in c.withUnsafeMutableBufferPointer { pc in
                    engine.sgemm(m: n, n: n, k: n, a: pa.baseAddress!, lda: n, b: pb.baseAddress!, ldb: n, c: pc.baseAddress!, ldc: n)
                } } }
            }
            let blas = best {
                a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in c.withUnsafeMutableBufferPointer { pc in
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(n), Int32(n), 1, pa.baseAddress, Int32(n),
                                pb.baseAddress, Int32(n), 0, pc.baseAddress, Int32(n))
                } } }
            }
            print(String(format: "sgemm %5d: TensorCPU %6.1f GFLOP/s   cblas_sgemm %6.1f GFLOP/s", n, ours, blas))
        }
    }
}

import Foundation
import Testing
import TensorCPU

/// One row of the parity table: a kernel run on seeded random inputs by TensorCPU and by ``KernelReference``.
struct KernelCase: Sendable, CustomTestStringConvertible {
    /// Op name plus the shape, e.g. `"sgemm 3x7x17 tA"`.
    let name: String
    /// Allowed `max |fast - reference|`, relative to `max(1, max |reference|)`.
    let tolerance: Float
    /// Runs both implementations and returns (fast, reference) outputs.
    let run: @Sendable (CPUEngine, inout SeededRandom) throws -> (fast: [Float], reference: [Float])

    var testDescription: String { name }
}

/// SplitMix64: a small, seeded, reproducible generator for test inputs.
struct SeededRandom {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// `count` floats uniform in `[-scale, scale)`.
    mutating func floats(_ count: Int, scale: Float = 1) -> [Float] {
        (0..<count).map { _ in (Float(next() >> 40) / Float(1 << 24) * 2 - 1) * scale }
    }
}

/// Runs `body` with mutable buffers for the fast and the reference output, both starting from `initial`.
func outputs(
    _ initial: [Float], _ body: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) throws -> Void
) rethrows -> ([Float], [Float]) {
    var fast = initial, reference = initial
    try fast.withUnsafeMutableBufferPointer { f in
        try reference.withUnsafeMutableBufferPointer { r in try body(f.baseAddress!, r.baseAddress!) }
    }
    return (fast, reference)
}

@Suite("TensorCPU kernels match their naive references")
struct KernelParityTests {
    static let engine = try! CPUEngine()

    @Test(arguments: KernelTable.all)
    func parity(_ kernel: KernelCase) throws {
        var random = SeededRandom(seed: 0x5EED ^ UInt64(kernel.name.utf8.reduce(0) { $0 &* 31 &+ Int($1) } & 0xFFFF))
        let (fast, reference) = try kernel.run(Self.engine, &random)
        #expect(fast.count == reference.count)
        let magnitude = max(1, reference.map { abs($0) }.max() ?? 0)
        let maxDiff = zip(fast, reference).map { abs($0 - $1) }.max() ?? 0
        if ProcessInfo.processInfo.environment["LOOM_KERNEL_DIFFS"] != nil {
            print("parity \(kernel.name): max abs diff \(maxDiff) (magnitude \(magnitude), tolerance \(kernel.tolerance))")
        }
        #expect(!maxDiff.isNaN, "\(kernel.name): NaN in output")
        #expect(maxDiff <= kernel.tolerance * magnitude,
                "\(kernel.name): max abs diff \(maxDiff) > \(kernel.tolerance) × \(magnitude)")
    }

    @Test func primitivesAreCached() throws {
        let engine = try CPUEngine(threads: 1)
        let x = [Float](repeating: 0.5, count: 64)
        var y = [Float](repeating: 0, count: 64)
        try engine.softmax(x: x, y: &y, rows: 4, dim: 16)
        let afterFirst = engine.cachedPrimitiveCount
        try engine.softmax(x: x, y: &y, rows: 4, dim: 16)
        #expect(afterFirst == 1)
        #expect(engine.cachedPrimitiveCount == afterFirst)
        #expect(abs(y[0] - 1.0 / 16) < 1e-6)
    }

    @Test func convolutionRejectsInvalidGroups() throws {
        let p = ConvolutionParameters(batch: 1, inChannels: 3, outChannels: 4, inputSize: [4, 4], kernelSize: [3, 3],
                                      groups: 2)
        #expect(throws: KernelError.self) { try p.validate() }
    }

    @Test func runtimeIsReported() {
        #expect(CPUEngine.dnnlVersion.contains("oneDNN 2."))
    }
}

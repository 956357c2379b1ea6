import Testing
import TensorCore

/// The op-timing wrapper behind `loom bench … --op-profile`: results are the wrapped backend's, each call is counted
/// under its op and operand shapes, and `reset` forgets what was recorded.
struct TimedBackendTests {
    @Test func forwardsEveryCallAndCountsItByOpAndShapes() {
        let base = ReferenceBackend()
        let timed = TimedBackend(base)
        let x = Tensor(shape: [2, 3], scalars: [1, -2, 3, -4, 5, -6])
        let weight = Tensor(shape: [4, 3], scalars: (0..<12).map { Float($0) * 0.5 })
        #expect(timed.linear(x, weight: weight, bias: nil).scalars == base.linear(x, weight: weight, bias: nil).scalars)
        _ = timed.linear(x, weight: weight, bias: nil)
        #expect(timed.unary(.silu, x).scalars == base.unary(.silu, x).scalars)
        _ = timed.contiguous(x.transposed(0, 1))

        let report = Dictionary(uniqueKeysWithValues: timed.report.map { ($0.key, $0.entry) })
        #expect(report["linear [2, 3] [4, 3]"]?.calls == 2)
        #expect(report["silu [2, 3]"]?.calls == 1)
        #expect(report["contiguous [3, 2]*"]?.calls == 1)  // a non-contiguous operand is starred
        #expect(report.count == 3)
        #expect(report.values.allSatisfy { $0.seconds >= 0 })

        timed.reset()
        #expect(timed.report.isEmpty)
    }
}

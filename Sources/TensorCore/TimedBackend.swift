import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Forwards every op to `base` and adds up the wall time each kind of call takes, keyed by the op and its operand
/// shapes (and weight dtype), for `loom bench … --op-profile`: which ops a model step spends its time in.
public final class TimedBackend<Base: Backend>: Backend {
    public let base: Base
    private let totals = Mutex<[String: Entry]>([:])

    /// Calls and seconds of one key.
    public struct Entry: Sendable {
        public var calls = 0
        public var seconds = 0.0
    }

    public init(_ base: Base) { self.base = base }

    /// Every key with its totals, the most expensive first.
    public var report: [(key: String, entry: Entry)] {
        totals.withLock { $0 }.sorted { $0.value.seconds > $1.value.seconds }.map { ($0.key, $0.value) }
    }

    /// Forgets what was recorded so far.
    public func reset() { totals.withLock { $0 = [:] } }

    private func timed(_ name: String, _ tensors: [Tensor?], _ body: () -> Tensor) -> Tensor {
        var start = timespec(), end = timespec()
        clock_gettime(CLOCK_MONOTONIC, &start)
        let result = body()
        clock_gettime(CLOCK_MONOTONIC, &end)
        let seconds = Double(end.tv_sec - start.tv_sec) + Double(end.tv_nsec - start.tv_nsec) / 1e9
        let key = name + " " + tensors.map { t in
            guard let t else { return "-" }
            return "\(t.shape)" + (t.dtype == .float32 ? "" : ":\(t.dtype)") + (t.isContiguous ? "" : "*")
        }.joined(separator: " ")
        totals.withLock { table in
            table[key, default: Entry()].calls += 1
            table[key, default: Entry()].seconds += seconds
        }
        return result
    }

    public func matmul(_ a: Tensor, _ b: Tensor) -> Tensor { timed("matmul", [a, b]) { base.matmul(a, b) } }

    public func linear(_ x: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
        timed("linear", [x, weight]) { base.linear(x, weight: weight, bias: bias) }
    }

    public func convolution(_ x: Tensor, weight: Tensor, bias: Tensor?, stride: [Int], padding: [Int],
                            dilation: [Int], groups: Int) -> Tensor {
        timed("convolution", [x, weight]) {
            base.convolution(x, weight: weight, bias: bias, stride: stride, padding: padding, dilation: dilation,
                             groups: groups)
        }
    }

    public func groupNorm(_ x: Tensor, groups: Int, weight: Tensor?, bias: Tensor?, epsilon: Float) -> Tensor {
        timed("groupNorm", [x]) { base.groupNorm(x, groups: groups, weight: weight, bias: bias, epsilon: epsilon) }
    }

    public func groupNorm(_ x: Tensor, groups: Int, weight: Tensor?, bias: Tensor?, epsilon: Float,
                          activation: UnaryOp) -> Tensor {
        timed("groupNorm+\(activation.rawValue)", [x]) {
            base.groupNorm(x, groups: groups, weight: weight, bias: bias, epsilon: epsilon, activation: activation)
        }
    }

    public func weightedSum(_ a: Tensor, _ wa: Float, _ b: Tensor, _ wb: Float) -> Tensor {
        timed("weightedSum", [a, b]) { base.weightedSum(a, wa, b, wb) }
    }

    public func gegluFeedForward(_ x: Tensor, projection: Tensor, projectionBias: Tensor?, output: Tensor,
                                 outputBias: Tensor?) -> Tensor {
        timed("gegluFeedForward", [x, projection, output]) {
            base.gegluFeedForward(x, projection: projection, projectionBias: projectionBias, output: output,
                                  outputBias: outputBias)
        }
    }

    public func layerNorm(_ x: Tensor, weight: Tensor?, bias: Tensor?, epsilon: Float) -> Tensor {
        timed("layerNorm", [x]) { base.layerNorm(x, weight: weight, bias: bias, epsilon: epsilon) }
    }

    public func softmax(_ x: Tensor) -> Tensor { timed("softmax", [x]) { base.softmax(x) } }

    public func attention(query: Tensor, key: Tensor, value: Tensor, mask: Tensor?, scale: Float?) -> Tensor {
        timed("attention", [query, key, value, mask]) {
            base.attention(query: query, key: key, value: value, mask: mask, scale: scale)
        }
    }

    public func unary(_ op: UnaryOp, _ x: Tensor) -> Tensor { timed(op.rawValue, [x]) { base.unary(op, x) } }

    public func binary(_ op: BinaryOp, _ a: Tensor, _ b: Tensor) -> Tensor {
        timed(op.rawValue, [a, b]) { base.binary(op, a, b) }
    }

    public func affine(_ x: Tensor, scale: Float, shift: Float) -> Tensor {
        timed("affine", [x]) { base.affine(x, scale: scale, shift: shift) }
    }

    public func reduce(_ op: ReduceOp, _ x: Tensor, dims: [Int], keepDims: Bool) -> Tensor {
        timed("reduce-\(op.rawValue)", [x]) { base.reduce(op, x, dims: dims, keepDims: keepDims) }
    }

    public func embedding(_ ids: Tensor, table: Tensor) -> Tensor {
        timed("embedding", [ids, table]) { base.embedding(ids, table: table) }
    }

    public func interpolate(_ x: Tensor, size: (height: Int, width: Int), mode: InterpolationMode) -> Tensor {
        timed("interpolate-\(mode.rawValue)", [x]) { base.interpolate(x, size: size, mode: mode) }
    }

    public func contiguous(_ x: Tensor) -> Tensor { timed("contiguous", [x]) { base.contiguous(x) } }

    public func channelsLast(_ x: Tensor) -> Tensor { timed("channelsLast", [x]) { base.channelsLast(x) } }
}

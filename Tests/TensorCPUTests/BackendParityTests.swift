import Foundation
import Testing
import TensorCore
import TensorCPU

/// One row of the backend parity table: a ``Backend`` op run on seeded random inputs by ``CPUBackend`` and by
/// ``ReferenceBackend``.
struct BackendCase: Sendable, CustomTestStringConvertible {
    /// The protocol requirement exercised, e.g. `"matmul"` (checked against `Backend.swift`).
    let op: String
    /// The op's variant (`UnaryOp`, `BinaryOp`, `ReduceOp` or `InterpolationMode` raw value), when it has one.
    let variant: String?
    /// Op, variant, shapes and layouts, e.g. `"matmul [2,3,5,7]·[7,9] permuted"`.
    let name: String
    /// Allowed `max |fast - reference|`, relative to `max(1, max |reference|)`.
    let tolerance: Float
    /// Runs the op on a backend; called once per backend with identically seeded generators, so both see the same
    /// inputs.
    let run: @Sendable (any Backend, inout SeededRandom) -> Tensor

    init(_ op: String, _ variant: String? = nil, _ name: String, tolerance: Float,
         run: @escaping @Sendable (any Backend, inout SeededRandom) -> Tensor) {
        self.op = op
        self.variant = variant
        self.name = "\(op)\(variant.map { " \($0)" } ?? "") \(name)"
        self.tolerance = tolerance
        self.run = run
    }

    var testDescription: String { name }
}

/// How a random test input is laid out in memory (the logical shape and values are the same for every layout).
enum InputLayout: String, Sendable, CaseIterable {
    case dense
    /// A transposed view of the last two dimensions (unit stride on the row dimension).
    case permuted
    /// A window into a larger tensor (offset, row strides longer than the rows).
    case narrowed
    /// The first dimension broadcast from size 1 with stride 0.
    case expanded
    /// Stored as float16.
    case float16
    /// Stored as bfloat16.
    case bfloat16
}

extension SeededRandom {
    /// A float32 tensor of `shape`, uniform in `[shift - scale, shift + scale)`, laid out as `layout`.
    mutating func tensor(_ shape: [Int], _ layout: InputLayout = .dense, scale: Float = 1, shift: Float = 0) -> Tensor {
        let rank = shape.count
        switch layout {
        case .dense:
            return Tensor(shape: shape, scalars: floats(Tensor.elementCount(shape), scale: scale).map { $0 + shift })
        case .permuted where rank >= 2:
            var stored = shape
            stored.swapAt(rank - 1, rank - 2)
            return tensor(stored, scale: scale, shift: shift).transposed(-1, -2)
        case .narrowed where rank >= 1:
            var big = shape
            big[rank - 1] += 3
            if rank > 1 { big[0] += 1 }
            let window = tensor(big, scale: scale, shift: shift).narrowed(dim: rank - 1, start: 2, length: shape[rank - 1])
            return rank > 1 ? window.narrowed(dim: 0, start: 1, length: shape[0]) : window
        case .expanded where rank >= 1:
            var one = shape
            one[0] = 1
            return tensor(one, scale: scale, shift: shift).expanded(to: shape)
        case .float16:
            return tensor(shape, scale: scale, shift: shift).contiguous(as: .float16)
        case .bfloat16:
            return tensor(shape, scale: scale, shift: shift).contiguous(as: .bfloat16)
        default:
            return tensor(shape, scale: scale, shift: shift)
        }
    }

    /// `count` int64 ids uniform in `0..<upper`.
    mutating func ids(_ shape: [Int], below upper: Int) -> Tensor {
        Tensor(shape: shape, int64s: (0..<Tensor.elementCount(shape)).map { _ in Int64(next() % UInt64(upper)) })
    }
}

@Suite("CPUBackend matches ReferenceBackend on every op")
struct BackendParityTests {
    static let cpu = try! CPUBackend()
    static let reference = ReferenceBackend()

    @Test(arguments: BackendTable.all)
    func parity(_ row: BackendCase) {
        let seed = 0xBAC4 ^ UInt64(row.name.utf8.reduce(0) { $0 &* 31 &+ Int($1) } & 0xFFFF)
        var fastRandom = SeededRandom(seed: seed), referenceRandom = SeededRandom(seed: seed)
        let fast = row.run(Self.cpu, &fastRandom)
        let expected = row.run(Self.reference, &referenceRandom)
        #expect(fast.shape == expected.shape, "\(row.name): shape \(fast.shape) vs \(expected.shape)")
        #expect(fast.dtype == .float32 && fast.isContiguous, "\(row.name): result is not dense float32")
        #expect(expected.dtype == .float32 && expected.isContiguous, "\(row.name): reference is not dense float32")
        guard fast.shape == expected.shape else { return }
        let a = fast.scalars, b = expected.scalars
        let magnitude = max(1, b.filter { $0.isFinite }.map { abs($0) }.max() ?? 0)
        var maxDiff: Float = 0
        for (x, y) in zip(a, b) {
            if x.isNaN || y.isNaN || x.isInfinite || y.isInfinite {
                #expect(x.isNaN == y.isNaN && (x.isNaN || x == y), "\(row.name): \(x) vs reference \(y)")
            } else {
                maxDiff = max(maxDiff, abs(x - y))
            }
        }
        if ProcessInfo.processInfo.environment["LOOM_BACKEND_DIFFS"] != nil {
            print("backend parity \(row.name): max abs diff \(maxDiff) (magnitude \(magnitude), tolerance \(row.tolerance))")
        }
        #expect(maxDiff <= row.tolerance * magnitude,
                "\(row.name): max abs diff \(maxDiff) > \(row.tolerance) × \(magnitude)")
    }

    /// The requirement names declared inside `public protocol Backend { … }` in TensorCore's `Backend.swift`.
    static func protocolRequirements() throws -> Set<String> {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let source = try String(contentsOf: root.appendingPathComponent("Sources/TensorCore/Backend.swift"), encoding: .utf8)
        guard let start = source.range(of: "public protocol Backend"),
              let end = source.range(of: "\n}", range: start.upperBound..<source.endIndex)
        else { throw CocoaError(.fileReadCorruptFile) }
        let body = source[start.upperBound..<end.lowerBound]
        let regex = try NSRegularExpression(pattern: #"\bfunc\s+(\w+)"#)
        let text = String(body)
        let matches = regex.matches(in: text, range: NSRange(text.startIndex..., in: text))
        return Set(matches.map { String(text[Range($0.range(at: 1), in: text)!]) })
    }

    @Test func everyProtocolOpIsInTheTable() throws {
        let required = try Self.protocolRequirements()
        #expect(required.count >= 14, "parsed only \(required.sorted()) from Backend.swift")
        let covered = Set(BackendTable.all.map(\.op))
        #expect(required.subtracting(covered).isEmpty, "ops missing from BackendTable: \(required.subtracting(covered).sorted())")
        #expect(covered.subtracting(required).isEmpty, "table ops not in Backend: \(covered.subtracting(required).sorted())")
    }

    @Test func everyVariantIsInTheTable() {
        func variants(_ op: String) -> Set<String> {
            Set(BackendTable.all.filter { $0.op == op }.compactMap(\.variant))
        }
        #expect(variants("unary") == Set(UnaryOp.allCases.map(\.rawValue)))
        #expect(variants("binary") == Set(TensorCore.BinaryOp.allCases.map(\.rawValue)))
        #expect(variants("reduce") == Set(ReduceOp.allCases.map(\.rawValue)))
        #expect(variants("interpolate") == Set(TensorCore.InterpolationMode.allCases.map(\.rawValue)))
    }

    @Test func inputsAreNotModified() {
        var random = SeededRandom(seed: 7)
        let x = random.tensor([3, 4, 5, 7]), copy = x.scalars
        let w = random.tensor([7]), b = random.tensor([7])
        for backend in [Self.cpu as any Backend, Self.reference] {
            for op in UnaryOp.allCases { _ = backend.unary(op, x) }
            _ = backend.affine(x, scale: 2, shift: 1)
            _ = backend.softmax(x)
            _ = backend.layerNorm(x, weight: w, bias: b, epsilon: 1e-5)
            _ = backend.groupNorm(x, groups: 2, weight: nil, bias: nil, epsilon: 1e-5)
            _ = backend.binary(.add, x, w)
            _ = backend.matmul(x, x.transposed(-1, -2))
            _ = backend.attention(query: x, key: x, value: x, mask: nil, scale: nil)
            _ = backend.interpolate(x, size: (3, 9), mode: .bilinear)
            #expect(x.scalars == copy)
        }
    }

    @Test func everyLayoutIsExercised() {
        for layout in InputLayout.allCases {
            #expect(BackendTable.all.contains { $0.name.contains(layout.rawValue) }, "no case uses \(layout)")
        }
    }
}

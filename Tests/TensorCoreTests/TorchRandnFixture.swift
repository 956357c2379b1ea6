import FolderPaths
import Foundation
import Testing
import Workflow

/// `shared/fixtures/torch_randn_vectors.json` (made by `shared/tools/torch_randn_reference.py`, checked against
/// torch 2.9.1), located from this file: `Tests/TensorCoreTests/` → package root → `../shared/fixtures/`.
enum TorchRandnFixture {
    struct Missing: Error, CustomStringConvertible {
        let path: String
        var description: String {
            "torch randn fixture not found at \(path): the shared folder (../shared next to the package) is required for these tests"
        }
    }

    static let path: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.appendingPathComponent("../shared/fixtures/torch_randn_vectors.json").standardized.path
    }()

    /// The parsed fixture; throws (failing the test) when the shared folder is missing.
    static func load() throws -> JSONValue {
        guard let data = FileManager.default.contents(atPath: path) else { throw Missing(path: path) }
        return try JSONValue.parse(Array(data))
    }

    /// Checks `values` against one vector record: the first 32 bit patterns, the exact float64 sum, the bit-pattern
    /// sum mod 2^32 and the sha256 of the little-endian float32 bytes.
    static func check(_ values: [Float], against record: JSONValue?, _ label: String,
                      sourceLocation: SourceLocation = #_sourceLocation) throws {
        let record = try #require(record, "\(label): no record", sourceLocation: sourceLocation)
        let expectedHex = try #require(record["first32_hex"]?.arrayValue, sourceLocation: sourceLocation)
            .compactMap(\.stringValue)
        let actualHex = values.prefix(32).map { hex8($0.bitPattern) }
        #expect(actualHex == expectedHex, "\(label): first values differ", sourceLocation: sourceLocation)

        let fsum = try #require(record["fsum"]?.doubleValue, sourceLocation: sourceLocation)
        #expect(ExactSum.fsum(values.lazy.map(Double.init)) == fsum, "\(label): fsum", sourceLocation: sourceLocation)

        let u32Sum = try #require(record["u32_sum_mod_2_32"]?.int64Value, sourceLocation: sourceLocation)
        let bitSum = values.reduce(UInt32(0)) { $0 &+ $1.bitPattern }
        #expect(Int64(bitSum) == u32Sum, "\(label): bit-pattern sum", sourceLocation: sourceLocation)

        let sha = try #require(record["sha256_f32le"]?.stringValue, sourceLocation: sourceLocation)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(values.count * 4)
        for value in values {
            let bits = value.bitPattern
            for shift in [0, 8, 16, 24] as [UInt32] { bytes.append(UInt8(truncatingIfNeeded: bits >> shift)) }
        }
        #expect(SHA256.hex(bytes) == sha, "\(label): sha256", sourceLocation: sourceLocation)
    }

    static func hex8(_ bits: UInt32) -> String {
        let digits = String(bits, radix: 16)
        return String(repeating: "0", count: 8 - digits.count) + digits
    }

    static func seed(_ value: JSONValue?) throws -> UInt64 {
        switch value {
        case .int(let i)?: return UInt64(bitPattern: i)
        case .uint(let u)?: return u
        default: throw Missing(path: "(bad seed \(String(describing: value)))")
        }
    }

    static func ints(_ value: JSONValue?) -> [Int]? {
        value?.arrayValue?.compactMap { $0.int64Value.map { Int($0) } }
    }
}

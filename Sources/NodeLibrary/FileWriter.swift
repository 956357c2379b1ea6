import Foundation
import Workflow

/// Writes node output files atomically (temporary file + rename), so a crash never leaves a
/// half-written image under its final name.
enum FileWriter {
    /// - Throws: ``NodeError`` when the file cannot be written.
    static func write(_ bytes: [UInt8], to path: String) throws {
        do {
            try Data(bytes).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw NodeError("Cannot write \(path): \(error.localizedDescription)", type: "loom.IOError")
        }
    }

    /// Reads a whole file.
    /// - Throws: ``NodeError`` when it cannot be read.
    static func read(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw NodeError("Cannot read \(path)", type: "loom.IOError")
        }
        return [UInt8](data)
    }
}

import ArgumentParser
import TensorCPU
import TensorCore

/// Benchmarks.
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Measure a ComfyUI-compatible server.", subcommands: [BenchAPI.self, BenchCLIP.self, BenchGEMM.self, BenchSD15.self, BenchSVD.self, BenchMedia.self, BenchQueue.self])
}

/// The table `--op-profile` prints: the costliest op keys of a ``TensorCore/TimedBackend``.
enum BenchOpProfile {
    static func print(_ report: [(key: String, entry: TimedBackend<CPUBackend>.Entry)], limit: Int = 45) {
        let total = report.reduce(0) { $0 + $1.entry.seconds }
        Swift.print(String(format: "backend ops of the last step: %.3f s in all", total))
        var byOp: [String: Double] = [:]
        for (key, entry) in report { byOp[String(key.prefix { $0 != " " }), default: 0] += entry.seconds }
        for (op, seconds) in byOp.sorted(by: { $0.value > $1.value }) {
            Swift.print(String(format: "  %8.3f s %5.1f%%  %@", seconds, 100 * seconds / max(total, 1e-9), op))
        }
        for (key, entry) in report.prefix(limit) {
            Swift.print(String(format: "  %8.3f s %6d×  %@", entry.seconds, entry.calls, key))
        }
    }
}

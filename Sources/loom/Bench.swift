import ArgumentParser

/// Benchmarks.
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Measure a ComfyUI-compatible server.", subcommands: [BenchAPI.self, BenchCLIP.self, BenchGEMM.self, BenchSD15.self, BenchSVD.self, BenchMedia.self, BenchQueue.self])
}

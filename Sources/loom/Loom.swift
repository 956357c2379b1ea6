import ArgumentParser
import Foundation

/// `loom`: a ComfyUI-compatible image and video generation server.
@main
struct Loom: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loom",
        abstract: "A ComfyUI-compatible image and video generation server.",
        subcommands: [Serve.self, Bench.self],
        defaultSubcommand: Serve.self)

    /// ComfyUI's command line has options Loom accepts but does not act on, and `--listen` with an
    /// optional value; both are normalised before ArgumentParser sees the arguments.
    static func main() async {
        lineBufferStandardOutput()
        var arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.first.map({ !["bench", "serve", "-h", "--help", "help"].contains($0) }) ?? true {
            arguments = ComfyArguments.normalise(arguments, notice: { print($0) })
        } else if arguments.first == "serve" {
            arguments = ["serve"] + ComfyArguments.normalise(Array(arguments.dropFirst()), notice: { print($0) })
        }
        do {
            var command = try parseAsRoot(arguments)
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}

/// Makes stdout line-buffered even when redirected to a file, so notices and the listening line
/// appear as they happen.
private func lineBufferStandardOutput() {
    nonisolated(unsafe) let out = stdout
    setvbuf(out, nil, _IOLBF, 0)
}

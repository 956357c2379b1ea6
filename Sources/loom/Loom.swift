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
        ThreadPolicy.applyBeforeStart()
        var arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.first.map({ !["bench", "serve", "-h", "--help", "help"].contains($0) }) ?? true {
            arguments = ComfyArguments.normalise(arguments, notice: { say($0) })
        } else if arguments.first == "serve" {
            arguments = ["serve"] + ComfyArguments.normalise(Array(arguments.dropFirst()), notice: { say($0) })
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

/// Writes a line to standard output at once (unbuffered, so it appears even when redirected).
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

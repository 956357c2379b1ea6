/// Rewrites a ComfyUI-style command line into what `loom serve` parses.
enum ComfyArguments {
    /// Options `loom serve` understands (with or without a value).
    static let known: Set<String> = [
        "--listen", "--port", "--data-dir", "--base-directory", "--output-directory", "--input-directory",
        "--temp-directory", "--user-directory", "--models-directory", "--multi-user", "--front-end-root",
        "--max-upload-size", "--cpu", "--disable-metadata", "--token", "--no-auth", "--history-max-items",
        "--history-max-age", "--log-level", "--bf16-unet", "--fp32-unet", "--max-attempts", "--cache-ram", "--queue-service", "--help", "-h",
    ]

    /// - `--listen` without an address means every IPv4 address (ComfyUI: `0.0.0.0,::`).
    /// - Options ComfyUI has and Loom ignores (`--preview-method auto`, `--highvram`, …) are dropped with
    ///   a one-line notice each, together with their values.
    static func normalise(_ arguments: [String], notice: (String) -> Void) -> [String] {
        var out: [String] = []
        var i = 0
        while i < arguments.count {
            let arg = arguments[i]
            let name = arg.split(separator: "=", maxSplits: 1).first.map(String.init) ?? arg
            if arg == "--listen" {
                out.append(arg)
                if i + 1 < arguments.count, !arguments[i + 1].hasPrefix("-") {
                    out.append(arguments[i + 1])
                    i += 2
                } else {
                    out.append("0.0.0.0")
                    i += 1
                }
                continue
            }
            if arg.hasPrefix("--"), !known.contains(name) {
                var values: [String] = []
                i += 1
                while !arg.contains("="), i < arguments.count, !arguments[i].hasPrefix("--") {
                    values.append(arguments[i])
                    i += 1
                }
                notice("Note: ignoring ComfyUI option \(([arg] + values).joined(separator: " ")) (it has no effect in Loom)")
                continue
            }
            out.append(arg)
            i += 1
        }
        return out
    }
}

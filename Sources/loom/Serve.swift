import ArgumentParser
import FolderPaths
import Foundation
import JobQueueSQLite
import MessageQueue
import Logging
import Server
import ServiceLifecycle
import TensorCPU
import TensorCore

/// Runs the server with an in-process worker (the standard edition).
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the server (the default command).")

    @Option(help: "Address to listen on; bare --listen means 0.0.0.0.") var listen = "127.0.0.1"
    @Option(help: "HTTP and WebSocket port.") var port = 8188
    @Option(name: [.customLong("data-dir"), .customLong("base-directory")], help: "Root of models/, input/, output/, temp/, user/.")
    var dataDir = "./data"
    @Option(name: .customLong("output-directory")) var outputDirectory: String?
    @Option(name: .customLong("input-directory")) var inputDirectory: String?
    @Option(name: .customLong("temp-directory"), help: "A 'temp' folder is created inside it, as ComfyUI does.")
    var tempDirectory: String?
    @Option(name: .customLong("user-directory")) var userDirectory: String?
    @Option(name: .customLong("models-directory")) var modelsDirectory: String?
    @Flag(name: .customLong("multi-user"), help: "Per-user settings and workflows (Comfy-User header).") var multiUser = false
    @Option(name: .customLong("front-end-root"), help: "Serve this web frontend build (default: LOOM_FRONTEND_ROOT, else the one scripts/setup.sh installs).") var frontEndRoot: String?
    @Option(name: .customLong("max-upload-size"), help: "Largest request body in MB.") var maxUploadSize: Double = 100
    @Flag(help: "Run on the CPU (the only device this build uses).") var cpu = false
    @Flag(name: .customLong("bf16-unet"), help: "Hold and run diffusion models (UNet) in bfloat16: faster, not bit-comparable with ComfyUI's float32 CPU output.")
    var bf16UNet = false
    @Flag(name: .customLong("fp32-unet"), help: "Hold and run diffusion models in float32 (the default).") var fp32UNet = false
    @Flag(name: .customLong("disable-metadata"), help: "Do not embed the prompt and workflow in saved files.")
    var disableMetadata = false
    @Option(help: "API token (also LOOM_TOKEN, or the auth_token file in the data directory).") var token: String?
    @Flag(name: .customLong("no-auth"), help: "Serve without a token even on a non-loopback address.") var noAuth = false
    @Option(name: .customLong("history-max-items"), help: "Keep at most this many finished jobs.") var historyMaxItems = 10000
    @Option(name: .customLong("history-max-age"), help: "Forget finished jobs older than this many hours.")
    var historyMaxAge: Double?
    @Option(name: .customLong("max-attempts"), help: "Runs of a job that keeps crashing the server before it fails.")
    var maxAttempts = 2
    @Option(name: .customLong("log-level")) var logLevel = "info"
    @Option(name: .customLong("cache-ram"), help: "GB of RAM loaded models may keep between prompts (default: 75% of RAM).")
    var cacheRAM: Double?
    @Option(name: .customLong("queue-service"), help: ArgumentHelp(
        "Declare a queue service (API edition): NAME (plain), NAME:comfyui (a worker runs its workflows), with options "
            + "after commas: token=, max-length=, max-payload-bytes=, evict=true|false, max-delivery=. Repeatable. "
            + "Without any (and without DIR/queue_services.json) one ComfyUI service named 'comfyui' exists."))
    var queueService: [String] = []

    func run() async throws {
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        var logger = Logger(label: "loom")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info

        let base = Self.absolute(dataDir)
        let directories = DataDirectories(base: base, models: modelsDirectory.map(Self.absolute), input: inputDirectory.map(Self.absolute),
                                          output: outputDirectory.map(Self.absolute), temp: tempDirectory.map(Self.absolute),
                                          user: userDirectory.map(Self.absolute))
        // The full layout (and the temp wipe) is made once by LoomServer.build; the token file and the
        // store need only the base directory before that.
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        let resolvedToken = try TokenSetup.resolve(flag: token, noAuth: noAuth, host: listen, directory: base, logger: logger)
        let store = try SQLiteQueueStore(path: (base as NSString).appendingPathComponent("loom.sqlite"))
        let configuration = ServerConfiguration(
            host: listen, port: port, token: resolvedToken, directories: directories,
            maxUploadSize: Int(maxUploadSize * 1024 * 1024), multiUser: multiUser,
            // Without --front-end-root: LOOM_FRONTEND_ROOT, else the frontend scripts/setup.sh installed, else none.
            frontEndRoot: frontEndRoot.map(Self.absolute) ?? FrontendLocator().webRoot(),
            disableMetadata: disableMetadata, historyMaxCount: historyMaxItems,
            historyMaxAgeSeconds: historyMaxAge.map { Int($0 * 3600) }, argv: CommandLine.arguments, maxAttempts: maxAttempts,
            modelCacheBytes: cacheRAM.map { Int($0 * 1_073_741_824) }, unetWeightType: bf16UNet && !fp32UNet ? .bfloat16 : .float32)
        var declarations = try queueService.map { text in
            do { return try QueueServiceDeclaration.parse(text) } catch let error as QueueServiceError {
                throw ValidationError("--queue-service \(text): \(error.description)")
            }
        }
        if declarations.isEmpty {
            let file = (base as NSString).appendingPathComponent("queue_services.json")
            do {
                declarations = try QueueServiceDeclaration.load(file: file) ?? QueueServiceDeclaration.defaultServices
            } catch let error as QueueServiceError {
                throw ValidationError(error.description)
            }
        }
        let queueServices = QueueServices(broker: MessageBroker(store: store), services: declarations,
                                          serverToken: resolvedToken, backendName: "sqlite")
        let built = try await LoomServer.build(configuration: configuration, store: store, backend: try CPUBackend(),
                                               queueServices: queueServices, logger: logger) { port in
            say("Loom is listening on http://\(listen):\(port)")
        }
        let group = ServiceGroup(
            configuration: .init(services: [built.application], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        try? directories.wipeTemp()  // ComfyUI clears temp/ at shutdown as well as at start
    }

    static func absolute(_ path: String) -> String {
        let expanded = (path as NSString).expandingTildeInPath
        if expanded.hasPrefix("/") { return (expanded as NSString).standardizingPath }
        return ((FileManager.default.currentDirectoryPath as NSString).appendingPathComponent(expanded) as NSString).standardizingPath
    }
}

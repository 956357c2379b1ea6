import Diffusion
import Executor
import FolderPaths
import Hummingbird
import HummingbirdWebSocket
import JobQueue
import Logging
import MessageQueue
import NodeLibrary
import TensorCore
import Workflow

/// The composition root of the HTTP server: builds the router, the worker and the WebSocket hub
/// from a configuration and a queue store.
public enum LoomServer {
    public typealias App = Application<RouterResponder<LoomRequestContext>>

    /// Everything built for one server, for the caller to run (and tests to poke at).
    public struct Built: Sendable {
        public var application: App
        public var hub: WebSocketHub
        public var recovery: RecoveryReport
    }

    /// Prepares the data directory and the store, then builds the application.
    ///
    /// - Parameters:
    ///   - configuration: the resolved command line.
    ///   - store: the queue store (SQLite for the standard edition).
    ///   - registry: the node set; the built-in nodes when `nil`.
    ///   - backend: the tensor backend the nodes compute on; the executable passes the fast CPU backend.
    ///   - onServerRunning: called with the bound port once the server listens.
    /// - Throws: when the data directory cannot be created or the store cannot recover.
    ///   - queueServices: the API edition's queue services (`/api/predict/…`), or nil for none.
    public static func build(configuration: ServerConfiguration, store: any QueueStore, registry: NodeRegistry? = nil,
                             backend: any Backend = ReferenceBackend(), queueServices: QueueServices? = nil, logger: Logger,
                             onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) async throws -> Built {
        try configuration.directories.createLayout()
        let recovery = try await store.recoverInterrupted(maxAttempts: configuration.maxAttempts, now: currentTimeMillis()) { record in
            crashFailure(record, attempts: configuration.maxAttempts)
        }
        if !recovery.requeued.isEmpty { logger.warning("Re-queued \(recovery.requeued.count) job(s) that were running when Loom stopped") }
        if !recovery.failed.isEmpty { logger.error("Gave up on \(recovery.failed.count) job(s) that were running during repeated crashes") }

        let models = ModelFolderRegistry(directories: configuration.directories)
        let environment = NodeEnvironment(directories: configuration.directories, disableMetadata: configuration.disableMetadata,
                                          backend: backend, models: ModelCache(budget: configuration.modelCacheBytes),
                                          modelFolders: models, unetWeightType: configuration.unetWeightType)
        let registry = registry ?? BuiltinNodes.registry(environment)
        let hub = WebSocketHub()
        let worker = JobWorker(store: store, executor: PromptExecutor(registry: registry), hub: hub, compute: ComputeThread(),
                               logger: logger, historyMaxCount: configuration.historyMaxCount,
                               historyMaxAgeSeconds: configuration.historyMaxAgeSeconds,
                               onFree: { environment.freeModels() })
        let highest = try await (store.pending() + store.running()).map(\.job.number).max() ?? -1
        let intake = PromptIntake(store: store, registry: registry, firstNumber: Int64(max(highest, -1)) + 1)

        let router = Router(context: LoomRequestContext.self)
        router.add(middleware: LogRequestsMiddleware(.debug))
        router.add(middleware: OriginGuardMiddleware())
        if let token = configuration.token {
            router.add(middleware: TokenAuthMiddleware(token: token, webRoot: configuration.frontEndRoot))
        }
        let routes = AliasedRoutes(router: router)
        let limit = configuration.maxUploadSize
        PromptController(intake: intake, store: store, worker: worker, bodyLimit: limit).register(routes)
        JobsController(store: store, worker: worker, bodyLimit: limit).register(routes)
        InfoController(registry: registry, models: models, store: store, configuration: configuration).register(routes, router: router)
        ModelBrowserController(models: models, directories: configuration.directories).register(routes, router: router)
        FilesController(directories: configuration.directories, maxUploadSize: limit).register(routes)
        UserDataController(configuration: configuration).register(routes)

        // The API edition's queue services: their own routes and tokens under /api/predict/, and a worker per
        // ComfyUI service.
        var queueWorkers: [String: ComfyQueueWorker] = [:]
        if let queueServices {
            try await queueServices.open()
            for service in queueServices.services.values where service.kind == .comfyui {
                queueWorkers[service.name] = ComfyQueueWorker(service: service, broker: queueServices.broker, intake: intake,
                                                              store: store, worker: worker, hub: hub, logger: logger)
            }
            QueueServiceController(services: queueServices, predict: QueuePredictor.make(workers: queueWorkers)).register(router)
            // An input item dropped at its delivery limit (its workflow kept killing the process) still answers its caller.
            let workers = queueWorkers
            await queueServices.broker.setUndeliverableHandler { queue, item in
                guard let worker = workers[queue] else { return }
                await worker.reportUndeliverable(item)
            }
        }
        let queueWatch = queueServices.map { QueueWatchEndpoint(services: $0) }

        // The web frontend (GET /, its static files, /templates, support endpoints): registered last, so a file
        // under the web root is served only for a path no route above answers.
        WebController(webRoot: configuration.frontEndRoot, token: configuration.token,
                      templateDirectories: FrontendLocator().templateDirectories(webRoot: configuration.frontEndRoot),
                      bodyLimit: limit).register(routes, router: router, logger: logger)

        let endpoint = WebSocketEndpoint(hub: hub, worker: worker, token: configuration.token, maxUploadSize: limit)
        var application = Application(
            router: router,
            server: .http1WebSocketUpgrade { request, _, _ in
                if let queueWatch, request.path?.hasPrefix(QueueServiceController.pathPrefix) == true {
                    return await queueWatch.shouldUpgrade(request)
                }
                return await endpoint.shouldUpgrade(request)
            },
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "Loom"),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
            logger: logger)
        application.addServices(worker)
        for queueWorker in queueWorkers.values.sorted(by: { $0.service.name < $1.service.name }) {
            application.addServices(queueWorker)
        }
        return Built(application: application, hub: hub, recovery: recovery)
    }

    /// The history result of a job given up after crashing the server `attempts` times.
    static func crashFailure(_ record: JobRecord, attempts: Int) -> JobResult {
        let now = currentTimeMillis()
        let message = "Loom stopped while running this job \(attempts) times; it was not retried again."
        let error: JSONValue = [
            "prompt_id": .string(record.id), "node_id": "", "node_type": "", "executed": [],
            "exception_message": .string(message), "exception_type": "loom.JobAbandoned", "traceback": [],
            "current_inputs": [:], "current_outputs": [], "timestamp": .int(now),
        ]
        return JobResult(outputs: [:], status: ["status_str": "error", "completed": false, "messages": [["execution_error", error]]],
                         meta: [:])
    }
}

import Executor
import JobQueue
import Logging
import ServiceLifecycle
import Synchronization
import TensorCore
import Workflow

/// The in-process worker: takes jobs from the store one at a time, runs them on the compute thread,
/// streams their events to WebSocket clients and writes their history.
public final class JobWorker: Service, Sendable {
    struct Running: Sendable {
        var promptID: String
        var clientID: String?
        var node: String?
    }

    let store: any QueueStore
    let executor: PromptExecutor
    let hub: WebSocketHub
    let compute: ComputeThread
    let logger: Logger
    let historyMaxCount: Int
    let historyMaxAgeSeconds: Int?
    /// Called on `POST /free` with the output cache: drops loaded models (the model cache).
    let onFree: @Sendable () -> Void
    private let interruptFlag = InterruptFlag()
    private let running = Mutex<Running?>(nil)
    private let pendingFree = Mutex<Bool>(false)
    private let shuttingDown = Mutex<Bool>(false)
    private let wakeStream: AsyncStream<Void>
    private let wakeContinuation: AsyncStream<Void>.Continuation

    init(store: any QueueStore, executor: PromptExecutor, hub: WebSocketHub, compute: ComputeThread, logger: Logger,
         historyMaxCount: Int, historyMaxAgeSeconds: Int?, onFree: @escaping @Sendable () -> Void = {}) {
        self.store = store
        self.executor = executor
        self.hub = hub
        self.compute = compute
        self.logger = logger
        self.historyMaxCount = historyMaxCount
        self.historyMaxAgeSeconds = historyMaxAgeSeconds
        self.onFree = onFree
        (wakeStream, wakeContinuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// Tells the worker there may be new work.
    func wake() { wakeContinuation.yield() }

    /// The job now running, if any.
    var current: Running? { running.withLock { $0 } }

    /// Interrupts the running job; with `promptID`, only if that job is the one running.
    /// - Returns: whether a running job was told to stop.
    @discardableResult
    func interrupt(promptID: String? = nil) -> Bool {
        running.withLock { current in
            guard let current, promptID == nil || current.promptID == promptID else { return false }
            interruptFlag.set()
            return true
        }
    }

    /// `POST /free`: drop cached outputs and loaded models once the current job is done (at once when idle).
    func requestFree() {
        pendingFree.withLock { $0 = true }
        wake()
    }

    public func run() async throws {
        wake()  // jobs recovered from before a restart
        await withGracefulShutdownHandler {
            for await _ in self.wakeStream {
                if self.shuttingDown.withLock({ $0 }) { break }
                await self.drain()
            }
        } onGracefulShutdown: {
            // Stop the running job at its next check; it stays `running` in the store and is
            // re-queued when the server starts again.
            self.shuttingDown.withLock { $0 = true }
            self.interrupt()
            self.wakeContinuation.finish()
        }
        compute.stop()
    }

    /// Runs jobs until none is pending.
    private func drain() async {
        while !shuttingDown.withLock({ $0 }) {
            if pendingFree.withLock({ let v = $0; $0 = false; return v }) {
                executor.clearCache()
                onFree()
            }
            let job: JobRecord?
            do {
                job = try await store.claimNext(now: currentTimeMillis())
            } catch {
                logger.error("Could not take the next job: \(error)")
                try? await Task.sleep(for: .seconds(1))
                continue
            }
            guard let job else { return }
            await runJob(job)
        }
    }

    func broadcastStatus() async {
        let remaining = (try? await store.queueRemaining()) ?? 0
        hub.send(type: "status", data: ["status": ["exec_info": ["queue_remaining": .int(Int64(remaining))]]], to: nil)
    }

    private func runJob(_ record: JobRecord) async {
        let promptID = record.id
        let clientID = record.job.extraData["client_id"]?.stringValue
        interruptFlag.clear()
        running.withLock { $0 = Running(promptID: promptID, clientID: clientID, node: nil) }
        await broadcastStatus()
        logger.info("Running prompt \(promptID) (attempt \(record.attempts))")

        let relay = EventRelay(promptID: promptID, clientID: clientID, hub: hub)
        let (events, sink) = AsyncStream<ExecutionEvent>.makeStream()
        let relayTask = Task { [self] in
            for await event in events {
                if case .executing(let node) = event { self.running.withLock { $0?.node = node } }
                relay.handle(event)
            }
            return relay.messages
        }

        var state = JobState.failed
        var outputs: JSONValue = [:]
        var meta: JSONValue = [:]
        do {
            let prompt = try APIPrompt(json: record.job.prompt)
            let request = ExecutionRequest(promptID: promptID, prompt: prompt, outputsToExecute: record.job.outputsToExecute,
                                           extraPNGInfo: record.job.extraData["extra_pnginfo"])
            let executor = self.executor
            let flag = interruptFlag
            let outcome = try await compute.run {
                executor.execute(request, interrupt: flag, emit: { sink.yield($0) })
            }
            state = outcome.status == .success ? .completed : (outcome.status == .interrupted ? .cancelled : .failed)
            outputs = .object(outcome.outputs)
            meta = .object(outcome.meta)
        } catch {
            sink.yield(.failed(ExecutionFailure(
                nodeID: "", nodeType: "", executed: [], exceptionMessage: "The stored prompt could not be run: \(error)",
                exceptionType: "loom.InvalidStoredPrompt", traceback: [], currentInputs: [:], currentOutputs: [],
                timestamp: currentTimeMillis())))
        }
        sink.finish()
        // Buffers kept for reuse during the run go back to the system between prompts.
        StorageBlockCache.shared.trim()
        let messages = await relayTask.value

        if state == .cancelled, shuttingDown.withLock({ $0 }) {
            running.withLock { $0 = nil }
            do {
                try await store.release(id: promptID)
                logger.notice("Prompt \(promptID) was stopped by shutdown; it will run again when Loom restarts")
            } catch {
                logger.error("Could not put prompt \(promptID) back in the queue at shutdown: \(error)")
            }
            return
        }
        let success = state == .completed
        let result = JobResult(
            outputs: outputs,
            status: ["status_str": .string(success ? "success" : "error"), "completed": .bool(success), "messages": .array(messages)],
            meta: meta)
        do {
            try await store.finish(id: promptID, state: state, result: result, now: currentTimeMillis())
            let cutoff = historyMaxAgeSeconds.map { currentTimeMillis() - Int64($0) * 1000 }
            try await store.pruneHistory(maxCount: historyMaxCount, olderThan: cutoff)
        } catch {
            logger.error("Could not record the result of prompt \(promptID): \(error)")
        }
        running.withLock { $0 = nil }
        await broadcastStatus()
        if let clientID {
            hub.send(type: "executing", data: ["node": .null, "prompt_id": .string(promptID)], to: clientID)
        }
        logger.info("Prompt \(promptID) finished: \(state.rawValue)")
    }
}

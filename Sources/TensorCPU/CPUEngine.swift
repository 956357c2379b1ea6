import CBLAS
import CDNNL
import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The fast CPU backend's execution context: a oneDNN engine and stream, a primitive cache and the thread
/// configuration shared by every kernel in TensorCPU.
///
/// Threading. Three pools do the work, all sized to `threads` (the number of online cores by default):
/// - OpenBLAS (Debian's `libopenblas0-pthread`) keeps its own pthread pool; `openblas_set_num_threads` sets its size
///   process-wide (`init` calls it).
/// - oneDNN on Debian is built with `DNNL_CPU_RUNTIME == DNNL_RUNTIME_OMP` (see ``dnnlVersion``): primitives run on
///   libgomp's team of the *calling* thread. OpenMP's thread count is a per-thread setting, so every oneDNN execution
///   sets `omp_set_num_threads(threads)` on the calling thread first (looked up in the already-loaded libgomp).
/// - The hand-written Swift kernels (group norm, layer norm, broadcasting arithmetic, interpolation) split their
///   outer loop into `threads` chunks with `DispatchQueue.concurrentPerform`, which runs on libdispatch's worker
///   threads, not on the Swift concurrency cooperative pool.
///
/// Every kernel is synchronous and blocks its caller until the result is written. Callers therefore invoke kernels
/// from a dedicated compute thread (the engine's inference thread), never from a NIO event loop or a Swift
/// concurrency task on the cooperative pool. OpenBLAS and libgomp both spin-wait briefly after a parallel region;
/// interleaving them on the same cores costs a little, which is why kernels are not called concurrently from
/// several threads: oneDNN executions are serialised by a mutex (the stream and the primitive cache live inside it),
/// so concurrent calls are safe but gain nothing.
///
/// Sendable by construction: all mutable state (oneDNN engine, stream, primitive cache) sits in a `Mutex`.
public final class CPUEngine: Sendable {
    /// Number of threads each kernel may use.
    public let threads: Int
    let dnnl: Mutex<DNNLState>
    /// The most primitives kept; the cache is emptied when it grows past this (shapes in a model recur, so it refills
    /// with the live set).
    let primitiveCacheLimit: Int

    /// Creates the CPU engine.
    ///
    /// - Parameters:
    ///   - threads: threads per kernel; `nil` means the number of online cores.
    ///   - primitiveCacheLimit: the most cached oneDNN primitives.
    /// - Throws: ``KernelError`` when oneDNN cannot create a CPU engine or stream.
    public init(threads: Int? = nil, primitiveCacheLimit: Int = 1024) throws {
        let cores = max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        let count = max(1, threads ?? cores)
        self.threads = count
        self.primitiveCacheLimit = primitiveCacheLimit
        openblas_set_num_threads(Int32(count))
        var engine: dnnl_engine_t?
        try check(dnnl_engine_create(&engine, dnnl_cpu, 0), "dnnl_engine_create")
        var stream: dnnl_stream_t?
        let status = dnnl_stream_create(&stream, engine, UInt32(dnnl_stream_default_flags.rawValue))
        if status != dnnl_success {
            dnnl_engine_destroy(engine)
            throw KernelError(code: "dnnl_error", message: "dnnl_stream_create failed", status: Int32(status.rawValue))
        }
        dnnl = Mutex(DNNLState(engine: engine!, stream: stream!))
    }

    deinit {
        dnnl.withLock { $0.destroy() }
    }

    /// oneDNN's version and CPU runtime, for example `"oneDNN 2.6.3 (cpu runtime: OpenMP)"`.
    public static var dnnlVersion: String {
        guard let v = dnnl_version()?.pointee else { return "oneDNN (unknown)" }
        let runtime: String
        switch v.cpu_runtime {
        case UInt32(DNNL_RUNTIME_OMP): runtime = "OpenMP"
        case UInt32(DNNL_RUNTIME_SEQ): runtime = "sequential"
        case UInt32(DNNL_RUNTIME_TBB): runtime = "TBB"
        case UInt32(DNNL_RUNTIME_THREADPOOL): runtime = "threadpool"
        default: runtime = "\(v.cpu_runtime)"
        }
        return "oneDNN \(v.major).\(v.minor).\(v.patch) (cpu runtime: \(runtime))"
    }

    /// OpenBLAS's build configuration string and its current thread count.
    public static var openBLASConfiguration: String {
        let config = openblas_get_config().map { String(cString: $0) } ?? "OpenBLAS"
        return "\(config) (threads: \(openblas_get_num_threads()))"
    }

    /// Number of cached oneDNN primitives.
    public var cachedPrimitiveCount: Int { dnnl.withLock { $0.primitives.count } }

    /// Runs `body(range)` over `0..<count`, split into at most `threads` contiguous chunks that run in parallel.
    ///
    /// - Parameters:
    ///   - count: number of work items.
    ///   - grain: the fewest items worth a chunk of their own; small loops run inline on the caller.
    ///   - body: processes one chunk; chunks never overlap.
    func parallelFor(_ count: Int, grain: Int = 1, _ body: (Range<Int>) -> Void) {
        Self.parallelFor(count, threads: threads, grain: grain, body)
    }

    /// ``parallelFor(_:grain:_:)`` on `threads` threads, without an engine.
    static func parallelFor(_ count: Int, threads: Int, grain: Int = 1, _ body: (Range<Int>) -> Void) {
        let parts = min(threads, count / max(1, grain))
        if parts <= 1 {
            if count > 0 { body(0..<count) }
            return
        }
        withoutActuallyEscaping(body) { body in
            let box = UncheckedSendable(body)
            DispatchQueue.concurrentPerform(iterations: parts) { part in
                box.value((part * count / parts)..<((part + 1) * count / parts))
            }
        }
    }
}

/// Carries a value into `concurrentPerform`'s closure.
///
/// `@unchecked Sendable` invariant: it only wraps the chunk closure of ``CPUEngine/parallelFor(_:grain:_:)``, whose
/// chunks write disjoint ranges and which returns only after every chunk has finished.
struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

/// Throws a ``KernelError`` for a failed oneDNN call.
func check(_ status: dnnl_status_t, _ what: @autoclosure () -> String) throws {
    guard status == dnnl_success else {
        throw KernelError(code: "dnnl_error", message: "\(what()) failed", status: Int32(status.rawValue))
    }
}

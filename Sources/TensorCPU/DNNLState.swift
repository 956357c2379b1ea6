import CDNNL

#if canImport(Glibc)
import Glibc
#endif

/// A oneDNN engine or primitive handle, passed into closures that run under the engine's mutex.
///
/// `@unchecked Sendable` invariant: oneDNN engines and primitives are immutable after creation and documented as
/// safe to use from any thread; TensorCPU additionally only uses them while holding ``CPUEngine``'s mutex.
struct DNNLHandle: @unchecked Sendable {
    let raw: OpaquePointer
}

/// A cache key for a oneDNN primitive: the op kind plus every shape, stride and parameter that shaped it.
struct PrimitiveKey: Hashable, Sendable {
    var kind: String
    var ints: [Int]
    var floats: [Float] = []
}

/// The oneDNN objects of a ``CPUEngine``; only ever touched inside the engine's mutex.
struct DNNLState {
    let engine: dnnl_engine_t
    let stream: dnnl_stream_t
    var primitives: [PrimitiveKey: dnnl_primitive_t] = [:]
    /// The scratchpad every primitive runs with. Primitives are created in oneDNN's user-scratchpad mode:
    /// in its default (library) mode the scratchpad belongs to the thread that created the primitive, and
    /// running the primitive on another thread crashes. Executions are serialised by the engine's mutex,
    /// so one buffer, grown to the largest request, serves them all.
    var scratchpad: UnsafeMutableRawPointer? = nil
    var scratchpadBytes = 0
    /// Weights reordered into the layout a channels-last convolution chose, kept while their owner lives
    /// (see ``CPUEngine/convolutionChannelsLast(_:input:weight:weightOwner:bfloat16:bias:output:)``).
    var packedWeights: [PrimitiveKey: PackedWeights] = [:]
    /// libgomp's `omp_set_num_threads`, found in the already-loaded library (oneDNN links it).
    let setOMPThreads: (@convention(c) (Int32) -> Void)?

    init(engine: dnnl_engine_t, stream: dnnl_stream_t) {
        self.engine = engine
        self.stream = stream
        if let symbol = dlsym(nil, "omp_set_num_threads") {
            setOMPThreads = unsafeBitCast(symbol, to: (@convention(c) (Int32) -> Void).self)
        } else {
            setOMPThreads = nil
        }
    }

    mutating func destroy() {
        for entry in packedWeights.values { entry.free() }
        packedWeights.removeAll()
        for primitive in primitives.values { dnnl_primitive_destroy(primitive) }
        primitives.removeAll()
        scratchpad?.deallocate()
        scratchpad = nil
        dnnl_stream_destroy(stream)
        dnnl_engine_destroy(engine)
    }

    /// A scratchpad of at least `bytes` bytes (grown, never shrunk).
    mutating func scratchpad(bytes: Int) -> UnsafeMutableRawPointer {
        if let scratchpad, scratchpadBytes >= bytes { return scratchpad }
        scratchpad?.deallocate()
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        scratchpad = buffer
        scratchpadBytes = bytes
        return buffer
    }

    /// Frees the packed weights whose owner is gone.
    mutating func purgePackedWeights() {
        for (key, entry) in packedWeights where entry.owner.object == nil {
            entry.free()
            packedWeights[key] = nil
        }
    }

    /// The cached primitive for `key`, if any.
    func cached(_ key: PrimitiveKey) -> DNNLHandle? {
        primitives[key].map { DNNLHandle(raw: $0) }
    }

    /// Caches a new primitive, emptying the cache first when it holds `limit` primitives.
    mutating func store(_ key: PrimitiveKey, _ primitive: DNNLHandle, limit: Int) {
        if primitives.count >= limit {
            for primitive in primitives.values { dnnl_primitive_destroy(primitive) }
            primitives.removeAll(keepingCapacity: true)
        }
        primitives[key] = primitive.raw
    }
}

/// Creates a primitive from the descriptor `create` returns.
func makePrimitive(engine: DNNLHandle, _ kind: String, create: (DNNLHandle) throws -> dnnl_primitive_desc_t) throws
    -> DNNLHandle
{
    let descriptor = try create(engine)
    defer { dnnl_primitive_desc_destroy(descriptor) }
    var primitive: dnnl_primitive_t?
    try check(dnnl_primitive_create(&primitive, descriptor), "dnnl_primitive_create(\(kind))")
    return DNNLHandle(raw: primitive!)
}

/// Executes `primitive` on `stream` with user buffers and waits for it to finish.
///
/// - Parameter args: (DNNL_ARG_*, memory descriptor, buffer) for every argument.
func execute(
    _ primitive: DNNLHandle, engine: DNNLHandle, stream: DNNLHandle,
    _ args: [(Int32, dnnl_memory_desc_t, UnsafeRawPointer)]
) throws {
    var memories: [dnnl_memory_t?] = []
    memories.reserveCapacity(args.count)
    defer { for memory in memories { dnnl_memory_destroy(memory) } }
    var execArgs: [dnnl_exec_arg_t] = []
    for (kind, descriptor, buffer) in args {
        var descriptor = descriptor
        var memory: dnnl_memory_t?
        try check(
            dnnl_memory_create(&memory, &descriptor, engine.raw, UnsafeMutableRawPointer(mutating: buffer)),
            "dnnl_memory_create")
        memories.append(memory)
        execArgs.append(dnnl_exec_arg_t(arg: kind, memory: memory))
    }
    try check(dnnl_primitive_execute(primitive.raw, stream.raw, Int32(execArgs.count), execArgs), "dnnl_primitive_execute")
    try check(dnnl_stream_wait(stream.raw), "dnnl_stream_wait")
}

/// The memory descriptor a primitive expects for `query` (for example `dnnl_query_weights_md`).
func queryMemoryDescriptor(_ primitive: DNNLHandle, _ query: dnnl_query_t) -> dnnl_memory_desc_t {
    var descriptor: const_dnnl_primitive_desc_t?
    dnnl_primitive_get_primitive_desc(primitive.raw, &descriptor)
    return dnnl_primitive_desc_query_md(descriptor, query, 0).pointee
}

/// A plain memory descriptor with explicit strides (in elements).
func memoryDescriptor(_ dims: [Int], strides: [Int], type: dnnl_data_type_t = dnnl_f32) throws -> dnnl_memory_desc_t {
    var descriptor = dnnl_memory_desc_t()
    try check(
        dnnl_memory_desc_init_by_strides(
            &descriptor, Int32(dims.count), dims.map(Int64.init), type, strides.map(Int64.init)),
        "dnnl_memory_desc_init_by_strides(\(dims), \(strides))")
    return descriptor
}

/// A memory descriptor with a format tag (`dnnl_format_tag_any` lets the primitive choose).
func memoryDescriptor(_ dims: [Int], tag: dnnl_format_tag_t, type: dnnl_data_type_t = dnnl_f32) throws -> dnnl_memory_desc_t {
    var descriptor = dnnl_memory_desc_t()
    try check(
        dnnl_memory_desc_init_by_tag(&descriptor, Int32(dims.count), dims.map(Int64.init), type, tag),
        "dnnl_memory_desc_init_by_tag(\(dims))")
    return descriptor
}

/// Row-major (dense, contiguous) strides of `dims`.
func denseStrides(_ dims: [Int]) -> [Int] {
    var strides = [Int](repeating: 1, count: dims.count)
    var running = 1
    for axis in dims.indices.reversed() {
        strides[axis] = running
        running *= max(1, dims[axis])
    }
    return strides
}

extension CPUEngine {
    /// Looks up (or creates) a primitive and executes it, all under the engine's mutex.
    ///
    /// - Parameters:
    ///   - key: the cache key; it must capture everything `create` depends on.
    ///   - create: makes the primitive descriptor on a cache miss.
    ///   - args: the execution arguments, given the primitive (to query the layouts it chose).
    func runDNNL(
        _ key: PrimitiveKey, create: (DNNLHandle) throws -> dnnl_primitive_desc_t,
        args: (DNNLHandle) throws -> [(Int32, dnnl_memory_desc_t, UnsafeRawPointer)]
    ) throws {
        let threads = self.threads
        let limit = primitiveCacheLimit
        try dnnl.withLock { state in
            let engine = DNNLHandle(raw: state.engine)
            let primitive: DNNLHandle
            if let cached = state.cached(key) {
                primitive = cached
            } else {
                primitive = try makePrimitive(engine: engine, key.kind, create: create)
                state.store(key, primitive, limit: limit)
            }
            state.setOMPThreads?(Int32(threads))
            var arguments = try args(primitive)
            var scratchpadDescriptor = queryMemoryDescriptor(primitive, dnnl_query_scratchpad_md)
            let scratchpadBytes = dnnl_memory_desc_get_size(&scratchpadDescriptor)
            if scratchpadBytes > 0 {
                arguments.append((DNNL_ARG_SCRATCHPAD, scratchpadDescriptor,
                                  UnsafeRawPointer(state.scratchpad(bytes: scratchpadBytes))))
            }
            try execute(primitive, engine: engine, stream: DNNLHandle(raw: state.stream), arguments)
        }
    }
}

/// Creates a primitive descriptor from an op descriptor and optional attributes.
func primitiveDescriptor<Op>(_ op: inout Op, engine: DNNLHandle, attr: dnnl_primitive_attr_t? = nil, _ what: String)
    throws -> dnnl_primitive_desc_t
{
    var descriptor: dnnl_primitive_desc_t?
    // Every primitive takes its scratchpad from the caller (see DNNLState.scratchpad).
    var ownAttr: dnnl_primitive_attr_t? = nil
    if attr == nil { try check(dnnl_primitive_attr_create(&ownAttr), "dnnl_primitive_attr_create") }
    defer { if let ownAttr { dnnl_primitive_attr_destroy(ownAttr) } }
    let attributes = attr ?? ownAttr
    try check(dnnl_primitive_attr_set_scratchpad_mode(attributes, dnnl_scratchpad_mode_user), "set_scratchpad_mode")
    try withUnsafeMutablePointer(to: &op) { pointer in
        try check(dnnl_primitive_desc_create(&descriptor, UnsafeRawPointer(pointer), attributes, engine.raw, nil), what)
    }
    return descriptor!
}

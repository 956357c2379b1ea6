import TensorCore

/// The fast CPU ``Backend``: every op on ``CPUEngine``'s oneDNN / OpenBLAS / SIMD kernels, with
/// ``ReferenceBackend`` for the few ops that have no kernel (reductions, embedding, `nearestExact` interpolation)
/// and as the fallback when oneDNN rejects a configuration.
///
/// Inputs are copied to dense float32 only when a kernel needs it: float32 views go to the strided kernels as they
/// are (broadcasting arithmetic reads strides, attention reads per-head strides, matmul maps transposed views to
/// GEMM's transpose flags and broadcast batches to a zero batch stride). Other dtypes are converted once.
/// Results are new contiguous float32 tensors.
///
/// Every op runs synchronously on the calling thread (and the engine's pools); call it from a compute thread.
/// The op families live in `CPUBackend+<Family>.swift`.
public struct CPUBackend: Backend {
    /// The kernels' execution context (thread pools, oneDNN primitive cache).
    public let engine: CPUEngine
    /// The specification, used for ops without a fast kernel.
    let reference = ReferenceBackend()

    /// A backend over an existing engine (share one engine per process).
    public init(engine: CPUEngine) {
        self.engine = engine
    }

    /// A backend over a new engine with one thread per core.
    ///
    /// - Throws: ``KernelError`` when oneDNN cannot create its engine or stream.
    public init() throws {
        self.init(engine: try CPUEngine())
    }

    /// A dense float32 copy (`x` itself when already dense float32).
    public func contiguous(_ x: Tensor) -> Tensor {
        Self.dense(x)
    }

    /// `torch.sum/mean/amax/amin`: delegated to ``ReferenceBackend/reduce(_:_:dims:keepDims:)``.
    public func reduce(_ op: ReduceOp, _ x: Tensor, dims: [Int], keepDims: Bool) -> Tensor {
        reference.reduce(op, x, dims: dims, keepDims: keepDims)
    }

    /// Embedding lookup: delegated to ``ReferenceBackend/embedding(_:table:)`` (a row gather, converting only the rows
    /// it reads).
    public func embedding(_ ids: Tensor, table: Tensor) -> Tensor {
        reference.embedding(ids, table: table)
    }
}

extension CPUBackend {
    /// `t` as float32, keeping its view (strides, offset) when it already is float32, and its strides when it is a
    /// permuted dense view (a transposed half-precision weight is widened in one pass, not element by element).
    static func float32(_ t: Tensor) -> Tensor {
        t.float32KeepingLayout()
    }

    /// `t` as dense row-major float32.
    static func dense(_ t: Tensor) -> Tensor {
        if isChannelsLast(t) {
            // A channels-last map back to channels-first with the tiled transpose.
            let (n, c, h, w) = (t.shape[0], t.shape[1], t.shape[2], t.shape[3])
            let out = Tensor(uninitialized: t.shape)
            withExtendedLifetime((t, out)) {
                CPUEngine.transposeFromChannelsLast(pointer(t), pointer(out), batch: n, channels: c, pixels: h * w)
            }
            return out
        }
        return t.contiguous(as: .float32)
    }

    /// A new uninitialised float32 tensor with `t`'s shape and strides (`t` a channels-last map, whose elements fill
    /// one run of storage: elementwise ops run over the run and keep the layout; other permuted views give contiguous
    /// results, as the ``Backend`` contract says).
    static func uninitialized(like t: Tensor) -> Tensor {
        Tensor(storage: TensorStorage(uninitializedByteCount: t.count * 4), dtype: .float32, shape: t.shape,
               strides: t.strides)
    }

    /// The first element of a float32 tensor (valid while `t` is alive: use inside `withExtendedLifetime`).
    static func pointer(_ t: Tensor) -> UnsafeMutablePointer<Float> {
        precondition(t.dtype == .float32, "expected float32, got \(t.dtype)")
        return t.baseAddress.assumingMemoryBound(to: Float.self)
    }

    /// The stride that steps through the dimensions `shape` in row-major order when they are one evenly strided run
    /// (size-1 dimensions ignored; 0 when every dimension is broadcast), or `nil`.
    static func singleStride(_ shape: [Int], _ strides: [Int]) -> Int? {
        let kept = shape.indices.filter { shape[$0] != 1 }
        guard let last = kept.last else { return 0 }
        for (i, j) in zip(kept, kept.dropFirst()) where strides[i] != strides[j] * shape[j] { return nil }
        return strides[last]
    }
}

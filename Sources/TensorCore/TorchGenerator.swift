/// torch's CPU random generator (`torch.Generator()` / `torch.manual_seed`) and its float32 `randn`, bit for bit.
///
/// An MT19937 seeded with `seed mod 2^32`, plus the one-value cache of the double-precision normal path.
/// `randn(count:)` returns exactly the values of
///
/// ```python
/// g = torch.manual_seed(seed)
/// torch.randn(shape, generator=g, dtype=torch.float32, device="cpu")   # shape with `count` elements
/// ```
///
/// including successive calls on the same generator (the state carries over as in torch). Spec:
/// `shared/spec/torch-rng.md`.
///
/// **Which bits torch produces depends on the machine.** For tensors of 16 or more elements torch picks its
/// normal kernel by CPU capability at run time:
/// - x86-64 with AVX2 (every AVX-512 machine too: torch never dispatches `normal_` to AVX-512) uses the
///   vectorised kernel → ``Kernel/avx2``;
/// - CPUs without AVX2 (AArch64 Linux, Apple silicon, old x86; or `ATEN_CPU_CAPABILITY=default`) use the scalar
///   kernel with the C library's `logf`/`sinf`/`cosf` → ``Kernel/scalar`` (reproduces glibc's functions; Darwin's
///   libm may differ in the last bit).
///
/// The two differ by 1–2 ulp in about 38 % of values. Loom defaults to ``Kernel/avx2`` on every machine, so a seed
/// gives the same noise as ComfyUI on a typical x86-64 server regardless of where Loom runs. Tensors with fewer
/// than 16 elements use a double-precision path that is the same for both kernels.
public struct TorchGenerator: Sendable, Equatable {
    /// The float32 Box–Muller arithmetic of one of torch's CPU kernels.
    public enum Kernel: Sendable, Hashable, CaseIterable {
        /// torch's vectorised kernel (x86-64 with AVX2 or AVX-512): Cephes-style float32 polynomials with fused
        /// multiply–adds. The default.
        case avx2
        /// torch's scalar kernel (no AVX2: AArch64, Apple silicon): the C library's `logf`, `cosf`, `sinf`;
        /// emulates glibc ≥ 2.28.
        case scalar

        /// The kernel torch itself would use on this machine's architecture, assuming AVX2 on x86-64.
        public static var native: Kernel {
            #if arch(x86_64)
            return .avx2
            #else
            return .scalar
            #endif
        }
    }

    /// torch's default CPU seed (`torch.Generator().initial_seed()`).
    public static let defaultSeed: UInt64 = 67_280_421_310_721

    /// The seed as torch stores it (`initial_seed()`): the Python int modulo 2^64.
    public private(set) var seed: UInt64
    /// The kernel used by the ≥ 16-element path.
    public var kernel: Kernel
    var engine: MT19937
    /// The cached second value of the double-precision Box–Muller (`next_double_normal_sample`).
    var cachedNormal: Double?

    /// A generator seeded like `torch.Generator().manual_seed(seed)`.
    public init(seed: UInt64 = TorchGenerator.defaultSeed, kernel: Kernel = .avx2) {
        self.seed = seed
        self.kernel = kernel
        self.engine = MT19937(seed: UInt32(truncatingIfNeeded: seed))
        self.cachedNormal = nil
    }

    /// A generator seeded with a signed seed; negative values wrap modulo 2^64 as Python ints do in torch.
    @_disfavoredOverload
    public init(seed: Int64, kernel: Kernel = .avx2) {
        self.init(seed: UInt64(bitPattern: seed), kernel: kernel)
    }

    /// Reseeds like `manual_seed(seed)`: only the low 32 bits seed the Mersenne Twister; clears the cached normal.
    public mutating func manualSeed(_ seed: UInt64) {
        self = TorchGenerator(seed: seed, kernel: kernel)
    }

    /// Reseeds with a signed seed (wrapping modulo 2^64).
    @_disfavoredOverload
    public mutating func manualSeed(_ seed: Int64) {
        manualSeed(UInt64(bitPattern: seed))
    }

    /// The next 32-bit output of the Mersenne Twister (torch's `random()`).
    public mutating func random() -> UInt32 { engine.next() }

    /// Two outputs, the first as the high word (torch's `random64()`).
    public mutating func random64() -> UInt64 {
        let high = UInt64(engine.next())
        return (high << 32) | UInt64(engine.next())
    }

    /// `torch.randn(count elements, generator: self)` in float32, row-major order.
    ///
    /// - Parameter count: the number of elements (the product of the shape; only it matters).
    /// - Returns: `count` standard normal values.
    public mutating func randn(count: Int) -> [Float] {
        precondition(count >= 0, "randn: negative count \(count)")
        return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            randn(into: buffer)
            initialized = count
        }
    }

    /// Fills `output` with the values of `torch.randn` of `output.count` elements, without allocating.
    public mutating func randn(into output: UnsafeMutableBufferPointer<Float>) {
        if output.count < 16 {
            for i in 0..<output.count { output[i] = Float(nextDoubleNormal()) }
        } else {
            fillBlocks(output)
        }
    }

    /// One value of torch's double-precision normal path (`normal_distribution<double>` with the cache).
    mutating func nextDoubleNormal() -> Double {
        if let cached = cachedNormal {
            cachedNormal = nil
            return cached * 1.0 + 0.0
        }
        let u1 = uniformDouble()
        let u2 = uniformDouble()
        let radius = (-2.0 * DoubleMath.log(1.0 - u2)).squareRoot()  // 1 - u2 is exact, so log1p(-u2) = log(1 - u2)
        let (sinTheta, cosTheta) = DoubleMath.sincos(2.0 * Double.pi * u1)
        cachedNormal = radius * sinTheta
        return (radius * cosTheta) * 1.0 + 0.0
    }

    /// A double uniform in [0, 1): the low 53 bits of `random64()` times 2^-53.
    mutating func uniformDouble() -> Double {
        Double(random64() & ((1 << 53) - 1)) * 0x1p-53
    }
}

/// glibc's float32 `logf`, `sinf` and `cosf` (glibc ≥ 2.28, as built for x86-64 with FMA and for AArch64),
/// reproduced bit for bit for the inputs torch's scalar normal kernel feeds them.
///
/// torch's non-vectorised kernel calls the platform libm, and glibc's results are not correctly rounded
/// everywhere (about 1 % of inputs are 1 ulp off), so matching torch means evaluating the same algorithms:
/// Szabolcs Nagy's table-driven `logf` (16-entry table of 1/c and log c, degree-3 polynomial for log1p, all in
/// double) and his `sinf`/`cosf` (single-step reduction by π/2 for |x| < 120, double-precision polynomials), as
/// published in Arm's optimized-routines. The coefficients are those algorithms' published constants. Every
/// multiply–add that the compiler contracts in the FMA build is an explicit `addingProduct` here (hardware FMA or
/// a correctly rounded libm `fma`, so the result does not depend on the machine).
///
/// Domain: `logf` for (0, 1] normal floats (Box–Muller's `1 - u`); `sinf`/`cosf` for [0, 2π]
/// (the path for |x| ≥ 120 is not needed and not implemented).
enum GlibcFloatMath {
    // logf data: (1/c, log c) per subinterval of [0x3f330000, 2·0x3f330000), ln 2 and the polynomial.
    static let logTable: [(invc: Double, logc: Double)] = [
        (0x1.661ec79f8f3bep+0, -0x1.57bf7808caadep-2), (0x1.571ed4aaf883dp+0, -0x1.2bef0a7c06ddbp-2),
        (0x1.49539f0f010bp+0, -0x1.01eae7f513a67p-2), (0x1.3c995b0b80385p+0, -0x1.b31d8a68224e9p-3),
        (0x1.30d190c8864a5p+0, -0x1.6574f0ac07758p-3), (0x1.25e227b0b8eap+0, -0x1.1aa2bc79c81p-3),
        (0x1.1bb4a4a1a343fp+0, -0x1.a4e76ce8c0e5ep-4), (0x1.12358f08ae5bap+0, -0x1.1973c5a611cccp-4),
        (0x1.0953f419900a7p+0, -0x1.252f438e10c1ep-5), (0x1p+0, 0x0p+0),
        (0x1.e608cfd9a47acp-1, 0x1.aa5aa5df25984p-5), (0x1.ca4b31f026aap-1, 0x1.c5e53aa362eb4p-4),
        (0x1.b2036576afce6p-1, 0x1.526e57720db08p-3), (0x1.9c2d163a1aa2dp-1, 0x1.bc2860d22477p-3),
        (0x1.886e6037841edp-1, 0x1.1058bc8a07ee1p-2), (0x1.767dcf5534862p-1, 0x1.4043057b6ee09p-2),
    ]
    static let ln2 = 0x1.62e42fefa39efp-1
    static let logA: (Double, Double, Double) = (-0x1.00ea348b88334p-2, 0x1.5575b0be00b6ap-2, -0x1.ffffef20a4123p-2)

    /// sin/cos polynomial set; the second set negates the cosine polynomial (used in quadrants 2 and 3).
    struct SinCosTable {
        let c0, c1, c2, c3, c4: Double
        let s1, s2, s3: Double
    }
    static let sinCosTables = [
        SinCosTable(c0: 0x1p0, c1: -0x1.ffffffd0c621cp-2, c2: 0x1.55553e1068f19p-5, c3: -0x1.6c087e89a359dp-10,
                    c4: 0x1.99343027bf8c3p-16, s1: -0x1.555545995a603p-3, s2: 0x1.1107605230bc4p-7,
                    s3: -0x1.994eb3774cf24p-13),
        SinCosTable(c0: -0x1p0, c1: 0x1.ffffffd0c621cp-2, c2: -0x1.55553e1068f19p-5, c3: 0x1.6c087e89a359dp-10,
                    c4: -0x1.99343027bf8c3p-16, s1: -0x1.555545995a603p-3, s2: 0x1.1107605230bc4p-7,
                    s3: -0x1.994eb3774cf24p-13),
    ]
    static let quadrantSign: [Double] = [1, -1, -1, 1]
    /// 2/π scaled by 2^24, so that the quadrant lands in bits 24...31 of an integer conversion.
    static let halfPiInverseScaled = 0x1.45F306DC9C883p+23
    static let halfPi = 0x1.921FB54442D18p0

    /// `logf(x)` for x in (0, 1], normal.
    static func logf(_ x: Float) -> Float {
        let ix = x.bitPattern
        if ix == 0x3F80_0000 { return 0 }
        precondition(ix >= 0x0080_0000 && ix < 0x7F80_0000, "GlibcFloatMath.logf: argument outside (0, 1]")
        let tmp = ix &- 0x3F33_0000
        let i = Int((tmp >> 19) % 16)
        let k = Int32(bitPattern: tmp) >> 23
        let iz = ix &- (tmp & (0x1FF << 23))
        let (invc, logc) = logTable[i]
        let z = Double(Float(bitPattern: iz))
        let r = (-1.0).addingProduct(z, invc)
        let y0 = logc.addingProduct(Double(k), ln2)
        let r2 = r * r
        var y = logA.2.addingProduct(logA.1, r)
        y = y.addingProduct(logA.0, r2)
        y = (y0 + r).addingProduct(y, r2)
        return Float(y)
    }

    /// `sinf(x)` for x in [0, 2π].
    static func sinf(_ x: Float) -> Float { sinOrCos(x, cosine: false) }

    /// `cosf(x)` for x in [0, 2π].
    static func cosf(_ x: Float) -> Float { sinOrCos(x, cosine: true) }

    private static func abstop12(_ x: Float) -> UInt32 { (x.bitPattern >> 20) & 0x7FF }

    private static func sinOrCos(_ y: Float, cosine: Bool) -> Float {
        precondition(abstop12(y) < abstop12(120), "GlibcFloatMath: |x| >= 120 is not implemented")
        let x = Double(y)
        if abstop12(y) < abstop12(Float(0x1.921FB54442D18p-1)) {
            if abstop12(y) < abstop12(0x1p-12) { return cosine ? 1 : y }
            return poly(x, x * x, sinCosTables[0], cosine ? 1 : 0)
        }
        let r = x * halfPiInverseScaled
        let n = Int((Int32(r) &+ 0x80_0000) >> 24)
        let reduced = x.addingProduct(-Double(n), halfPi)
        let sign = quadrantSign[n & 3]
        let table = sinCosTables[(n & 2) != 0 ? 1 : 0]
        return poly(reduced * sign, reduced * reduced, table, cosine ? n ^ 1 : n)
    }

    /// The sine polynomial for even `n`, the cosine polynomial for odd `n`.
    private static func poly(_ x: Double, _ x2: Double, _ p: SinCosTable, _ n: Int) -> Float {
        if n & 1 == 0 {
            let x3 = x * x2
            let s1 = p.s2.addingProduct(x2, p.s3)
            let x7 = x3 * x2
            let s = x.addingProduct(x3, p.s1)
            return Float(s.addingProduct(x7, s1))
        } else {
            let x4 = x2 * x2
            let c2 = p.c3.addingProduct(x2, p.c4)
            let c1 = p.c0.addingProduct(x2, p.c1)
            let x6 = x4 * x2
            let c = c1.addingProduct(x4, p.c2)
            return Float(c.addingProduct(x6, c2))
        }
    }
}

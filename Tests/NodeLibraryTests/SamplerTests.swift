import Diffusion
import Foundation
import LoomTestSupport
import TensorCore
import Testing

/// The samplers without a UNet: the exact denoiser of Gaussian data N(μ, c²) per element,
/// D(x; σ) = (x·c² + μ·σ²)/(c² + σ²), against an independent float64 NumPy re-derivation of k-diffusion's update
/// rules (fed the same ancestral noise draws), plus properties that hold for any correct implementation.
@Suite struct SamplerTests {
    static let shape = [1, 4, 8, 8]
    static let c2: Float = 0.25
    static let mu: [Float] = (0..<256).map { Float(sin(Double($0) * 0.7)) * 0.8 }

    static func gaussianDenoiser(_ x: Tensor, _ sigma: Float) -> Tensor {
        let values = x.scalars
        let s2 = sigma * sigma
        return Tensor(shape: x.shape, scalars: zip(values, mu).map { ($0 * c2 + $1 * s2) / (c2 + s2) })
    }

    static func start(_ sigmas: [Float], seed: UInt64 = 7) -> Tensor {
        let noise = ComfyNoise.prepareNoise(shape: shape, seed: seed, batchIndex: nil)
        return Tensor(shape: shape, scalars: noise.map { $0 * sigmas[0] })
    }

    static func relativeError(_ a: [Float], _ b: [Double]) -> Double {
        var worst = 0.0
        for (x, y) in zip(a, b) { worst = Swift.max(worst, Swift.abs(Double(x) - y) / Swift.max(1, Swift.abs(y))) }
        return worst
    }

    /// k-diffusion's update rules in float64 NumPy, written from the algorithms (not from the Swift code).
    static let reference = #"""
import json, sys
import numpy as np
q = json.load(sys.stdin)
mu = np.array(q["mu"], dtype=np.float64); c2 = q["c2"]
D = lambda x, s: (x * c2 + mu * s * s) / (c2 + s * s)

def anc(f, t):
    up = min(t, np.sqrt(t * t * (f * f - t * t) / (f * f)))
    return np.sqrt(t * t - up * up), up

def run(name, x, sig, noise):
    draws = iter(noise)
    n = len(sig) - 1
    ds, old = [], None
    for i in range(n):
        s, sn = sig[i], sig[i + 1]
        den = D(x, s)
        d = (x - den) / s
        if name == "euler":
            x = x + d * (sn - s)
        elif name == "heun":
            x2 = x + d * (sn - s)
            x = x2 if sn == 0 else x + (d + (x2 - D(x2, sn)) / sn) / 2 * (sn - s)
        elif name == "dpm_2":
            if sn == 0:
                x = x + d * (sn - s)
            else:
                m = np.exp((np.log(s) + np.log(sn)) / 2)
                x2 = x + d * (m - s)
                x = x + (x2 - D(x2, m)) / m * (sn - s)
        elif name == "heunpp2":
            x2 = x + d * (sn - s)
            if sn == sig[-1]:
                x = x2
            elif sig[i + 2] == sig[-1]:
                w2 = sn / (2 * sig[0])
                x = x + (d * (1 - w2) + (x2 - D(x2, sn)) / sn * w2) * (sn - s)
            else:
                d2 = (x2 - D(x2, sn)) / sn
                x3 = x2 + d2 * (sig[i + 2] - sn)
                d3 = (x3 - D(x3, sig[i + 2])) / sig[i + 2]
                w2, w3 = sn / (3 * sig[0]), sig[i + 2] / (3 * sig[0])
                x = x + ((1 - w2 - w3) * d + w2 * d2 + w3 * d3) * (sn - s)
        elif name == "dpm_2_ancestral":
            down, up = anc(s, sn)
            if down == 0:
                x = x + d * (down - s)
            else:
                m = np.exp((np.log(s) + np.log(down)) / 2)
                x2 = x + d * (m - s)
                x = x + (x2 - D(x2, m)) / m * (down - s) + np.array(next(draws)) * up
        elif name == "euler_ancestral":
            down, up = anc(s, sn)
            x = den if down == 0 else x + d * (down - s) + np.array(next(draws)) * up
        elif name == "dpmpp_2m":
            if sn == 0:
                x = den
            else:
                h = np.log(s) - np.log(sn)
                dd = den
                if old is not None:
                    r = (np.log(sig[i - 1]) - np.log(s)) / h
                    dd = (1 + 1 / (2 * r)) * den - old / (2 * r)
                x = (sn / s) * x + (1 - np.exp(-h)) * dd
            old = den
        elif name == "dpmpp_2s_ancestral":
            down, up = anc(s, sn)
            if down == 0:
                x = x + d * (down - s)
            else:
                mid = np.sqrt(s * down)
                x2 = (mid / s) * x + (1 - mid / s) * den
                x = (down / s) * x + (1 - down / s) * D(x2, mid)
            if sn > 0:
                x = x + np.array(next(draws)) * up
        elif name == "lms":
            ds = (ds + [d])[-4:]
            if sn == 0:
                x = den
            else:
                k = len(ds)
                for j in range(k):
                    others = [sig[i - m] for m in range(k) if m != j]
                    p = np.poly1d([1.0])
                    for o in others:
                        p = p * np.poly1d([1.0, -o]) / (sig[i - j] - o)
                    P = p.integ()
                    x = x + (P(sn) - P(s)) * ds[-1 - j]
        elif name == "ddpm":
            a, ap = 1 / (s * s + 1), 1 / (sn * sn + 1)
            al = a / ap
            y = (x / np.sqrt(1 + s * s) - (1 - al) * d / np.sqrt(1 - a)) / np.sqrt(al)
            if sn > 0:
                y = y + np.sqrt((1 - al) * (1 - ap) / (1 - a)) * np.array(next(draws))
                y = y * np.sqrt(1 + sn * sn)
            x = y
        elif name == "lcm":
            x = den if sn == 0 else den + np.array(next(draws)) * sn
    return x

out = {}
for name in q["samplers"]:
    out[name] = run(name, np.array(q["x"], dtype=np.float64), q["sigmas"], q["noise"]).tolist()
print(json.dumps(out))
"""#

    @Test(arguments: [SchedulerName.karras, .normal])
    func trajectoriesMatchAFloat64NumpyReference(scheduler: SchedulerName) throws {
        let sampling = ModelSampling()
        let sigmas = KSamplerSigmas.sigmas(sampling, scheduler: scheduler, sampler: .euler, steps: 6)
        let x = Self.start(sigmas)
        let seed: UInt64 = 1234
        var sampler = AncestralNoiseSampler(shape: Self.shape, seed: seed)
        let noise = (0..<8).map { _ in sampler.next() }
        let names = ["euler", "heun", "heunpp2", "dpm_2", "dpm_2_ancestral", "euler_ancestral", "dpmpp_2m",
                     "dpmpp_2s_ancestral", "lms", "ddpm", "lcm"]
        let query: [String: Any] = [
            "mu": Self.mu.map(Double.init), "c2": Double(Self.c2), "x": x.scalars.map(Double.init),
            "sigmas": sigmas.map(Double.init), "noise": noise.map { $0.map(Double.init) }, "samplers": names,
        ]
        let output = try ModelFixtures.run(["python3", "-c", Self.reference],
                                           input: try JSONSerialization.data(withJSONObject: query))
        let reference = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: [Double]])
        for name in names {
            let result = try runSampler(try #require(KSamplerName(rawValue: name)), denoise: Self.gaussianDenoiser,
                                        x: x, sigmas: sigmas, seed: seed)
            let expected = try #require(reference[name])
            let error = Self.relativeError(result.scalars, expected)
            #expect(error < 2e-5, "\(name) (\(scheduler)): relative error \(error)")
        }
    }

    /// The probability-flow ODE of Gaussian data has the closed-form solution
    /// x(σ) = μ + (x_T − μ)·√((c² + σ²)/(c² + σ_T²)); every deterministic solver approaches it. The schedule is
    /// geometric down to σ = 0.002 (then 0) so that the final denoising step adds no visible error.
    @Test(arguments: [
        (KSamplerName.euler, 4e-2), (.ddim, 4e-2), (.heun, 3e-3), (.dpm2, 2e-3), (.dpmpp2m, 2e-3), (.lms, 5e-4),
        (.ipndm, 1e-3), (.dpmFast, 2e-4), (.uniPC, 5e-5), (.uniPCBH2, 5e-5), (.dpmAdaptive, 6e-2),
    ])
    func deterministicSolversConvergeToTheExactODESolution(name: KSamplerName, tolerance: Double) throws {
        let steps = name.discardsPenultimateSigma ? 101 : 100
        var sigmas = (0..<steps).map { i in
            Float(Foundation.exp(Foundation.log(14.6146) + (Foundation.log(0.002) - Foundation.log(14.6146)) * Double(i) / Double(steps - 1)))
        } + [0]
        if name.discardsPenultimateSigma { sigmas.remove(at: sigmas.count - 2) }
        let x = Self.start(sigmas)
        let result = try runSampler(name, denoise: Self.gaussianDenoiser, x: x, sigmas: sigmas, seed: 0).scalars
        let sigmaEnd = name == .uniPC || name == .uniPCBH2 ? 0.001 : 0.0
        let top = Double(sigmas[0])
        let c2 = Double(Self.c2)
        let scale = ((c2 + sigmaEnd * sigmaEnd) / (c2 + top * top)).squareRoot()
        let exact = zip(x.scalars, Self.mu).map { Double($1) + (Double($0) - Double($1)) * scale }
        let error = Self.relativeError(result, exact)
        #expect(error < tolerance, "\(name): \(error)")
    }

    @Test func uniPCVariantsDiffer() throws {
        let sigmas = KSamplerSigmas.sigmas(ModelSampling(), scheduler: .karras, sampler: .uniPC, steps: 8)
        let x = Self.start(sigmas)
        let a = try runSampler(.uniPC, denoise: Self.gaussianDenoiser, x: x, sigmas: sigmas, seed: 0).scalars
        let b = try runSampler(.uniPCBH2, denoise: Self.gaussianDenoiser, x: x, sigmas: sigmas, seed: 0).scalars
        let difference = zip(a, b).map { Swift.abs($0 - $1) }.max() ?? 0
        #expect(difference > 1e-6 && difference < 0.2, "\(difference)")
    }

    @Test func eulerWithAPointMassDenoiserEndsOnThePoint() throws {
        let sigmas = KSamplerSigmas.sigmas(ModelSampling(), scheduler: .normal, sampler: .euler, steps: 5)
        let target = Tensor(shape: Self.shape, scalars: Self.mu)
        let result = try runSampler(.euler, denoise: { _, _ in target }, x: Self.start(sigmas), sigmas: sigmas, seed: 0)
        #expect(Self.relativeError(result.scalars, Self.mu.map(Double.init)) < 1e-5)
    }

    @Test func everyImplementedSamplerRunsFourStepsWithoutNaN() throws {
        let registry = SamplerRegistry.builtin
        let sde: Set<KSamplerName> = [.dpmppSDE, .dpmppSDEGPU, .dpmpp2mSDE, .dpmpp2mSDEGPU, .dpmpp3mSDE,
                                      .dpmpp3mSDEGPU, .dpmpp2mSDEHeun, .dpmpp2mSDEHeunGPU]
        let required: [KSamplerName] = [.euler, .eulerAncestral, .heun, .heunpp2, .dpm2, .dpm2Ancestral, .lms,
                                        .dpmFast, .dpmAdaptive, .dpmpp2sAncestral, .dpmpp2m, .ddpm, .lcm, .ddim,
                                        .uniPC, .uniPCBH2]
        #expect(Set(required).isSubset(of: Set(registry.names)))
        for name in registry.names where !sde.contains(name) {
            let sigmas = KSamplerSigmas.sigmas(ModelSampling(), scheduler: .normal, sampler: name, steps: 4)
            var steps: [Int] = []
            let result = try runSampler(name, denoise: Self.gaussianDenoiser, x: Self.start(sigmas), sigmas: sigmas,
                                        seed: 3, callback: { step, total, _, _ in
                                            steps.append(step)
                                            #expect(total == 4)
                                        })
            #expect(result.shape == Self.shape)
            #expect(result.scalars.allSatisfy { $0.isFinite }, "\(name)")
            // dpm_fast spends its 4 evaluations on a third- and a first-order step; dpm_adaptive reports attempts.
            if name == .dpmFast {
                #expect(steps == [0, 1])
            } else if name != .dpmAdaptive {
                #expect(steps == [0, 1, 2, 3], "\(name): \(steps)")
            }
        }
    }

    @Test func ancestralSamplersUseTheSeed() throws {
        let sigmas = KSamplerSigmas.sigmas(ModelSampling(), scheduler: .karras, sampler: .eulerAncestral, steps: 4)
        let x = Self.start(sigmas)
        let a = try runSampler(.eulerAncestral, denoise: Self.gaussianDenoiser, x: x, sigmas: sigmas, seed: 1)
        let b = try runSampler(.eulerAncestral, denoise: Self.gaussianDenoiser, x: x, sigmas: sigmas, seed: 1)
        let c = try runSampler(.eulerAncestral, denoise: Self.gaussianDenoiser, x: x, sigmas: sigmas, seed: 2)
        #expect(a == b)
        #expect(a != c)
    }

    struct Interrupted: Error {}

    @Test(arguments: [KSamplerName.euler, .dpmpp2m, .dpmAdaptive, .uniPC, .lms])
    func interruptionPropagates(name: KSamplerName) throws {
        let sigmas = KSamplerSigmas.sigmas(ModelSampling(), scheduler: .karras, sampler: name, steps: 8)
        var calls = 0
        #expect(throws: Interrupted.self) {
            _ = try runSampler(name, denoise: { x, s in
                calls += 1
                if calls == 3 { throw Interrupted() }
                return Self.gaussianDenoiser(x, s)
            }, x: Self.start(sigmas), sigmas: sigmas, seed: 0)
        }
        #expect(calls == 3)
        var steps = 0
        #expect(throws: Interrupted.self) {
            _ = try runSampler(name, denoise: Self.gaussianDenoiser, x: Self.start(sigmas), sigmas: sigmas, seed: 0,
                               callback: { _, _, _, _ in
                                   steps += 1
                                   if steps == 2 { throw Interrupted() }
                               })
        }
        #expect(steps == 2)
    }

    @Test func dpmAdaptiveTerminatesWithABoundedNumberOfEvaluations() throws {
        let sigmas = KSamplerSigmas.sigmas(ModelSampling(), scheduler: .karras, sampler: .dpmAdaptive, steps: 10)
        var calls = 0
        let result = try runSampler(.dpmAdaptive, denoise: { x, s in
            calls += 1
            return Self.gaussianDenoiser(x, s)
        }, x: Self.start(sigmas), sigmas: sigmas, seed: 0)
        #expect(calls > 3 && calls < 1000)
        #expect(calls % 3 == 0)  // three evaluations per attempted step
        #expect(result.scalars.allSatisfy { $0.isFinite })
    }

    @Test func unimplementedSamplersThrowAndTheRegistryIsExtensible() throws {
        let sigmas: [Float] = [1, 0]
        let x = Tensor(zeros: [1, 1, 1, 1])
        #expect(throws: SamplerError.self) {
            _ = try runSampler(.deis, denoise: { x, _ in x }, x: x, sigmas: sigmas, seed: 0)
        }
        let registry = SamplerRegistry.builtin.adding(.deis) { _, x, _, _, _ in
            LatentMathProbe.plusOne(x)
        }
        let result = try runSampler(.deis, denoise: { x, _ in x }, x: x, sigmas: sigmas, seed: 0, registry: registry)
        #expect(result.scalars == [1])
        #expect(registry.names.contains(.deis))
    }

    @Test func samplerNamesAreComfysListInOrder() {
        let names = KSamplerName.allCases.map(\.rawValue)
        #expect(names.count == 42)
        #expect(Array(names.prefix(4)) == ["euler", "euler_cfg_pp", "euler_ancestral", "euler_ancestral_cfg_pp"])
        #expect(Array(names.suffix(3)) == ["ddim", "uni_pc", "uni_pc_bh2"])
        #expect(names.firstIndex(of: "dpmpp_2m") == 15)
    }

    @Test func fewerThanTwoSigmasReturnTheInput() throws {
        let x = Self.start([1])
        for name in SamplerRegistry.builtin.names {
            #expect(try runSampler(name, denoise: Self.gaussianDenoiser, x: x, sigmas: [], seed: 0) == x)
        }
    }
}

enum LatentMathProbe {
    static func plusOne(_ x: Tensor) -> Tensor { Tensor(shape: x.shape, scalars: x.scalars.map { $0 + 1 }) }
}

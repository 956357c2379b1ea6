"""Golden values for Loom's Brownian-tree noise and SDE samplers, from real torch + torchsde (CPU).

Usage: python make_brownian_goldens.py <schedules.json> <output directory>

<schedules.json> is ComfyUI's SD1.5 sigma table (shared/fixtures/comfy_sd15_components_s0/sigmas/schedules.json).
Needs torch (2.9.1 was used), torchsde 0.2.6 and numpy. The noise sampler below is ComfyUI 0.3.64's
BatchedBrownianTree / BrownianTreeNoiseSampler (comfy/k_diffusion/sampling.py) and the samplers are its
sample_dpmpp_sde / sample_dpmpp_2m_sde / sample_dpmpp_3m_sde for an EPS model (lambda = -log sigma),
with the model replaced by the analytic denoiser `x / (sigma^2 + 1)`.
"""
import json
import math
import struct
import sys
from functools import partial

import numpy as np
import torch
import torchsde


# ---- ComfyUI 0.3.64, comfy/k_diffusion/sampling.py (noise sampler) ----
class BatchedBrownianTree:
    def __init__(self, x, t0, t1, seed=None, **kwargs):
        self.cpu_tree = kwargs.pop("cpu", True)
        t0, t1, self.sign = self.sort(t0, t1)
        w0 = kwargs.pop('w0', None)
        if w0 is None:
            w0 = torch.zeros_like(x)
        self.batched = False
        if seed is None:
            seed = (torch.randint(0, 2 ** 63 - 1, ()).item(),)
        elif isinstance(seed, (tuple, list)):
            if len(seed) != x.shape[0]:
                raise ValueError("seed list length")
            self.batched = True
            w0 = w0[0]
        else:
            seed = (seed,)
        if self.cpu_tree:
            t0, w0, t1 = t0.detach().cpu(), w0.detach().cpu(), t1.detach().cpu()
        self.trees = tuple(torchsde.BrownianTree(t0, w0, t1, entropy=s, **kwargs) for s in seed)

    @staticmethod
    def sort(a, b):
        return (a, b, 1) if a < b else (b, a, -1)

    def __call__(self, t0, t1):
        t0, t1, sign = self.sort(t0, t1)
        device, dtype = t0.device, t0.dtype
        if self.cpu_tree:
            t0, t1 = t0.detach().cpu().float(), t1.detach().cpu().float()
        w = torch.stack([tree(t0, t1) for tree in self.trees]).to(device=device, dtype=dtype) * (self.sign * sign)
        return w if self.batched else w[0]


class BrownianTreeNoiseSampler:
    def __init__(self, x, sigma_min, sigma_max, seed=None, transform=lambda x: x, cpu=False):
        self.transform = transform
        t0, t1 = self.transform(torch.as_tensor(sigma_min)), self.transform(torch.as_tensor(sigma_max))
        self.tree = BatchedBrownianTree(x, t0, t1, seed, cpu=cpu)

    def __call__(self, sigma, sigma_next):
        t0, t1 = self.transform(torch.as_tensor(sigma)), self.transform(torch.as_tensor(sigma_next))
        return self.tree(t0, t1) / (t1 - t0).abs().sqrt()


# ---- ComfyUI 0.3.64 samplers, EPS model sampling ----
def get_ancestral_step(sigma_from, sigma_to, eta=1.):
    if not eta:
        return sigma_to, 0.
    sigma_up = min(sigma_to, eta * (sigma_to ** 2 * (sigma_from ** 2 - sigma_to ** 2) / sigma_from ** 2) ** 0.5)
    sigma_down = (sigma_to ** 2 - sigma_up ** 2) ** 0.5
    return sigma_down, sigma_up


lambda_fn = lambda sigma: sigma.log().neg()
sigma_fn = lambda half_log_snr: half_log_snr.neg().exp()


def sample_dpmpp_sde(model, x, sigmas, noise_sampler, callback, eta=1., s_noise=1., r=1 / 2):
    s_in = x.new_ones([x.shape[0]])
    for i in range(len(sigmas) - 1):
        denoised = model(x, sigmas[i] * s_in)
        callback(i, x, denoised)
        if sigmas[i + 1] == 0:
            x = denoised
        else:
            lambda_s, lambda_t = lambda_fn(sigmas[i]), lambda_fn(sigmas[i + 1])
            h = lambda_t - lambda_s
            lambda_s_1 = lambda_s + r * h
            fac = 1 / (2 * r)
            sigma_s_1 = sigma_fn(lambda_s_1)
            alpha_s = sigmas[i] * lambda_s.exp()
            alpha_s_1 = sigma_s_1 * lambda_s_1.exp()
            alpha_t = sigmas[i + 1] * lambda_t.exp()
            sd, su = get_ancestral_step(lambda_s.neg().exp(), lambda_s_1.neg().exp(), eta)
            lambda_s_1_ = sd.log().neg()
            h_ = lambda_s_1_ - lambda_s
            x_2 = (alpha_s_1 / alpha_s) * (-h_).exp() * x - alpha_s_1 * (-h_).expm1() * denoised
            if eta > 0 and s_noise > 0:
                x_2 = x_2 + alpha_s_1 * noise_sampler(sigmas[i], sigma_s_1) * s_noise * su
            denoised_2 = model(x_2, sigma_s_1 * s_in)
            sd, su = get_ancestral_step(lambda_s.neg().exp(), lambda_t.neg().exp(), eta)
            lambda_t_ = sd.log().neg()
            h_ = lambda_t_ - lambda_s
            denoised_d = (1 - fac) * denoised + fac * denoised_2
            x = (alpha_t / alpha_s) * (-h_).exp() * x - alpha_t * (-h_).expm1() * denoised_d
            if eta > 0 and s_noise > 0:
                x = x + alpha_t * noise_sampler(sigmas[i], sigmas[i + 1]) * s_noise * su
    return x


def sample_dpmpp_2m_sde(model, x, sigmas, noise_sampler, callback, eta=1., s_noise=1., solver_type='midpoint'):
    s_in = x.new_ones([x.shape[0]])
    old_denoised = None
    h, h_last = None, None
    for i in range(len(sigmas) - 1):
        denoised = model(x, sigmas[i] * s_in)
        callback(i, x, denoised)
        if sigmas[i + 1] == 0:
            x = denoised
        else:
            lambda_s, lambda_t = lambda_fn(sigmas[i]), lambda_fn(sigmas[i + 1])
            h = lambda_t - lambda_s
            h_eta = h * (eta + 1)
            alpha_t = sigmas[i + 1] * lambda_t.exp()
            x = sigmas[i + 1] / sigmas[i] * (-h * eta).exp() * x + alpha_t * (-h_eta).expm1().neg() * denoised
            if old_denoised is not None:
                r = h_last / h
                if solver_type == 'heun':
                    x = x + alpha_t * ((-h_eta).expm1().neg() / (-h_eta) + 1) * (1 / r) * (denoised - old_denoised)
                elif solver_type == 'midpoint':
                    x = x + 0.5 * alpha_t * (-h_eta).expm1().neg() * (1 / r) * (denoised - old_denoised)
            if eta > 0 and s_noise > 0:
                x = x + noise_sampler(sigmas[i], sigmas[i + 1]) * sigmas[i + 1] * (-2 * h * eta).expm1().neg().sqrt() * s_noise
        old_denoised = denoised
        h_last = h
    return x


def sample_dpmpp_3m_sde(model, x, sigmas, noise_sampler, callback, eta=1., s_noise=1.):
    s_in = x.new_ones([x.shape[0]])
    denoised_1, denoised_2 = None, None
    h, h_1, h_2 = None, None, None
    for i in range(len(sigmas) - 1):
        denoised = model(x, sigmas[i] * s_in)
        callback(i, x, denoised)
        if sigmas[i + 1] == 0:
            x = denoised
        else:
            lambda_s, lambda_t = lambda_fn(sigmas[i]), lambda_fn(sigmas[i + 1])
            h = lambda_t - lambda_s
            h_eta = h * (eta + 1)
            alpha_t = sigmas[i + 1] * lambda_t.exp()
            x = sigmas[i + 1] / sigmas[i] * (-h * eta).exp() * x + alpha_t * (-h_eta).expm1().neg() * denoised
            if h_2 is not None:
                r0 = h_1 / h
                r1 = h_2 / h
                d1_0 = (denoised - denoised_1) / r0
                d1_1 = (denoised_1 - denoised_2) / r1
                d1 = d1_0 + (d1_0 - d1_1) * r0 / (r0 + r1)
                d2 = (d1_0 - d1_1) / (r0 + r1)
                phi_2 = h_eta.neg().expm1() / h_eta + 1
                phi_3 = phi_2 / h_eta - 0.5
                x = x + (alpha_t * phi_2) * d1 - (alpha_t * phi_3) * d2
            elif h_1 is not None:
                r = h_1 / h
                d = (denoised - denoised_1) / r
                phi_2 = h_eta.neg().expm1() / h_eta + 1
                x = x + (alpha_t * phi_2) * d
            if eta > 0 and s_noise > 0:
                x = x + noise_sampler(sigmas[i], sigmas[i + 1]) * sigmas[i + 1] * (-2 * h * eta).expm1().neg().sqrt() * s_noise
        denoised_1, denoised_2 = denoised, denoised_1
        h_1, h_2 = h, h_1
    return x


SAMPLERS = {"dpmpp_sde": sample_dpmpp_sde, "dpmpp_2m_sde": sample_dpmpp_2m_sde, "dpmpp_3m_sde": sample_dpmpp_3m_sde}


def model(x, sigma):
    """The analytic denoiser the Swift test uses: x / (sigma^2 + 1), per batch item, float32."""
    s = sigma.reshape([-1] + [1] * (x.ndim - 1))
    return x / (s * s + 1)


# ---- serialisation ----
def f32hex(v):
    return struct.pack(">f", float(v)).hex()


def f64hex(v):
    return struct.pack(">d", float(v)).hex()


def summary(t, head=16):
    a = t.detach().contiguous().numpy().astype(np.float32).ravel()
    bits = a.view(np.uint32).astype(np.uint64)
    return {
        "head_f32_hex": [f32hex(v) for v in a[:head]],
        "tail_f32_hex": [f32hex(v) for v in a[-4:]],
        "fsum": math.fsum(float(v) for v in a),
        "abs_fsum": math.fsum(abs(float(v)) for v in a),
        "bits_sum_mod_2_32": int(bits.sum() % (1 << 32)),
    }


def draw_record(ns, a, b, out):
    """A noise draw: the sigmas, the raw signed tree increment, torch's normalising square root, the noise."""
    raw = ns.tree(ns.transform(torch.as_tensor(a)), ns.transform(torch.as_tensor(b)))
    scale = (torch.as_tensor(b) - torch.as_tensor(a)).abs().sqrt()
    assert torch.equal(raw / scale, out)
    return {"sigma": f32hex(a), "sigma_next": f32hex(b), "increment": summary(raw, head=8),
            "scale": f32hex(scale), "noise": summary(out, head=8)}


def seed_sequence_vectors():
    cases = []
    for entropy in [0, 1, 42, 2 ** 32 - 1, 2 ** 32, 2 ** 63 + 5, 2 ** 64 - 1]:
        for spawn_key, pool_size, n in [((), 4, 4), ((), 24, 3), ((0, 0), 24, 4), ((1, 1), 24, 4), ((5, 3), 24, 4),
                                         ((2 ** 20 + 3, 21), 24, 4), ((2 ** 33 + 1, 34), 24, 4), ((7,), 4, 6)]:
            ss = np.random.SeedSequence(entropy=entropy, spawn_key=spawn_key, pool_size=pool_size)
            cases.append({"entropy": str(entropy), "spawn_key": [str(k) for k in spawn_key], "pool_size": pool_size,
                          "state": [int(v) for v in ss.generate_state(n)]})
    return cases


def python_round_vectors(sigma_values):
    rng = np.random.default_rng(0)
    xs = [0.0078125, -0.0078125, 0.5, 1.0000005, 2.5e-7, 7.5e-7, 1e-7, 14.614643096923828, 0.0291671771556139,
          123456.7890125, 1e-300, 5e-324, -3.0000005]
    xs += [float(v) for v in sigma_values]
    xs += [float(v) for v in rng.uniform(0, 15, 40)]
    xs += [float(np.float32(v)) for v in rng.uniform(0, 1, 20)]
    xs += [float(k) / 2 ** 20 for k in rng.integers(0, 2 ** 24, 20)]
    xs += [float(k) / 128 + 0.5 / 128 * s for k in range(0, 2000, 97) for s in (0, 1)]
    return [{"x": f64hex(x), "round6": f64hex(round(x, 6))} for x in xs]


def noise_cases(schedules):
    cases = []
    specs = [
        (0, [1, 4, 8, 8], "karras_steps20_denoise1.0"),
        (2 ** 63 + 5, [2, 4, 4, 4], "normal_steps20_denoise1.0"),
        (42, [1, 4, 8, 8], "normal_steps4_denoise0.6"),
        (2 ** 64 - 1, [1, 4, 4, 4], "karras_steps4_denoise1.0"),
    ]
    for seed, shape, schedule in specs:
        sigmas = torch.tensor(schedules[schedule]["values"], dtype=torch.float32)
        x = torch.zeros(shape, dtype=torch.float32)
        sigma_min, sigma_max = sigmas[sigmas > 0].min(), sigmas.max()
        ns = BrownianTreeNoiseSampler(x, sigma_min, sigma_max, seed=seed, cpu=True)
        queries = []
        n = len(sigmas) - 1
        # Forward steps, a sub-step query, a repeated query, a reversed and an out-of-order one.
        pairs = [(sigmas[i], sigmas[i + 1]) for i in range(n) if sigmas[i + 1] > 0]
        pairs += [(sigmas[0], (sigmas[0] * sigmas[1]).sqrt()), pairs[0], (sigmas[1], sigmas[0]),
                  (sigma_max, sigma_min), (sigmas[n - 1], sigmas[1])]
        for a, b in pairs:
            a = torch.as_tensor(a, dtype=torch.float32)
            b = torch.as_tensor(b, dtype=torch.float32)
            out = ns(a, b)
            queries.append(draw_record(ns, a, b, out))
        cases.append({"seed": str(seed), "shape": shape, "schedule": schedule,
                      "sigmas_f32_hex": [f32hex(v) for v in sigmas], "queries": queries})
    return cases


def trajectory_cases(schedules):
    cases = []
    specs = [
        ("dpmpp_sde", 0, [1, 4, 8, 8], "karras_steps4_denoise1.0", {}),
        ("dpmpp_2m_sde", 0, [1, 4, 8, 8], "karras_steps4_denoise1.0", {}),
        ("dpmpp_3m_sde", 0, [1, 4, 8, 8], "karras_steps4_denoise1.0", {}),
        ("dpmpp_sde", 2 ** 63 + 5, [2, 4, 4, 4], "normal_steps20_denoise1.0", {}),
        ("dpmpp_2m_sde", 2 ** 63 + 5, [2, 4, 4, 4], "normal_steps20_denoise1.0", {}),
        ("dpmpp_3m_sde", 42, [1, 4, 8, 8], "karras_steps20_denoise0.6", {}),
        ("dpmpp_sde", 7, [1, 4, 8, 8], "karras_steps20_denoise1.0", {"eta": 0.5, "s_noise": 0.75}),
        ("dpmpp_2m_sde", 7, [1, 4, 8, 8], "karras_steps20_denoise1.0", {"solver_type": "heun"}),
        ("dpmpp_3m_sde", 7, [2, 4, 4, 4], "normal_steps4_denoise1.0", {"eta": 0.5, "s_noise": 0.75}),
    ]
    for name, seed, shape, schedule, options in specs:
        sigmas = torch.tensor(schedules[schedule]["values"], dtype=torch.float32)
        g = torch.manual_seed(seed)
        x = torch.randn(shape, generator=g, dtype=torch.float32) * sigmas[0]
        sigma_min, sigma_max = sigmas[sigmas > 0].min(), sigmas.max()
        inner = BrownianTreeNoiseSampler(x, sigma_min, sigma_max, seed=seed, cpu=True)
        draws, steps = [], []

        def noise_sampler(a, b):
            out = inner(a, b)
            draws.append(draw_record(inner, a, b, out))
            return out

        def callback(i, xi, denoised):
            steps.append({"step": i, "x": summary(xi, head=8)})

        out = SAMPLERS[name](model, x, sigmas, noise_sampler, callback, **options)
        cases.append({"sampler": name, "options": options, "seed": str(seed), "shape": shape, "schedule": schedule,
                      "sigmas_f32_hex": [f32hex(v) for v in sigmas], "steps": steps, "noise_draws": draws,
                      "output": summary(out, head=32)})
    return cases


def main():
    schedules = json.load(open(sys.argv[1]))["schedules"]
    out_dir = sys.argv[2]
    sigma_values = []
    for key in ["karras_steps20_denoise1.0", "normal_steps20_denoise1.0", "karras_steps4_denoise0.6"]:
        sigma_values += [np.float32(v) for v in schedules[key]["values"]]
    meta = {"torch": torch.__version__, "torchsde": torchsde.__version__, "numpy": np.__version__,
            "cpu_capability": torch.backends.cpu.get_cpu_capability()}
    files = {
        "seed_sequence.json": {"meta": meta, "cases": seed_sequence_vectors()},
        "python_round.json": {"meta": meta, "cases": python_round_vectors(sigma_values)},
        "noise.json": {"meta": meta, "cases": noise_cases(schedules)},
        "trajectories.json": {"meta": meta, "cases": trajectory_cases(schedules)},
    }
    for name, content in files.items():
        with open(f"{out_dir}/{name}", "w") as f:
            json.dump(content, f, separators=(",", ":"))
            f.write("\n")


if __name__ == "__main__":
    main()

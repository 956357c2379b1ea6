"""Golden values for Loom's Brownian-tree noise and SDE samplers, from real torch + torchsde (CPU).

Usage: python make_brownian_goldens.py <schedules.json> <output directory>

<schedules.json> is ComfyUI's SD1.5 sigma table (shared/fixtures/comfy_sd15_components_s0/sigmas/schedules.json).
Needs torch (2.9.1 was used), torchsde 0.2.6, numpy and a ComfyUI 0.3.64 checkout named by COMFYUI_DIR: the
noise sampler and the samplers are imported from its comfy/k_diffusion/sampling.py (BrownianTreeNoiseSampler,
sample_dpmpp_sde / sample_dpmpp_2m_sde / sample_dpmpp_3m_sde), run for an eps model with the model replaced
by the analytic denoiser `x / (sigma^2 + 1)`.
"""
import json
import math
import os
import struct
import sys
import types
from functools import partial

import numpy as np
import torch
import torchsde


# ---- ComfyUI's own noise sampler and SDE samplers, imported from a ComfyUI 0.3.64 checkout ----
# (COMFYUI_DIR=<checkout>; ComfyUI's Python requirements must be installed in the same environment.)
sys.path.insert(0, os.environ["COMFYUI_DIR"])
from comfy.k_diffusion import sampling as kd  # noqa: E402

BrownianTreeNoiseSampler = kd.BrownianTreeNoiseSampler


class AnalyticModel:
    """Stands in for KSampler's model wrapper: `model(x, sigma)` and the model-sampling lookup the SDE samplers
    make to choose their half-log-SNR (an object that is not CONST gives an eps model's lambda = -log sigma)."""

    def __init__(self):
        patcher = types.SimpleNamespace(get_model_object=lambda name: types.SimpleNamespace())
        self.inner_model = types.SimpleNamespace(model_patcher=patcher)

    def __call__(self, x, sigma, **kwargs):
        return model(x, sigma)


def run_sampler(name, _model, x, sigmas, noise_sampler, callback, **options):
    function = getattr(kd, "sample_" + name)
    return function(AnalyticModel(), x, sigmas, extra_args={}, disable=True, noise_sampler=noise_sampler,
                    callback=lambda d: callback(d["i"], d["x"], d["denoised"]), **options)


SAMPLERS = {name: partial(run_sampler, name) for name in ("dpmpp_sde", "dpmpp_2m_sde", "dpmpp_3m_sde")}


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

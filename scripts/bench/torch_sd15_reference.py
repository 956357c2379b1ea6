# Usage: python3 -m venv V && V/bin/pip install torch diffusers && V/bin/python scripts/bench/torch_sd15_reference.py [latent sizes, default 32 64]
# Reference timings of PyTorch on this machine for the SD1.5 shapes Loom's `bench sd15` measures:
# fp32 GEMM throughput, one UNet forward (batch 2 = one cfg step) at a 64x64 latent (512x512 image) and a
# 32x32 latent, and the VAE decode at 512x512. Random weights (the architecture is what costs).
import time, torch, sys
from diffusers import UNet2DConditionModel, AutoencoderKL
torch.set_num_threads(2)
torch.manual_seed(0)
def best(f, n):
    times = []
    for _ in range(n):
        t = time.perf_counter(); f(); times.append(time.perf_counter() - t)
    return min(times), times
with torch.inference_mode():
    for size in (1024, 2048):
        a = torch.randn(size, size); b = torch.randn(size, size)
        t, _ = best(lambda: a @ b, 5)
        print(f"torch fp32 GEMM {size}: {2*size**3/t/1e9:.1f} GFLOP/s")
        a16, b16 = a.bfloat16(), b.bfloat16()
        t, _ = best(lambda: a16 @ b16, 3)
        print(f"torch bf16 GEMM {size}: {2*size**3/t/1e9:.1f} GFLOP/s")
    unet = UNet2DConditionModel(sample_size=64, in_channels=4, out_channels=4, block_out_channels=(320, 640, 1280, 1280),
                                down_block_types=("CrossAttnDownBlock2D",)*3 + ("DownBlock2D",),
                                up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",)*3, cross_attention_dim=768,
                                attention_head_dim=8, layers_per_block=2).eval()
    print("UNet parameters:", sum(p.numel() for p in unet.parameters()))
    ctx = torch.randn(2, 77, 768)
    for lat in (int(a) for a in sys.argv[1:] or ["32", "64"]):
        x = torch.randn(2, 4, lat, lat); t = torch.tensor([999., 999.])
        first = time.perf_counter(); unet(x, t, ctx); first = time.perf_counter() - first
        b, times = best(lambda: unet(x, t, ctx), 2)
        print(f"torch UNet fp32 batch 2 latent {lat}x{lat} ({lat*8}px): first {first:.2f} s, best {b:.2f} s, runs {[round(v,2) for v in times]}")
    del unet
    vae = AutoencoderKL(in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",)*4,
                        up_block_types=("UpDecoderBlock2D",)*4, block_out_channels=(128, 256, 512, 512),
                        latent_channels=4, layers_per_block=2).eval()
    z = torch.randn(1, 4, 64, 64)
    b, times = best(lambda: vae.decode(z), 2)
    print(f"torch VAE decode fp32 512x512: best {b:.2f} s, runs {[round(v,2) for v in times]}")

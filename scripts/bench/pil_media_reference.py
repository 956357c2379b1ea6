#!/usr/bin/env python3
"""Reference timings for `loom bench media`: the same synthetic clip saved the way ComfyUI's savers and
VideoHelperSuite's Video Combine do it (Pillow for animated WEBP/PNG, the ffmpeg program fed raw frames
over a pipe for H.264), in one Python process. Needs numpy and Pillow (pip install numpy pillow).

usage: pil_media_reference.py [FRAMES] [WIDTHxHEIGHT]
"""
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np
from PIL import Image

frames = int(sys.argv[1]) if len(sys.argv) > 1 else 81
w, h = (int(v) for v in (sys.argv[2] if len(sys.argv) > 2 else "832x480").split("x"))


def clip():
    u = (np.arange(w, dtype=np.float32) / w)[None, :]
    v = (np.arange(h, dtype=np.float32) / h)[:, None]
    out = np.empty((frames, h, w, 3), dtype=np.float32)
    for f in range(frames):
        phase = f / max(frames, 1)
        out[f, :, :, 0] = np.mod(u + phase, 1.0)
        out[f, :, :, 1] = v
        out[f, :, :, 2] = 0.5 + 0.5 * np.sin(6.28 * (u * 3 + v * 2 + phase))
    return out


def peak_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


images = clip()
print(f"clip: {frames} frames of {w}x{h} RGB (float32 array {images.nbytes / 1048576:.0f} MiB), peak so far {peak_mib():.0f} MiB")
tmp = tempfile.mkdtemp()

# ComfyUI SaveAnimatedWEBP: PIL images from the float batch, then one save_all (lossy q85, method 4).
start = time.time()
pil = [Image.fromarray(np.clip(255.0 * i, 0, 255).astype(np.uint8)) for i in images]
pil[0].save(os.path.join(tmp, "a.webp"), save_all=True, duration=int(1000 / 16), append_images=pil[1:],
            lossless=False, quality=85, method=4)
print(f"webp      {time.time() - start:6.2f} s   peak RSS {peak_mib():.0f} MiB")

start = time.time()
pil = [Image.fromarray(np.clip(255.0 * i, 0, 255).astype(np.uint8)) for i in images]
pil[0].save(os.path.join(tmp, "a.png"), compress_level=4, save_all=True, duration=int(1000 / 16), append_images=pil[1:])
print(f"apng      {time.time() - start:6.2f} s   peak RSS {peak_mib():.0f} MiB")
del pil

# VideoHelperSuite h264-mp4: frames converted one by one and written to ffmpeg's stdin.
start = time.time()
args = ["ffmpeg", "-v", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-color_range", "pc", "-colorspace", "rgb",
        "-color_primaries", "bt709", "-color_trc", "bt709", "-s", f"{w}x{h}", "-r", "16", "-i", "-", "-n", "-c:v",
        "libx264", "-pix_fmt", "yuv420p", "-crf", "19", "-vf", "scale=out_color_matrix=bt709", "-color_range", "tv",
        "-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709", os.path.join(tmp, "a.mp4")]
with subprocess.Popen(args, stdin=subprocess.PIPE) as proc:
    for i in images:
        proc.stdin.write((np.clip(i * 255 + 0.5, 0, 255)).astype(np.uint8).tobytes())
    proc.stdin.close()
print(f"vhs-h264  {time.time() - start:6.2f} s   peak RSS {peak_mib():.0f} MiB")

#!/usr/bin/env python3
"""Generate scikit-image reference fixtures for the FrameSequencing conformance tests.

Writes one suite of safetensors files, following the contract in FIXTURES.md
(one case per file; ``__metadata__`` values are strings holding JSON):

* ``ssim/<case>.safetensors``: ``skimage.metrics.structural_similarity(a, b,
  gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
  data_range=1.0, channel_axis=-1)`` (Wang et al. 2004: an 11 x 11 Gaussian
  window, truncate 3.5 so radius int(3.5 * 1.5 + 0.5) = 5; K1 0.01, K2 0.03;
  each channel's SSIM map cropped by the radius on every side and averaged in
  float64, then the channels averaged)
    metadata: suite, source ("scikit-image 0.26.0"), seed
    tensors:  a, b (H, W, C) F32 in [0, 1]; ssim (1) F32, the mean SSIM

skimage computes in the input's float type. The stored float32 arrays are
passed as float64 (the very same values), so the reference is the SSIM of the
stored values and not itself rounded by float32 filtering; skimage's result on
the float32 arrays is checked to agree within 1e-5.

Usage (from the package root)::

    /tmp/ref/bin/python Fixtures/generate_skimage.py [--out DIR] [--clean]

The output defaults to the folder holding this script. Every case draws from
``numpy.random.default_rng(seed)`` with its own seed, so reruns produce
byte-identical files. After writing, every file is read back with
``safetensors.numpy.load_file``; its names, dtypes, shapes, value range and
metadata are checked, and its ``ssim`` is recomputed by an independent float64
NumPy model (a direct 11 x 11 weighted window at every pixel whose window lies
inside the image, which is exactly skimage's cropped region, so no boundary
rule is involved) and compared to 1e-6. Last, the script shows that the suite
tells apart the likely mistakes: sigma 1.0, no crop (the mean over the whole
reflect-padded map), and sample covariance (a factor 121/120 on the variances)
each move some case by more than 2e-4, twice the Swift tolerance. One line is
printed per case.

TensorFlow and PyTorch are not imported; fixture_files.py holds the writer the
generators share.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import scipy.ndimage as ndi
import skimage
from safetensors.numpy import load_file
from skimage.metrics import structural_similarity

from fixture_files import check, read_metadata, write_safetensors

SOURCE = f"scikit-image {skimage.__version__}"
SSIM_ARGS = dict(gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                 data_range=1.0, channel_axis=-1)
RADIUS = 5  # int(3.5 * 1.5 + 0.5): skimage's truncate 3.5 at sigma 1.5
K1, K2 = 0.01, 0.03

# The 5 x 7 bitmap font of Sources/FrameseqCLI/MovingDigits.swift (one 5-bit row
# pattern per line, most significant bit left), drawn at twice its size.
GLYPHS = {
    3: [0b11111, 0b00010, 0b00100, 0b00010, 0b00001, 0b10001, 0b01110],
    7: [0b11111, 0b00001, 0b00010, 0b00100, 0b01000, 0b01000, 0b01000],
}


# --------------------------------------------------------------------------
# Image makers: each takes the case's generator and shape (H, W, C) and
# returns float64 values in [0, 1].
# --------------------------------------------------------------------------

def uniform(rng, shape):
    return rng.random(shape)


def smooth(rng, shape):
    """Soft blobs: uniform noise blurred with sigma 2 per channel, stretched to [0, 1]."""
    x = ndi.gaussian_filter(rng.random(shape), sigma=(2, 2, 0), mode="reflect")
    lo, hi = x.min(), x.max()
    return (x - lo) / (hi - lo)


def digits(shape, positions):
    """Digits 3 and 7 of the moving-digits font, 2x scale (10 x 14), value 1 on 0."""
    img = np.zeros(shape)
    for digit, (y, x) in zip((3, 7), positions):
        for row in range(14):
            bits = GLYPHS[digit][row // 2]
            for col in range(10):
                if bits & (1 << (4 - col // 2)):
                    img[y + row, x + col, :] = 1.0
    return img


# pair(rng, shape) -> (a, b), both float64 in [0, 1]; the case table is below.

def pair_identical(rng, shape):
    a = uniform(rng, shape)
    return a, a.copy()


def pair_noise(rng, shape):
    a = smooth(rng, shape)
    return a, np.clip(a + 0.1 * rng.standard_normal(shape), 0.0, 1.0)


def pair_independent(rng, shape):
    return uniform(rng, shape), uniform(rng, shape)


def pair_shifted(rng, shape):
    """b is a shifted by (2, 3) pixels: both cut from one larger smooth image."""
    h, w, c = shape
    big = smooth(rng, (h + 2, w + 3, c))
    return big[2:, 3:], big[:h, :w]


def pair_blurred(rng, shape):
    a = uniform(rng, shape)
    return a, ndi.gaussian_filter(a, sigma=(1, 1, 0), mode="reflect")


def pair_inverted(rng, shape):
    a = smooth(rng, shape)
    return a, 1.0 - a


def pair_brightened(rng, shape):
    """b = a + 0.25, clipped at 1: a luminance change with saturated pixels."""
    a = smooth(rng, shape)
    return a, np.clip(a + 0.25, 0.0, 1.0)


def pair_constant_equal(rng, shape):
    a = np.full(shape, 0.5)
    return a, a.copy()


def pair_constant_different(rng, shape):
    """Distinct constants per channel: every variance and covariance is 0, so
    SSIM is the luminance term (2 mu_a mu_b + C1) / (mu_a^2 + mu_b^2 + C1)."""
    return (np.broadcast_to(rng.uniform(0.1, 0.9, shape[-1]), shape).copy(),
            np.broadcast_to(rng.uniform(0.1, 0.9, shape[-1]), shape).copy())


def pair_constant_vs_noise(rng, shape):
    """var(a) = cov(a, b) = 0, var(b) > 0."""
    return np.full(shape, 0.4), uniform(rng, shape)


def pair_zeros(rng, shape):
    """Both black: every mean and variance is 0, SSIM = C1 C2 / (C1 C2) = 1."""
    return np.zeros(shape), np.zeros(shape)


def pair_black_white(rng, shape):
    """0 against 1: SSIM = C1 / (1 + C1), about 1e-4."""
    return np.zeros(shape), np.ones(shape)


def pair_digits_next(rng, shape):
    """One moving-digits frame and the next (each digit moved by its own step)."""
    y3, x3, y7, x7 = rng.integers(4, 40, 4)
    return (digits(shape, [(y3, x3), (y7, x7)]),
            digits(shape, [(y3 + 1, x3 + 2), (y7 - 2, x7 + 1)]))


def pair_digits_prediction(rng, shape):
    """A frame against a forecaster-like prediction of it: blurred, dimmed, noisy."""
    y3, x3, y7, x7 = rng.integers(4, 40, 4)
    a = digits(shape, [(y3, x3), (y7, x7)])
    guess = 0.8 * ndi.gaussian_filter(digits(shape, [(y3 + 1, x3), (y7, x7 - 1)]), sigma=(1.2, 1.2, 0))
    return a, np.clip(guess + 0.03 * rng.standard_normal(shape), 0.0, 1.0)


# --------------------------------------------------------------------------
# Case table: shape (H, W, C); H and W at least 11 (skimage's 11 x 11 window).
# --------------------------------------------------------------------------

SSIM_CASES = [
    dict(name="identical_32x32x1", shape=(32, 32, 1), pair=pair_identical, seed=701),
    dict(name="identical_24x20x3", shape=(24, 20, 3), pair=pair_identical, seed=702),
    dict(name="noise_32x32x3", shape=(32, 32, 3), pair=pair_noise, seed=703),
    dict(name="independent_noise_16x16x1", shape=(16, 16, 1), pair=pair_independent, seed=704),
    dict(name="shifted_48x40x1", shape=(48, 40, 1), pair=pair_shifted, seed=705),
    dict(name="blurred_40x40x3", shape=(40, 40, 3), pair=pair_blurred, seed=706),
    dict(name="inverted_20x20x1", shape=(20, 20, 1), pair=pair_inverted, seed=707),
    dict(name="brightened_24x24x3", shape=(24, 24, 3), pair=pair_brightened, seed=708),
    dict(name="constant_equal_16x16x1", shape=(16, 16, 1), pair=pair_constant_equal, seed=709),
    dict(name="constant_different_16x16x3", shape=(16, 16, 3), pair=pair_constant_different, seed=710),
    dict(name="constant_vs_noise_16x16x1", shape=(16, 16, 1), pair=pair_constant_vs_noise, seed=711),
    dict(name="zeros_12x12x1", shape=(12, 12, 1), pair=pair_zeros, seed=712),
    dict(name="black_white_12x12x1", shape=(12, 12, 1), pair=pair_black_white, seed=713),
    # the smallest frame skimage takes: one pixel of the SSIM map is averaged
    dict(name="window_11x11x1", shape=(11, 11, 1), pair=pair_noise, seed=714),
    dict(name="window_11x11x3", shape=(11, 11, 3), pair=pair_independent, seed=715),
    dict(name="odd_13x17x3", shape=(13, 17, 3), pair=pair_noise, seed=716),
    dict(name="odd_17x13x1", shape=(17, 13, 1), pair=pair_blurred, seed=717),
    dict(name="strip_11x40x2", shape=(11, 40, 2), pair=pair_shifted, seed=718),
    dict(name="digits_next_frame_64x64x1", shape=(64, 64, 1), pair=pair_digits_next, seed=719),
    dict(name="digits_prediction_64x64x1", shape=(64, 64, 1), pair=pair_digits_prediction, seed=720),
]


def gen_ssim_case(case, out_dir: Path) -> Path:
    rng = np.random.default_rng(case["seed"])
    a64, b64 = case["pair"](rng, case["shape"])
    a = np.ascontiguousarray(a64, dtype=np.float32)
    b = np.ascontiguousarray(b64, dtype=np.float32)
    value = structural_similarity(a.astype(np.float64), b.astype(np.float64), **SSIM_ARGS)
    tensors = {"a": a, "b": b, "ssim": np.array([value], dtype=np.float32)}
    meta = {"suite": "ssim", "source": SOURCE, "seed": json.dumps(int(case["seed"]))}
    path = out_dir / "ssim" / f"{case['name']}.safetensors"
    write_safetensors(path, tensors, meta)
    return path


# --------------------------------------------------------------------------
# Independent float64 model and verification
# --------------------------------------------------------------------------

def gaussian_window(sigma=1.5, radius=RADIUS):
    """The 2-D window w[i, j] = g[i] g[j], g = exp(-x^2 / (2 sigma^2)) normalized."""
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    g = np.exp(-x * x / (2.0 * sigma * sigma))
    g /= g.sum()
    return np.outer(g, g)


def reference_ssim(a, b):
    """Mean SSIM from Wang et al.'s definition, float64, over every pixel whose
    11 x 11 window lies inside the frame (skimage's crop), channels averaged."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    h, w, channels = a.shape
    win = gaussian_window()
    k = 2 * RADIUS + 1
    c1, c2 = (K1 * 1.0) ** 2, (K2 * 1.0) ** 2
    means = []
    for ch in range(channels):
        x, y = a[:, :, ch], b[:, :, ch]
        values = []
        for r in range(h - k + 1):
            for c in range(w - k + 1):
                px, py = x[r:r + k, c:c + k], y[r:r + k, c:c + k]
                mx, my = np.sum(win * px), np.sum(win * py)
                vx = np.sum(win * px * px) - mx * mx
                vy = np.sum(win * py * py) - my * my
                cxy = np.sum(win * px * py) - mx * my
                values.append((2 * mx * my + c1) * (2 * cxy + c2)
                              / ((mx * mx + my * my + c1) * (vx + vy + c2)))
        means.append(np.mean(values))
    return float(np.mean(means))


def mutations(a, b):
    """skimage's value under each likely mistake, for the discrimination check."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    out = {"sigma 1.0": structural_similarity(a, b, **{**SSIM_ARGS, "sigma": 1.0}),
           "sample covariance": structural_similarity(a, b, **{**SSIM_ARGS, "use_sample_covariance": True})}
    _, full = structural_similarity(a, b, full=True, **SSIM_ARGS)
    out["no crop"] = float(np.mean([full[:, :, ch].mean() for ch in range(a.shape[-1])]))
    return out


def verify_ssim_file(path: Path, shape) -> tuple[str, dict]:
    t = load_file(str(path))
    m = read_metadata(path)
    check(m.get("suite") == "ssim" and m.get("source") == SOURCE and isinstance(m.get("seed"), int),
          path, f"metadata {m}")
    check(set(t) == {"a", "b", "ssim"}, path, f"tensors {sorted(t)}")
    for name in t:
        check(t[name].dtype == np.float32, path, f"{name} dtype {t[name].dtype}")
    a, b, stored = t["a"], t["b"], t["ssim"]
    check(a.shape == tuple(shape) and b.shape == a.shape, path, f"shapes a {a.shape}, b {b.shape}")
    check(a.shape[0] >= 11 and a.shape[1] >= 11, path, "frame smaller than the 11 x 11 window")
    check(stored.shape == (1,), path, f"ssim shape {stored.shape}")
    for name in ("a", "b"):
        check(np.all((t[name] >= 0) & (t[name] <= 1)), path, f"{name} outside [0, 1]")
    value = float(stored[0])
    check(-1.0 <= value <= 1.0, path, f"ssim {value} outside [-1, 1]")
    ref = reference_ssim(a, b)
    err = abs(value - ref)
    check(err <= 1e-6, path, f"ssim {value} differs from the float64 NumPy model {ref} by {err:.3g}")
    as_f32 = float(structural_similarity(a, b, **SSIM_ARGS))
    err32 = abs(value - as_f32)
    check(err32 <= 1e-5, path, f"skimage on the float32 arrays gives {as_f32} ({err32:.3g} away)")
    if np.array_equal(a, b):
        check(value == 1.0, path, f"identical frames give {value}, not 1")
    moved = {k: abs(v - value) for k, v in mutations(a, b).items()}
    line = (f"ssim/{path.stem}: {a.shape} ssim {value:.7f}; numpy model err {err:.1e}, "
            f"float32 skimage err {err32:.1e}; mutations move it by "
            + ", ".join(f"{k} {v:.1e}" for k, v in moved.items()))
    return line, moved


# --------------------------------------------------------------------------

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent,
                    help="output folder (default: the folder holding this script)")
    ap.add_argument("--clean", action="store_true",
                    help="first delete existing *.safetensors in ssim/ (other suites are untouched)")
    args = ap.parse_args(argv)
    out: Path = args.out

    d = out / "ssim"
    d.mkdir(parents=True, exist_ok=True)
    if args.clean:
        for old in d.glob("*.safetensors"):
            old.unlink()
    names = [c["name"] for c in SSIM_CASES]
    assert len(names) == len(set(names)), "duplicate case names in ssim"
    written = [(case, gen_ssim_case(case, out)) for case in SSIM_CASES]

    print(f"source: {SOURCE}")
    limit = 200 * 1024
    largest = {}
    for case, path in written:
        line, moved = verify_ssim_file(path, case["shape"])
        check(path.stat().st_size < limit, path, f"file is {path.stat().st_size} bytes (limit {limit})")
        for k, v in moved.items():
            largest[k] = max(largest.get(k, 0.0), v)
        print(line)
    for k, v in largest.items():
        check(v > 2e-4, d, f"no case tells '{k}' apart (largest change {v:.3g})")
    print("largest change per mutation: " + ", ".join(f"{k} {v:.3g}" for k, v in largest.items()))

    total = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"{len(written)} cases written (ssim); folder {out} total {total} bytes ({total / 1024:.1f} KiB)")
    check(total < 5 * 1024 * 1024, out, "folder exceeds 5 MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())

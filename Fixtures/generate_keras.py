#!/usr/bin/env python3
"""Generate Keras reference fixtures for the FrameSequencing conformance tests.

Writes two suites of safetensors files, following the contract in FIXTURES.md
(one case per file; ``__metadata__`` values are strings holding JSON):

* ``windows/<case>.safetensors``: ``keras.utils.timeseries_dataset_from_array``
    metadata: sequence_length, sequence_stride, sampling_rate, start_index,
              end_index, target_offset (JSON int or null), batch_size
              (informational), suite, source, seed
    tensors:  frames (N, H, W, C) F32
              windows (B, T, H*W*C) F32: every batch of the dataset, concatenated
              targets (B, H*W*C) F32: only when target_offset is not null; Keras
              was called with targets = frames_flat[target_offset:]

* ``pad_sequences/<case>.safetensors``: ``keras.utils.pad_sequences``
    metadata: maxlen (int or null), padding, truncating ("pre"|"post" as JSON
              strings), value (JSON number), count, suite, source, seed
    tensors:  seq.0 ... seq.<count-1>, each (T_i, F) F32
              padded (count, T, F) F32

Usage (from the package root)::

    /tmp/ref/bin/python Fixtures/generate_keras.py [--out DIR] [--clean]

The output defaults to the folder holding this script. Every case has a fixed
seed, so reruns produce byte-identical files. After writing, every file is read
back with ``safetensors.numpy.load_file``, its shapes are checked against its
metadata, and its values are compared with an independent NumPy
reimplementation of the Keras semantics; one summary line is printed per case.

PyTorch must not be imported in this process (torch and tensorflow do not
coexist reliably in one process); PyTorch fixtures come from a separate script.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402
from safetensors.numpy import load_file, save  # noqa: E402

BATCH_SIZE = 4  # small, so that several batches are concatenated per case
SOURCE = f"keras {keras.__version__}, tensorflow {tf.__version__}"


# --------------------------------------------------------------------------
# Case tables
# --------------------------------------------------------------------------

# fill: "index" -> value = frame_index * 1000 + flat pixel index (frame n, pixel p
#                  readable straight from the number, so mistakes are visible)
#       "random" -> random integers 0..255 as float32 from default_rng(seed)
WINDOW_CASES = [
    dict(name="stride1", n=12, hwc=(4, 4, 1), T=5, stride=1, rate=1, fill="index", seed=101),
    dict(name="stride3", n=20, hwc=(4, 4, 1), T=4, stride=3, rate=1, fill="index", seed=102),
    dict(name="rate2", n=20, hwc=(3, 3, 1), T=4, stride=1, rate=2, fill="index", seed=103),
    dict(name="stride3_rate2", n=30, hwc=(3, 3, 1), T=5, stride=3, rate=2, fill="index", seed=104),
    dict(name="start5", n=20, hwc=(3, 3, 1), T=4, stride=1, rate=1, start=5, fill="index", seed=105),
    dict(name="end15", n=20, hwc=(3, 3, 1), T=4, stride=1, rate=1, end=15, fill="index", seed=106),
    dict(name="start4_end19_stride2", n=24, hwc=(3, 3, 1), T=3, stride=2, rate=1,
         start=4, end=19, fill="index", seed=107),
    # explicit start_index=0 (not null) and the largest end_index Keras accepts (N-1)
    dict(name="start0_end_max", n=15, hwc=(2, 2, 1), T=5, stride=1, rate=1,
         start=0, end=14, fill="index", seed=108),
    # target = the frame right after the window
    dict(name="targets_next_frame", n=16, hwc=(3, 3, 1), T=4, stride=1, rate=1,
         offset=4, fill="index", seed=109),
    # target = the next *sampled* step after the window (offset T * rate)
    dict(name="targets_stride2_rate2", n=24, hwc=(3, 3, 1), T=3, stride=2, rate=2,
         offset=6, fill="index", seed=110),
    # targets together with start/end: only valid while end_index <= N - offset
    dict(name="targets_start3_end20_stride3", n=30, hwc=(2, 2, 1), T=4, stride=3, rate=1,
         start=3, end=20, offset=4, fill="index", seed=111),
    # seed shape: 50 frames, windows of 10 overlapping by 5 (8x8x1 to stay small)
    dict(name="seed_50x8x8x1_len10_stride5", n=50, hwc=(8, 8, 1), T=10, stride=5, rate=1,
         fill="random", seed=112),
    # larger frames, same half-overlap pattern
    dict(name="seed_12x16x16x1_len4_stride2", n=12, hwc=(16, 16, 1), T=4, stride=2, rate=1,
         fill="random", seed=113),
    dict(name="multichannel_c3", n=10, hwc=(4, 4, 3), T=3, stride=2, rate=1, fill="random", seed=114),
    dict(name="nonsquare_3x5x2", n=11, hwc=(3, 5, 2), T=4, stride=1, rate=1, fill="random", seed=115),
    # N=23, T=6, stride 4: starts 0,4,...,16; a window at 20 would need frames
    # up to 25, so it is dropped (frames 21, 22 never appear)
    dict(name="drop_partial_last", n=23, hwc=(2, 3, 1), T=6, stride=4, rate=1, fill="index", seed=116),
    dict(name="len1_stride2", n=9, hwc=(2, 2, 1), T=1, stride=2, rate=1, fill="index", seed=117),
]

# lengths: T_i of each sequence; all non-zero (no empty sequences).
PAD_CASES = [
    dict(name="pre_pre", maxlen=5, padding="pre", truncating="pre", value=0.0,
         lengths=[3, 7, 5, 1], f=2, fill="index", seed=201),
    dict(name="post_post", maxlen=5, padding="post", truncating="post", value=0.0,
         lengths=[3, 7, 5, 1], f=2, fill="index", seed=202),
    dict(name="pre_pad_post_trunc", maxlen=4, padding="pre", truncating="post", value=0.0,
         lengths=[6, 2, 4, 9], f=1, fill="index", seed=203),
    dict(name="post_pad_pre_trunc", maxlen=4, padding="post", truncating="pre", value=0.0,
         lengths=[6, 2, 4, 9], f=1, fill="index", seed=204),
    dict(name="maxlen_null_longest", maxlen=None, padding="pre", truncating="pre", value=0.0,
         lengths=[2, 6, 4], f=3, fill="index", seed=205),
    dict(name="maxlen_null_post", maxlen=None, padding="post", truncating="post", value=0.0,
         lengths=[5, 1, 3, 5], f=2, fill="index", seed=206),
    dict(name="value_neg1p5_post_pre", maxlen=6, padding="post", truncating="pre", value=-1.5,
         lengths=[8, 3, 6, 1, 2], f=2, fill="random", seed=207),
    dict(name="features4_random", maxlen=7, padding="pre", truncating="post", value=0.25,
         lengths=[10, 4, 7, 2], f=4, fill="random", seed=208),
    # maxlen above every length: padding only, nothing truncated
    dict(name="maxlen_over_all", maxlen=8, padding="pre", truncating="pre", value=2.0,
         lengths=[3, 5, 1], f=1, fill="index", seed=209),
]


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------

def jint(v):
    """Metadata value for an optional int: '5' or 'null'."""
    return json.dumps(None if v is None else int(v))


def write_safetensors(path: Path, tensors: dict, metadata: dict) -> None:
    """safetensors.numpy.save, with the JSON header rewritten in sorted key order.

    The library emits ``__metadata__`` keys in hash-map order, which changes from
    run to run; sorting them (offsets and data untouched) makes reruns
    byte-identical. The header is space-padded to a multiple of 8 bytes, as the
    format requires, and the file is read back by ``load_file`` in verification.
    """
    raw = save(tensors, metadata=metadata)
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    header["__metadata__"] = dict(sorted(header["__metadata__"].items()))
    text = json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    path.write_bytes(len(text).to_bytes(8, "little") + text + raw[8 + n:])


def base_metadata(suite, seed):
    # "suite" and "source" are bare strings, as in FIXTURES.md's examples.
    return {"suite": suite, "source": SOURCE, "seed": json.dumps(int(seed))}


def make_frames(case):
    n = case["n"]
    h, w, c = case["hwc"]
    if case["fill"] == "index":
        pix = h * w * c
        frames = np.arange(n, dtype=np.float32)[:, None] * 1000.0 + np.arange(pix, dtype=np.float32)[None, :]
        assert frames.max() < 2 ** 24  # exact in float32
        return frames.reshape(n, h, w, c).astype(np.float32)
    rng = np.random.default_rng(case["seed"])
    return rng.integers(0, 256, size=(n, h, w, c)).astype(np.float32)


def reference_windows(frames_flat, T, stride, rate, start, end, offset):
    """Independent NumPy statement of the Keras semantics, used to check files."""
    n = len(frames_flat)
    s = 0 if start is None else start
    e = n if end is None else end
    num = e - s - (T - 1) * rate
    if offset is not None:
        num = min(num, n - offset)
    starts = [s + p for p in range(0, max(num, 0), stride)]
    win = np.stack([frames_flat[a: a + T * rate: rate] for a in starts]) if starts else \
        np.zeros((0, T, frames_flat.shape[1]), np.float32)
    tgt = None
    if offset is not None:
        tgt = np.stack([frames_flat[a + offset] for a in starts])
    return win, tgt


def reference_pad(seqs, maxlen, padding, truncating, value):
    f = seqs[0].shape[1]
    L = max(len(s) for s in seqs) if maxlen is None else maxlen
    out = np.full((len(seqs), L, f), value, dtype=np.float32)
    for i, s in enumerate(seqs):
        t = s[-L:] if truncating == "pre" else s[:L]
        if padding == "post":
            out[i, :len(t)] = t
        else:
            out[i, L - len(t):] = t
    return out


# --------------------------------------------------------------------------
# Generators
# --------------------------------------------------------------------------

def gen_window_case(case, out_dir: Path) -> Path:
    frames = make_frames(case)
    n = frames.shape[0]
    flat = frames.reshape(n, -1)
    T, stride, rate = case["T"], case["stride"], case["rate"]
    start, end, offset = case.get("start"), case.get("end"), case.get("offset")

    targets_in = None if offset is None else flat[offset:]
    ds = keras.utils.timeseries_dataset_from_array(
        flat, targets_in, sequence_length=T, sequence_stride=stride,
        sampling_rate=rate, batch_size=BATCH_SIZE, shuffle=False,
        start_index=start, end_index=end,
    )
    win_batches, tgt_batches = [], []
    for batch in ds:
        if offset is None:
            win_batches.append(batch.numpy())
        else:
            x, y = batch
            win_batches.append(x.numpy())
            tgt_batches.append(y.numpy())
    if not win_batches:
        raise RuntimeError(f"windows/{case['name']}: Keras produced no windows")

    tensors = {
        "frames": np.ascontiguousarray(frames, dtype=np.float32),
        "windows": np.ascontiguousarray(np.concatenate(win_batches), dtype=np.float32),
    }
    if offset is not None:
        tensors["targets"] = np.ascontiguousarray(np.concatenate(tgt_batches), dtype=np.float32)

    meta = base_metadata("windows", case["seed"])
    meta.update({
        "sequence_length": jint(T),
        "sequence_stride": jint(stride),
        "sampling_rate": jint(rate),
        "start_index": jint(start),
        "end_index": jint(end),
        "target_offset": jint(offset),
        "batch_size": jint(BATCH_SIZE),
    })
    path = out_dir / "windows" / f"{case['name']}.safetensors"
    write_safetensors(path, tensors, meta)
    return path


def make_sequences(case):
    f = case["f"]
    if case["fill"] == "index":
        # sequence i, step t, feature k -> (i+1)*100 + t + k/4 (exact in float32,
        # never equal to a padding value used here)
        return [
            ((i + 1) * 100 + np.arange(t, dtype=np.float32)[:, None]
             + np.arange(f, dtype=np.float32)[None, :] / 4.0).astype(np.float32)
            for i, t in enumerate(case["lengths"])
        ]
    rng = np.random.default_rng(case["seed"])
    return [rng.standard_normal((t, f)).astype(np.float32) for t in case["lengths"]]


def gen_pad_case(case, out_dir: Path) -> Path:
    seqs = make_sequences(case)
    padded = keras.utils.pad_sequences(
        seqs, maxlen=case["maxlen"], dtype="float32", padding=case["padding"],
        truncating=case["truncating"], value=case["value"],
    )
    tensors = {f"seq.{i}": np.ascontiguousarray(s) for i, s in enumerate(seqs)}
    tensors["padded"] = np.ascontiguousarray(padded, dtype=np.float32)
    meta = base_metadata("pad_sequences", case["seed"])
    meta.update({
        "maxlen": jint(case["maxlen"]),
        "padding": json.dumps(case["padding"]),
        "truncating": json.dumps(case["truncating"]),
        "value": json.dumps(float(case["value"])),
        "count": jint(len(seqs)),
    })
    path = out_dir / "pad_sequences" / f"{case['name']}.safetensors"
    write_safetensors(path, tensors, meta)
    return path


# --------------------------------------------------------------------------
# Verification (reads the files back; does not trust in-memory values)
# --------------------------------------------------------------------------

def read_metadata(path: Path) -> dict:
    with open(path, "rb") as fh:
        n = int.from_bytes(fh.read(8), "little")
        header = json.loads(fh.read(n))
    meta = {}
    for k, v in header.get("__metadata__", {}).items():
        try:
            meta[k] = json.loads(v)
        except json.JSONDecodeError:
            meta[k] = v  # bare string ("suite", "source"), as FIXTURES.md allows
    return meta


def check(cond, path, msg):
    if not cond:
        raise AssertionError(f"{path}: {msg}")


def verify_window_file(path: Path) -> str:
    t = load_file(str(path))
    m = read_metadata(path)
    check(m["suite"] == "windows", path, "suite")
    for name, arr in t.items():
        check(arr.dtype == np.float32, path, f"{name} dtype {arr.dtype}")
    frames = t["frames"]
    check(frames.ndim == 4, path, "frames must be (N, H, W, C)")
    n = frames.shape[0]
    d = int(np.prod(frames.shape[1:]))
    T = m["sequence_length"]
    win = t["windows"]
    check(win.ndim == 3 and win.shape[1:] == (T, d), path, f"windows shape {win.shape}")
    offset = m["target_offset"]
    check(("targets" in t) == (offset is not None), path, "targets present iff target_offset")
    exp_w, exp_t = reference_windows(frames.reshape(n, d), T, m["sequence_stride"],
                                     m["sampling_rate"], m["start_index"], m["end_index"], offset)
    check(np.array_equal(win, exp_w), path, "windows differ from NumPy reference")
    if offset is not None:
        check(t["targets"].shape == (win.shape[0], d), path, f"targets shape {t['targets'].shape}")
        check(np.array_equal(t["targets"], exp_t), path, "targets differ from NumPy reference")
    return (f"windows/{path.stem}: frames {tuple(frames.shape)} T={T} "
            f"stride={m['sequence_stride']} rate={m['sampling_rate']} "
            f"start={m['start_index']} end={m['end_index']} offset={offset} "
            f"-> B={win.shape[0]} ({path.stat().st_size} bytes)")


def verify_pad_file(path: Path) -> str:
    t = load_file(str(path))
    m = read_metadata(path)
    check(m["suite"] == "pad_sequences", path, "suite")
    count = m["count"]
    seqs = [t[f"seq.{i}"] for i in range(count)]
    check(set(t) == {f"seq.{i}" for i in range(count)} | {"padded"}, path, "tensor names")
    f = seqs[0].shape[1]
    check(all(s.ndim == 2 and s.shape[1] == f and s.shape[0] > 0 for s in seqs), path, "seq shapes")
    L = m["maxlen"] if m["maxlen"] is not None else max(len(s) for s in seqs)
    p = t["padded"]
    check(p.shape == (count, L, f), path, f"padded shape {p.shape}")
    exp = reference_pad(seqs, m["maxlen"], m["padding"], m["truncating"], m["value"])
    check(np.array_equal(p, exp), path, "padded differs from NumPy reference")
    return (f"pad_sequences/{path.stem}: lengths {[len(s) for s in seqs]} F={f} "
            f"maxlen={m['maxlen']} padding={m['padding']} truncating={m['truncating']} "
            f"value={m['value']} -> padded {tuple(p.shape)} ({path.stat().st_size} bytes)")


# --------------------------------------------------------------------------

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent,
                    help="output folder (default: the folder holding this script)")
    ap.add_argument("--clean", action="store_true",
                    help="first delete existing *.safetensors in the windows/ and "
                         "pad_sequences/ suite folders (other suites are untouched)")
    args = ap.parse_args(argv)
    out: Path = args.out

    suites = {"windows": (WINDOW_CASES, gen_window_case, verify_window_file),
              "pad_sequences": (PAD_CASES, gen_pad_case, verify_pad_file)}
    written = []
    for suite, (cases, gen, _) in suites.items():
        d = out / suite
        d.mkdir(parents=True, exist_ok=True)
        if args.clean:
            for old in d.glob("*.safetensors"):
                old.unlink()
        names = [c["name"] for c in cases]
        assert len(names) == len(set(names)), f"duplicate case names in {suite}"
        for case in cases:
            written.append((suite, gen(case, out)))

    print(f"source: {SOURCE}")
    limit = 200 * 1024
    for suite, path in written:
        line = suites[suite][2](path)
        check(path.stat().st_size < limit, path, f"file is {path.stat().st_size} bytes (limit {limit})")
        print(line)

    total = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"{len(written)} cases written; folder {out} total {total} bytes "
          f"({total / 1024:.1f} KiB)")
    check(total < 5 * 1024 * 1024, out, "folder exceeds 5 MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Generate Keras reference fixtures for the FrameSequencing conformance tests.

Writes four suites of safetensors files, following the contract in FIXTURES.md
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

* ``keras_lstm/<case>.safetensors``: ``keras.layers.LSTM(units,
  return_sequences=..., go_backwards=False)``, float32, default activations
  (tanh; recurrent sigmoid), use_bias=True, unit_forget_bias=True (which only
  affects the initializer: every weight is then overwritten with seeded random
  values). The initial state is zero (Keras has no h0/c0 tensor here).
    metadata: units, return_sequences, go_backwards (false), input_size,
              activation ("tanh"), recurrent_activation ("sigmoid"), use_bias
              (true) (the last four informational), suite, source, seed
    tensors:  input (B, T, I); kernel (I, 4U); recurrent_kernel (U, 4U);
              bias (4U), gate blocks in the order i, f, c, o;
              output (B, T, U) if return_sequences else (B, U);
              grad_output (random, shape of output);
              grad.input, grad.kernel, grad.recurrent_kernel, grad.bias for
              L = sum(output * grad_output), from tf.GradientTape

* ``keras_dense/<case>.safetensors``: ``keras.layers.Dense(units,
  activation=...)``, float32, use_bias=True; applied to the last axis of a
  (B, I) or (B, T, I) input
    metadata: units, activation (JSON string: "linear", "tanh", "relu"),
              input_size, use_bias (true) (the last two informational), suite,
              source, seed
    tensors:  input (..., I); kernel (I, U); bias (U); output (..., U);
              grad_output (random, shape of output); grad.input, grad.kernel,
              grad.bias for L = sum(output * grad_output). For relu, every
              pre-activation is at least RELU_MARGIN away from 0.

Usage (from the package root)::

    /tmp/ref/bin/python Fixtures/generate_keras.py [--out DIR] [--clean]
        [--suites windows,pad_sequences,keras_lstm,keras_dense]

The output defaults to the folder holding this script; ``--suites`` selects the
suites written (default: all four). Every case has a fixed seed, and TensorFlow
runs on one thread with op determinism on and oneDNN off, so reruns produce
byte-identical files. After writing, every file is read back with
``safetensors.numpy.load_file``, its shapes are checked against its metadata,
and its values are compared with an independent NumPy reimplementation of the
Keras semantics (exact for windows and padding; for keras_lstm and keras_dense
a float64 forward pass to 1e-5, and every element of every gradient tensor
against central finite differences of that float64 model); one summary line is
printed per case.

The Swift harness fails on a suite folder it does not implement: until the
Recurrent module's checks land, regenerate the package's own folder with
``--suites windows,pad_sequences`` and write keras_lstm/keras_dense elsewhere
(``--suites keras_lstm,keras_dense --out /tmp/keras-fixtures``).

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
# oneDNN picks kernels by the CPU it runs on; the Eigen kernels do not, so the
# float results of keras_lstm/keras_dense do not depend on the machine's ISA.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402
from safetensors.numpy import load_file, save  # noqa: E402

# One thread and deterministic ops: the float reductions (matmul, bias
# gradients) then run in a fixed order, so reruns are byte-identical.
tf.config.threading.set_intra_op_parallelism_threads(1)
tf.config.threading.set_inter_op_parallelism_threads(1)
tf.config.experimental.enable_op_determinism()

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

# B, T: batch, time steps; I: input features; U: units; seq: return_sequences.
# Weights ~ N(0, WEIGHT_STD^2) (kernel, recurrent_kernel and bias alike),
# input and grad_output ~ N(0, 1), all from default_rng(seed).
KERAS_LSTM_CASES = [
    dict(name="return_sequences", B=2, T=5, I=4, U=3, seq=True, seed=501),
    dict(name="last_output", B=3, T=6, I=4, U=6, seq=False, seed=502),
    # sizes that are not multiples of a vector width
    dict(name="odd_sizes_i7_u5", B=2, T=4, I=7, U=5, seq=True, seed=503),
    dict(name="odd_sizes_i17_u9_last", B=2, T=3, I=17, U=9, seq=False, seed=504),
    dict(name="batch1_t1", B=1, T=1, I=3, U=4, seq=True, seed=505),
    dict(name="batch1_t1_last", B=1, T=1, I=3, U=4, seq=False, seed=506),
    # gradients through a longer recurrence
    dict(name="long_t20_last", B=2, T=20, I=3, U=4, seq=False, seed=507),
]
WEIGHT_STD = 0.5

# shape: input shape (B, I) or (B, T, I); U: units. Same random draws as above.
KERAS_DENSE_CASES = [
    dict(name="linear_2d", shape=(4, 5), U=3, activation="linear", seed=601),
    # Dense acts on the last axis: the same kernel at every time step
    dict(name="linear_3d", shape=(2, 4, 6), U=5, activation="linear", seed=602),
    dict(name="tanh_2d_i7_u9", shape=(3, 7), U=9, activation="tanh", seed=603),
    dict(name="relu_3d", shape=(2, 3, 5), U=4, activation="relu", seed=604),
]
RELU_MARGIN = 0.05  # min |pre-activation| in relu cases (redraw until it holds)


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------

def jint(v):
    """Metadata value for an optional int: '5' or 'null'."""
    return json.dumps(None if v is None else int(v))


def jbool(v):
    return json.dumps(bool(v))


def f32(t) -> np.ndarray:
    """A C-contiguous float32 copy of a tensor or array."""
    a = t.numpy() if hasattr(t, "numpy") else t
    return np.array(a, dtype=np.float32, order="C", copy=True)


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


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def reference_keras_lstm(x, kernel, recurrent_kernel, bias, return_sequences):
    """Keras LSTM forward, float64, from zero initial state. Gate blocks of the
    4U axis in the order i, f, c, o:
        z = x_t @ kernel + h @ recurrent_kernel + bias
        i = sigmoid(z_i); f = sigmoid(z_f); o = sigmoid(z_o)
        c' = f * c + i * tanh(z_c);  h' = o * tanh(c')
    Returns every h (B, T, U), or the last one (B, U)."""
    x = np.asarray(x, np.float64)
    k = np.asarray(kernel, np.float64)
    r = np.asarray(recurrent_kernel, np.float64)
    b = np.asarray(bias, np.float64)
    B, T, _ = x.shape
    U = r.shape[0]
    h = np.zeros((B, U))
    c = np.zeros((B, U))
    hs = []
    for t in range(T):
        z = x[:, t] @ k + h @ r + b
        zi, zf, zc, zo = z[:, :U], z[:, U:2 * U], z[:, 2 * U:3 * U], z[:, 3 * U:]
        c = _sigmoid(zf) * c + _sigmoid(zi) * np.tanh(zc)
        h = _sigmoid(zo) * np.tanh(c)
        hs.append(h)
    return np.stack(hs, axis=1) if return_sequences else h


DENSE_ACTIVATIONS = {
    "linear": lambda z: z,
    "tanh": np.tanh,
    "relu": lambda z: np.maximum(z, 0.0),
}


def reference_dense(x, kernel, bias, activation):
    """activation(x @ kernel + bias) over the last axis, float64."""
    z = np.asarray(x, np.float64) @ np.asarray(kernel, np.float64) + np.asarray(bias, np.float64)
    return DENSE_ACTIVATIONS[activation](z)


def finite_difference_check(path, t, loss, eps=1e-6, tol=1e-5):
    """Check every element of every grad.<name> tensor in t against central
    differences of the float64 loss(values) (values: name -> float64 array).
    Passes when |fd - stored| <= tol * (1 + |fd|). Returns the worst ratio
    |fd - stored| / (1 + |fd|)."""
    base = {k: np.asarray(v, np.float64) for k, v in t.items()}
    worst = 0.0
    for gname in sorted(k for k in t if k.startswith("grad.")):
        target = gname[len("grad."):]
        stored = base[gname]
        for idx in np.ndindex(base[target].shape):
            vals = dict(base)
            p = base[target].copy()
            p[idx] += eps
            vals[target] = p
            lp = loss(vals)
            m = base[target].copy()
            m[idx] -= eps
            vals[target] = m
            lm = loss(vals)
            fd = (lp - lm) / (2 * eps)
            err = abs(fd - stored[idx]) / (1.0 + abs(fd))
            worst = max(worst, err)
            check(err <= tol, path, f"{gname}{list(idx)}: finite difference {fd:.8g} "
                                    f"vs stored {stored[idx]:.8g}")
    return worst


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


def keras_grads(layer, x: np.ndarray, g_out: np.ndarray, weights: dict):
    """Run ``layer`` on x; return output and the gradients of
    L = sum(output * g_out) with respect to x and each named weight variable."""
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        out = layer(xt)
        loss = tf.reduce_sum(out * tf.constant(g_out))
    names = list(weights)
    grads = tape.gradient(loss, [xt] + [weights[n].value for n in names])
    assert all(g is not None for g in grads), "missing gradient"
    result = {"grad.input": f32(grads[0])}
    result.update({f"grad.{n}": f32(g) for n, g in zip(names, grads[1:])})
    return f32(out), result


def gen_keras_lstm_case(case, out_dir: Path) -> Path:
    B, T, I, U, seq = case["B"], case["T"], case["I"], case["U"], case["seq"]
    rng = np.random.default_rng(case["seed"])
    x = rng.standard_normal((B, T, I)).astype(np.float32)
    values = {
        "kernel": (WEIGHT_STD * rng.standard_normal((I, 4 * U))).astype(np.float32),
        "recurrent_kernel": (WEIGHT_STD * rng.standard_normal((U, 4 * U))).astype(np.float32),
        "bias": (WEIGHT_STD * rng.standard_normal(4 * U)).astype(np.float32),
    }
    out_shape = (B, T, U) if seq else (B, U)
    g_out = rng.standard_normal(out_shape).astype(np.float32)

    layer = keras.layers.LSTM(
        U, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
        unit_forget_bias=True, return_sequences=seq, return_state=False,
        go_backwards=False, stateful=False, unroll=False, dtype="float32")
    layer.build((B, T, I))
    cell_vars = {"kernel": layer.cell.kernel, "recurrent_kernel": layer.cell.recurrent_kernel,
                 "bias": layer.cell.bias}
    assert len(layer.weights) == 3, [w.path for w in layer.weights]
    for name, var in cell_vars.items():
        assert tuple(var.shape) == values[name].shape, (name, var.shape)
        var.assign(values[name])
    out, grads = keras_grads(layer, x, g_out, cell_vars)
    assert out.shape == out_shape, out.shape

    tensors = {"input": x, **values, "output": out, "grad_output": g_out, **grads}
    meta = base_metadata("keras_lstm", case["seed"])
    meta.update({
        "units": json.dumps(U),
        "return_sequences": jbool(seq),
        "go_backwards": jbool(False),
        "input_size": json.dumps(I),
        "activation": json.dumps("tanh"),
        "recurrent_activation": json.dumps("sigmoid"),
        "use_bias": jbool(True),
    })
    path = out_dir / "keras_lstm" / f"{case['name']}.safetensors"
    write_safetensors(path, {k: np.ascontiguousarray(v) for k, v in tensors.items()}, meta)
    return path


def gen_keras_dense_case(case, out_dir: Path) -> Path:
    shape, U, act = tuple(case["shape"]), case["U"], case["activation"]
    I = shape[-1]
    rng = np.random.default_rng(case["seed"])
    while True:  # deterministic: the same rng draws on every run
        x = rng.standard_normal(shape).astype(np.float32)
        values = {
            "kernel": (WEIGHT_STD * rng.standard_normal((I, U))).astype(np.float32),
            "bias": (WEIGHT_STD * rng.standard_normal(U)).astype(np.float32),
        }
        z = x.astype(np.float64) @ values["kernel"] + values["bias"]
        if act != "relu" or np.min(np.abs(z)) >= RELU_MARGIN:
            break
    g_out = rng.standard_normal(shape[:-1] + (U,)).astype(np.float32)

    layer = keras.layers.Dense(U, activation=act, use_bias=True, dtype="float32")
    layer.build(shape)
    layer_vars = {"kernel": layer.kernel, "bias": layer.bias}
    assert len(layer.weights) == 2, [w.path for w in layer.weights]
    for name, var in layer_vars.items():
        assert tuple(var.shape) == values[name].shape, (name, var.shape)
        var.assign(values[name])
    out, grads = keras_grads(layer, x, g_out, layer_vars)
    assert out.shape == g_out.shape, out.shape

    tensors = {"input": x, **values, "output": out, "grad_output": g_out, **grads}
    meta = base_metadata("keras_dense", case["seed"])
    meta.update({
        "units": json.dumps(U),
        "activation": json.dumps(act),
        "input_size": json.dumps(I),
        "use_bias": jbool(True),
    })
    path = out_dir / "keras_dense" / f"{case['name']}.safetensors"
    write_safetensors(path, {k: np.ascontiguousarray(v) for k, v in tensors.items()}, meta)
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


def check_tensor_set(path, t, expected):
    check(set(t) == set(expected), path, f"tensor names {sorted(set(t) ^ set(expected))}")
    for name, shape in expected.items():
        check(t[name].shape == shape, path, f"{name} shape {t[name].shape} != {shape}")
        check(t[name].dtype == np.float32, path, f"{name} dtype {t[name].dtype}")
        check(np.all(np.isfinite(t[name])), path, f"{name} not finite")


def verify_keras_lstm_file(path: Path) -> str:
    t = load_file(str(path))
    m = read_metadata(path)
    check(m["suite"] == "keras_lstm", path, "suite")
    check(m["go_backwards"] is False and m["use_bias"] is True, path, "go_backwards/use_bias")
    check(m["activation"] == "tanh" and m["recurrent_activation"] == "sigmoid", path, "activations")
    U, seq, I = m["units"], m["return_sequences"], m["input_size"]
    x = t["input"]
    check(x.ndim == 3 and x.shape[2] == I, path, f"input shape {x.shape}")
    B, T = x.shape[:2]
    out_shape = (B, T, U) if seq else (B, U)
    params = {"kernel": (I, 4 * U), "recurrent_kernel": (U, 4 * U), "bias": (4 * U,)}
    expected = {"input": (B, T, I), "output": out_shape, "grad_output": out_shape,
                "grad.input": (B, T, I), **params}
    expected.update({f"grad.{k}": s for k, s in params.items()})
    check_tensor_set(path, t, expected)

    ref = reference_keras_lstm(x, t["kernel"], t["recurrent_kernel"], t["bias"], seq)
    fwd_err = float(np.max(np.abs(t["output"] - ref)))
    check(fwd_err <= 1e-5, path, f"output differs from NumPy LSTM by {fwd_err:.3g}")

    def loss(v):
        o = reference_keras_lstm(v["input"], v["kernel"], v["recurrent_kernel"], v["bias"], seq)
        return float(np.sum(o * v["grad_output"]))

    grad_err = finite_difference_check(path, t, loss)
    return (f"keras_lstm/{path.stem}: B={B} T={T} I={I} U={U} "
            f"return_sequences={str(seq).lower()} -> output {out_shape}, "
            f"max |output| {np.max(np.abs(t['output'])):.2f}; "
            f"numpy fwd max err {fwd_err:.1e}, grad fd err {grad_err:.1e} "
            f"({path.stat().st_size} bytes)")


def verify_keras_dense_file(path: Path) -> str:
    t = load_file(str(path))
    m = read_metadata(path)
    check(m["suite"] == "keras_dense", path, "suite")
    check(m["use_bias"] is True, path, "use_bias")
    U, act, I = m["units"], m["activation"], m["input_size"]
    check(act in DENSE_ACTIVATIONS, path, f"activation {act!r}")
    x = t["input"]
    check(x.ndim >= 2 and x.shape[-1] == I, path, f"input shape {x.shape}")
    out_shape = x.shape[:-1] + (U,)
    params = {"kernel": (I, U), "bias": (U,)}
    expected = {"input": x.shape, "output": out_shape, "grad_output": out_shape,
                "grad.input": x.shape, **params}
    expected.update({f"grad.{k}": s for k, s in params.items()})
    check_tensor_set(path, t, expected)

    z = np.asarray(x, np.float64) @ np.asarray(t["kernel"], np.float64) + t["bias"]
    margin = float(np.min(np.abs(z)))
    if act == "relu":
        check(margin >= RELU_MARGIN, path, f"relu pre-activation {margin:.3g} too close to 0")
    ref = reference_dense(x, t["kernel"], t["bias"], act)
    fwd_err = float(np.max(np.abs(t["output"] - ref)))
    check(fwd_err <= 1e-5, path, f"output differs from NumPy Dense by {fwd_err:.3g}")

    def loss(v):
        return float(np.sum(reference_dense(v["input"], v["kernel"], v["bias"], act)
                            * v["grad_output"]))

    grad_err = finite_difference_check(path, t, loss)
    inactive = f" ({int(np.sum(z < 0))}/{z.size} inactive)" if act == "relu" else ""
    return (f"keras_dense/{path.stem}: input {tuple(x.shape)} U={U} activation={act} "
            f"-> output {out_shape}, min |pre-activation| {margin:.3f}{inactive}; "
            f"numpy fwd max err {fwd_err:.1e}, grad fd err {grad_err:.1e} "
            f"({path.stat().st_size} bytes)")


# --------------------------------------------------------------------------

SUITES = {
    "windows": (WINDOW_CASES, gen_window_case, verify_window_file),
    "pad_sequences": (PAD_CASES, gen_pad_case, verify_pad_file),
    "keras_lstm": (KERAS_LSTM_CASES, gen_keras_lstm_case, verify_keras_lstm_file),
    "keras_dense": (KERAS_DENSE_CASES, gen_keras_dense_case, verify_keras_dense_file),
}


def parse_suites(text: str) -> list:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in SUITES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown suite(s) {unknown}; choose from {','.join(SUITES)}")
    return [n for n in SUITES if n in names]  # table order, no duplicates


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent,
                    help="output folder (default: the folder holding this script)")
    ap.add_argument("--suites", type=parse_suites, default=list(SUITES),
                    help="comma-separated suites to write (default: all, i.e. "
                         f"{','.join(SUITES)})")
    ap.add_argument("--clean", action="store_true",
                    help="first delete existing *.safetensors in the selected suites' "
                         "folders (other suites are untouched)")
    args = ap.parse_args(argv)
    out: Path = args.out

    written = []
    for suite in args.suites:
        cases, gen, _ = SUITES[suite]
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
        line = SUITES[suite][2](path)
        check(path.stat().st_size < limit, path, f"file is {path.stat().st_size} bytes (limit {limit})")
        print(line)

    total = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"{len(written)} cases written ({', '.join(args.suites)}); folder {out} "
          f"total {total} bytes ({total / 1024:.1f} KiB)")
    check(total < 5 * 1024 * 1024, out, "folder exceeds 5 MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Generate TensorFlow reference fixtures for the FrameSequencing conformance tests.

Writes one suite, following the contract in FIXTURES.md (one case per file;
``__metadata__`` values are strings holding JSON):

* ``space_to_depth/<case>.safetensors``: ``tf.nn.space_to_depth`` (NHWC)
    metadata: block_size, suite, source, seed
    tensors:  input (B, H, W, C) F32, H and W multiples of block_size, values
              distinct so that any misplaced element shows;
              output (B, H/b, W/b, b*b*C) F32 = tf.nn.space_to_depth(input, b).
  The script also checks that tf.nn.depth_to_space(output, b) gives input back
  and that the output matches an independent NumPy reshape/transpose.

Usage, from the package root (TensorFlow in its own process, as for
generate_keras.py):

    /tmp/ref/bin/python Fixtures/generate_tensorflow.py [--out DIR]

Every case has a fixed seed, so reruns write byte-identical files.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import tensorflow as tf

from fixture_files import write_safetensors

SOURCE = f"tensorflow {tf.__version__}"

SPACE_TO_DEPTH_CASES = [
    dict(name="b2_c1", shape=(1, 4, 6, 1), block=2, seed=2001),
    dict(name="b2_c3", shape=(2, 4, 4, 3), block=2, seed=2002),
    dict(name="b3_c2_wide", shape=(1, 6, 9, 2), block=3, seed=2003),
    dict(name="b4_c3", shape=(2, 8, 12, 3), block=4, seed=2004),
    dict(name="b5_c3", shape=(1, 10, 15, 3), block=5, seed=2005),
    dict(name="b8_c1", shape=(1, 16, 8, 1), block=8, seed=2007),
]


def numpy_space_to_depth(x: np.ndarray, b: int) -> np.ndarray:
    n, h, w, c = x.shape
    y = x.reshape(n, h // b, b, w // b, b, c).transpose(0, 1, 3, 2, 4, 5)
    return y.reshape(n, h // b, w // b, b * b * c)


def gen_space_to_depth_case(case, out_dir: Path) -> Path:
    rng = np.random.default_rng(case["seed"])
    shape, b = case["shape"], case["block"]
    count = int(np.prod(shape))
    # Distinct values (a permutation of 0..count-1, scaled): exact in float32.
    x = (rng.permutation(count).astype(np.float32) / 4.0).reshape(shape)
    y = tf.nn.space_to_depth(tf.constant(x), b).numpy().astype(np.float32)
    back = tf.nn.depth_to_space(tf.constant(y), b).numpy()
    assert np.array_equal(back, x), case["name"]
    assert np.array_equal(y, numpy_space_to_depth(x, b)), case["name"]
    path = out_dir / "space_to_depth" / f"{case['name']}.safetensors"
    path.parent.mkdir(parents=True, exist_ok=True)
    metadata = {"suite": "space_to_depth", "source": SOURCE, "seed": json.dumps(case["seed"]),
                "block_size": json.dumps(b)}
    write_safetensors(path, {"input": np.ascontiguousarray(x), "output": np.ascontiguousarray(y)}, metadata)
    return path


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    args = parser.parse_args()
    for case in SPACE_TO_DEPTH_CASES:
        print(gen_space_to_depth_case(case, args.out))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Keras (TensorFlow CPU) peers for Benchmarks/compare.py, run in their own
process because TensorFlow and PyTorch cannot share one.

    python3 Benchmarks/keras_peers.py WORKLOAD
    # prints {"label": {"median_s": seconds, "min_s": seconds}, ...} as JSON

Timing follows shared/BENCHMARKS.md: one warm-up call, then at least 5 runs and
at least one second (compare.time_call); both the median and the minimum (best
single run) of those runs are reported, and compare.py puts the minimum in its
"best/best" column as a second view next to the median ratio. TensorFlow uses 2 intra-op threads. Each workload
runs as a compiled tf.function, as `model.fit` and `model.predict` would.
"""
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import time_call  # noqa: E402  (stdlib-only at import; torch is never loaded here)


def keras_setup():
    """TensorFlow on 2 intra-op threads, Keras seeded: the imports each peer needs."""
    import numpy as np
    import tensorflow as tf
    import keras
    tf.config.threading.set_intra_op_parallelism_threads(2)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    keras.utils.set_random_seed(2)
    return np, tf, keras


def timed_model(tf, model, x, g, label, train):
    """{label: call}: inference, or forward plus the gradients of sum(output * g)
    with respect to the input and every weight (no optimizer step)."""
    @tf.function
    def forward():
        return model(x, training=False)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            tape.watch(x)
            out = model(x, training=True)
            loss = tf.reduce_sum(out * g)
        return tape.gradient(loss, [x] + model.trainable_variables)

    if train:
        return {f"keras {label} forward+backward": lambda: step()}
    return {f"keras {label} forward": lambda: forward()}


def cnnlstm(train):
    """cnnlstm.seed2: B 16, T 10, 64x64x1 through TimeDistributed Conv2D(32, 3x3,
    relu), MaxPool 2x2, Conv2D(64, 3x3, relu), MaxPool 2x2, Flatten, LSTM(64) (last
    step), Dense(1)."""
    np, tf, keras = keras_setup()
    layers = keras.layers
    model = keras.Sequential([
        keras.Input((10, 64, 64, 1)),
        layers.TimeDistributed(layers.Conv2D(32, 3, activation="relu")),
        layers.TimeDistributed(layers.MaxPooling2D(2)),
        layers.TimeDistributed(layers.Conv2D(64, 3, activation="relu")),
        layers.TimeDistributed(layers.MaxPooling2D(2)),
        layers.TimeDistributed(layers.Flatten()),
        layers.LSTM(64),
        layers.Dense(1),
    ])
    rng = np.random.default_rng(2)
    x = tf.constant(rng.random((16, 10, 64, 64, 1), dtype=np.float32))
    g = tf.constant(rng.random((16, 1), dtype=np.float32) - 0.5)
    return timed_model(tf, model, x, g, "TimeDistributed CNN-LSTM", train)


def convlstm(train):
    """convlstm.seed2: ConvLSTM2D(64, 3x3, padding same, all timesteps returned) on
    B 4, T 10, 64x64x1 frames."""
    np, tf, keras = keras_setup()
    model = keras.Sequential([
        keras.Input((10, 64, 64, 1)),
        keras.layers.ConvLSTM2D(64, 3, padding="same", return_sequences=True),
    ])
    rng = np.random.default_rng(2)
    x = tf.constant(rng.random((4, 10, 64, 64, 1), dtype=np.float32))
    g = tf.constant(rng.random((4, 10, 64, 64, 64), dtype=np.float32) - 0.5)
    return timed_model(tf, model, x, g, "ConvLSTM2D", train)


PEERS = {
    "cnnlstm.seed2.forward": lambda: cnnlstm(train=False),
    "cnnlstm.seed2.train": lambda: cnnlstm(train=True),
    "convlstm.seed2.forward": lambda: convlstm(train=False),
    "convlstm.seed2.train": lambda: convlstm(train=True),
}

if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in PEERS:
        sys.exit(f"usage: keras_peers.py {{{'|'.join(PEERS)}}}")
    print(json.dumps({label: time_call(fn) for label, fn in PEERS[sys.argv[1]]().items()}))

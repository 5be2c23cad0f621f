#!/usr/bin/env python3
"""Side-by-side timings: frameseq-bench against NumPy, PyTorch (nn.LSTM, nn.GRU, a
CNN-LSTM) and Keras on the workloads of shared/BENCHMARKS.md.

    python3 Benchmarks/compare.py [--only PREFIX] [--quick] [--rounds N] [--isa avx2|avx512] [--json PATH]

Builds nothing: run `swift build -c release --product frameseq-bench` first (the
script calls .build/release/frameseq-bench; set FRAMESEQ_BENCH to time another
binary). Each round runs our workload, then every peer that is installed,
alternating so that drift of the machine (thermal, other load) hits both sides
alike.

The table gives, per workload and peer: "ours s" and "peer s", the median of
the rounds' medians, and "ours/peer", their ratio (below 1 means we are
faster) -- the headline number. "best/best" is a second view: our best single
run over all rounds divided by the peer's best single run over all rounds. On a
shared 2-core machine a median can move 10-30% when another process takes a
core for part of a run; the best run is less sensitive to that, since it only
needs one undisturbed run. It flatters neither side: both get the same
treatment. But it is a best case, not typical time, so read it next to the
median ratio, not instead of it. "our peak MB" is the largest peak RSS of our
process over the rounds. --json PATH also writes these rows as a JSON list.

Peers use 2 threads (OMP/OpenBLAS/MKL/torch/TF settings below), the package's
own default on a 2-core machine. Timing follows BENCHMARKS.md: one warm-up
call, then at least 5 runs and at least one second; each measurement keeps the
median and the minimum of its runs (frameseq-bench reports both, too).

Vector ISA: both sides run the same one. By default that is the widest this
CPU has (AVX-512 or AVX2); `--isa avx2` restricts both sides to AVX2 on any
machine: ours with FRAMESEQ_KERNELS=avx2, PyTorch and TensorFlow with
ATEN_CPU_CAPABILITY=avx2, ONEDNN_MAX_CPU_ISA=AVX2 and MKL_ENABLE_INSTRUCTIONS=AVX2
(PyTorch's BLAS is MKL), NumPy with OPENBLAS_CORETYPE=Haswell (`--isa avx512`:
avx512, AVX512_CORE, AVX512, SkylakeX). OpenBLAS's core is always pinned,
because OpenBLAS may not recognise a newer CPU and fall back to narrower
kernels; FRAMESEQ_PEER_OPENBLAS_CORETYPE overrides the pick. Values of these
variables already in the environment (OPENBLAS_L2_SIZE too) are dropped with
a note, so a machine-wide setting cannot slow one side. The table's header
names the CPU model and what each side reports it ran (ours: the bench
JSON's `isa`; PyTorch: its CPU capability; NumPy: OpenBLAS's core).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "2")

# Per ISA: our kernels, PyTorch's ATen kernels, oneDNN (PyTorch, TensorFlow),
# MKL (PyTorch's BLAS) and OpenBLAS (NumPy).
ISA_SETTINGS = {
    "avx2": {"FRAMESEQ_KERNELS": "avx2", "ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2",
             "MKL_ENABLE_INSTRUCTIONS": "AVX2", "OPENBLAS_CORETYPE": "Haswell"},
    "avx512": {"FRAMESEQ_KERNELS": "avx512", "ATEN_CPU_CAPABILITY": "avx512", "ONEDNN_MAX_CPU_ISA": "AVX512_CORE",
               "MKL_ENABLE_INSTRUCTIONS": "AVX512", "OPENBLAS_CORETYPE": "SkylakeX"},
}
PEER_ISA_VARIABLES = ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "MKL_ENABLE_INSTRUCTIONS",
                      "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def cpu_info():
    """(model name, set of feature flags) of the first processor in /proc/cpuinfo;
    ("unknown", empty set) where there is none (not Linux)."""
    model, flags = "unknown", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "model name" and model == "unknown":
                    model = value.strip()
                elif key == "flags" and not flags:
                    flags = set(value.split())
    except OSError:
        pass
    return model, flags


def widest_isa(flags):
    """The widest ISA of ISA_SETTINGS the flags allow (our AVX-512 kernels need
    AVX2 and FMA too), or None (not x86, or no AVX2)."""
    if {"avx512f", "avx2", "fma"} <= flags:
        return "avx512"
    if {"avx2", "fma"} <= flags:
        return "avx2"
    return None


def configure_isa(requested, flags):
    """Sets the environment of both sides for `requested` (None: the CPU's
    widest) before NumPy, PyTorch or a subprocess starts; returns the ISA (None
    where neither applies: the peers then pick their own, ours its default).
    A preset value of any peer variable is dropped (noted on stderr); a preset
    FRAMESEQ_KERNELS is kept unless `requested` names an ISA."""
    widest = widest_isa(flags)
    if requested is not None and requested not in {"avx2", "avx512"}:
        sys.exit(f"--isa {requested}: expected avx2 or avx512")
    if requested == "avx512" and widest != "avx512" or requested == "avx2" and widest is None:
        sys.exit(f"--isa {requested}: this CPU lacks it (its widest: {widest or 'neither AVX2 nor AVX-512'})")
    for var in PEER_ISA_VARIABLES:
        if var in os.environ:
            print(f"note: ignoring {var}={os.environ.pop(var)} from the environment", file=sys.stderr)
    isa = requested or widest
    if isa is None:
        return None
    for var, value in ISA_SETTINGS[isa].items():
        if var == "FRAMESEQ_KERNELS" and requested is None:
            continue   # the default run: our default kernels (the widest), or what the caller forced
        os.environ[var] = value
    os.environ["OPENBLAS_CORETYPE"] = os.environ.get("FRAMESEQ_PEER_OPENBLAS_CORETYPE",
                                                     ISA_SETTINGS[isa]["OPENBLAS_CORETYPE"])
    return isa


def openblas_core():
    """The OpenBLAS core NumPy's OpenBLAS chose (imports NumPy), or "?"."""
    import ctypes
    import glob
    import numpy
    for path in glob.glob(os.path.join(os.path.dirname(numpy.__file__), os.pardir, "numpy.libs", "*openblas*")):
        for symbol in ("scipy_openblas_get_corename64_", "scipy_openblas_get_corename", "openblas_get_corename"):
            try:
                function = getattr(ctypes.CDLL(path), symbol)
            except (OSError, AttributeError):
                continue
            function.restype = ctypes.c_char_p
            return function().decode()
    return "?"


def torch_capability():
    """PyTorch's CPU capability (imports torch), or "not installed"."""
    try:
        import torch
    except ImportError:
        return "not installed"
    return torch.backends.cpu.get_cpu_capability()


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.environ.get("FRAMESEQ_BENCH") or os.path.join(ROOT, ".build", "release", "frameseq-bench")


def time_call(fn):
    """{"median_s": ..., "min_s": ...}: the median and the minimum seconds of
    fn() over the runs after one warm-up call, >= 5 runs and >= 1 s."""
    fn()
    times, start = [], time.perf_counter()
    while len(times) < 5 or time.perf_counter() - start < 1.0:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return {"median_s": statistics.median(times), "min_s": min(times)}


# ---------------------------------------------------------------- NumPy peers

def numpy_window_overlap():
    """50 frames 64x64x1, windows of 10 at stride 5, to a contiguous (9, 10, 4096)."""
    import numpy as np
    from numpy.lib.stride_tricks import sliding_window_view
    frames = np.random.default_rng(0).random((50, 4096), dtype=np.float32)

    def sliding():  # the idiom users write: a strided view, then a copy
        view = sliding_window_view(frames, 10, axis=0)[::5]        # (9, 4096, 10)
        out = np.ascontiguousarray(view.transpose(0, 2, 1))        # (9, 10, 4096)
        assert out.shape == (9, 10, 4096)

    index = np.arange(0, 41, 5)[:, None] + np.arange(10)[None, :]  # (9, 10)

    def gather():   # the fastest NumPy route we know: one fancy-index gather
        out = frames[index]
        assert out.shape == (9, 10, 4096)

    return {"numpy sliding_window_view+copy": sliding, "numpy fancy-index gather": gather}


def numpy_window_batches(quick):
    """UInt8 frames 785x785x3, windows of 10 at stride 1, batches of 8 filled as
    float32 / 255 into one reused (8, 10, 1848675) buffer."""
    import numpy as np
    n = 100 if quick else 400
    features = 785 * 785 * 3
    frames = np.random.default_rng(3).integers(0, 256, size=(n, features), dtype=np.uint8)
    buffer = np.empty((8, 10, features), dtype=np.float32)
    scale = np.float32(1.0 / 255)
    starts = np.arange(n - 9)

    def slices():   # one multiply per window straight into the buffer, no temporary
        for b0 in range(0, len(starts), 8):
            batch = starts[b0:b0 + 8]
            for b, s in enumerate(batch):
                np.multiply(frames[s:s + 10], scale, out=buffer[b], casting="unsafe")

    return {"numpy per-window multiply into buffer": slices}


def numpy_gemm():
    """C = A x B, float32, 1024 x 1024 x 1024, into a preallocated C."""
    import numpy as np
    rng = np.random.default_rng(0)
    a = rng.random((1024, 1024), dtype=np.float32) - 0.5
    b = rng.random((1024, 1024), dtype=np.float32) - 0.5
    c = np.empty((1024, 1024), dtype=np.float32)

    def matmul():
        np.matmul(a, b, out=c)

    return {"numpy matmul (OpenBLAS)": matmul}


# --------------------------------------------------------------- PyTorch peers

LSTM_SHAPES = {  # name: (batch, timesteps, input, hidden, layers), as in BENCHMARKS.md
    "lstm.flat.seed0": (16, 10, 4096, 256, 1),
    "lstm.rows.seed1": (64, 28, 84, 128, 1),
    "lstm.stacked": (32, 50, 256, 256, 2),
}


def torch_recurrent(name, train, module="LSTM"):
    """torch.nn.LSTM or nn.GRU (batch_first=True) on 2 threads: inference under
    no_grad, or forward + backward of sum(output * g) to the input and every
    parameter."""
    import torch
    torch.set_num_threads(2)
    batch, steps, inputs, hidden, layers = (LSTM_SHAPES if module == "LSTM" else GRU_SHAPES)[name]
    torch.manual_seed(0)
    rnn = getattr(torch.nn, module)(inputs, hidden, layers, batch_first=True)
    x = torch.rand(batch, steps, inputs) - 0.5
    g = torch.rand(batch, steps, hidden) - 0.5
    if not train:
        def forward():
            with torch.no_grad():
                rnn(x)
        return {f"torch nn.{module} forward (no_grad)": forward}
    x.requires_grad_(True)

    def step():
        rnn.zero_grad(set_to_none=True)
        x.grad = None
        out, _ = rnn(x)
        (out * g).sum().backward()
    return {f"torch nn.{module} forward+backward": step}


GRU_SHAPES = {  # name: (batch, timesteps, input, hidden, layers): the LSTM workloads' shapes
    "gru.rows.seed1": (64, 28, 84, 128, 1),
    "gru.stacked": (32, 50, 256, 256, 2),
}


def torch_cnnlstm(train):
    """cnnlstm.seed2 in PyTorch: frames folded into the batch for the CNN (PyTorch
    has no TimeDistributed), channels-first as PyTorch convolutions expect."""
    import torch
    from torch import nn
    torch.set_num_threads(2)
    torch.manual_seed(2)

    class CNNLSTM(nn.Module):
        def __init__(self):
            super().__init__()
            self.cnn = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
                                     nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten())
            self.lstm = nn.LSTM(14 * 14 * 64, 64, batch_first=True)
            self.dense = nn.Linear(64, 1)

        def forward(self, x):                      # (B, T, 1, 64, 64)
            b, t = x.shape[:2]
            features = self.cnn(x.reshape(b * t, *x.shape[2:])).reshape(b, t, -1)
            out, _ = self.lstm(features)
            return self.dense(out[:, -1])

    model = CNNLSTM()
    x = torch.rand(16, 10, 1, 64, 64)
    g = torch.rand(16, 1) - 0.5
    if not train:
        def forward():
            with torch.no_grad():
                model(x)
        return {"torch CNN-LSTM forward (no_grad)": forward}
    x.requires_grad_(True)

    def step():
        model.zero_grad(set_to_none=True)
        x.grad = None
        (model(x) * g).sum().backward()
    return {"torch CNN-LSTM forward+backward": step}


class External:
    """A peer timed in its own process (Keras: TensorFlow and PyTorch cannot share one)."""
    def __init__(self, workload, label):
        self.workload, self.label = workload, label

    def measure(self):
        """{"median_s": ..., "min_s": ...}, as time_call returns."""
        script = os.path.join(ROOT, "Benchmarks", "keras_peers.py")
        out = subprocess.run([sys.executable, script, self.workload], check=True,
                             capture_output=True, text=True).stdout
        result = json.loads(out.strip().splitlines()[-1])[self.label]
        return {"median_s": result["median_s"], "min_s": result["min_s"]}


def keras_peer(workload, label):
    """The Keras peer of `workload`, or none when TensorFlow/Keras are not installed."""
    import importlib.util
    if importlib.util.find_spec("tensorflow") is None or importlib.util.find_spec("keras") is None:
        print(f"skipping the Keras peer of {workload}: tensorflow/keras not installed", file=sys.stderr)
        return {}
    return {label: External(workload, label)}


PEERS = {
    "window.overlap.seed0": lambda quick: numpy_window_overlap(),
    "window.batches.seed3": numpy_window_batches,
    "gemm.1024": lambda quick: numpy_gemm(),
}
PEERS["cnnlstm.seed2.forward"] = lambda quick: {
    **torch_cnnlstm(train=False),
    **keras_peer("cnnlstm.seed2.forward", "keras TimeDistributed CNN-LSTM forward")}
PEERS["cnnlstm.seed2.train"] = lambda quick: {
    **torch_cnnlstm(train=True),
    **keras_peer("cnnlstm.seed2.train", "keras TimeDistributed CNN-LSTM forward+backward")}
PEERS["convlstm.seed2.forward"] = lambda quick: keras_peer(  # no PyTorch ConvLSTM
    "convlstm.seed2.forward", "keras ConvLSTM2D forward")
PEERS["convlstm.seed2.train"] = lambda quick: keras_peer(
    "convlstm.seed2.train", "keras ConvLSTM2D forward+backward")
for _name in LSTM_SHAPES:
    PEERS[_name + ".forward"] = lambda quick, n=_name: torch_recurrent(n, train=False)
    PEERS[_name + ".train"] = lambda quick, n=_name: torch_recurrent(n, train=True)
for _name in GRU_SHAPES:
    PEERS[_name + ".forward"] = lambda quick, n=_name: torch_recurrent(n, train=False, module="GRU")
    PEERS[_name + ".train"] = lambda quick, n=_name: torch_recurrent(n, train=True, module="GRU")


def ours(name, quick):
    args = [BENCH, "--only", name] + (["--quick"] if quick else [])
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        record = json.loads(line)
        if record["name"] == name:
            return record
    raise RuntimeError(f"frameseq-bench printed no line for {name}")


def write_json(path, rows):
    """Write rows to path as a JSON list, via path + ".tmp" and os.replace, so that
    path never holds a half-written file."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(rows, f, indent=1)
        f.write("\n")
    os.replace(tmp, path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--isa", choices=sorted(ISA_SETTINGS),
                        help="restrict both sides to this vector ISA (default: the widest this CPU has)")
    parser.add_argument("--json", metavar="PATH", help="also write the rows as a JSON list to PATH")
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if not os.path.exists(BENCH):
        sys.exit(f"{BENCH} not found: run `swift build -c release --product frameseq-bench` first")
    model, flags = cpu_info()
    isa = configure_isa(args.isa, flags)

    listed = set(subprocess.run([BENCH, "--list"], check=True, capture_output=True, text=True).stdout.split())
    rows = []
    for name, make in PEERS.items():
        if not name.startswith(args.only):
            continue
        if name not in listed:
            print(f"skipping {name}: frameseq-bench has no such workload yet", file=sys.stderr)
            continue
        try:
            peers = make(args.quick)
        except ImportError as error:
            print(f"skipping {name}: {error}", file=sys.stderr)
            continue
        records, theirs = [], {p: [] for p in peers}
        for _ in range(args.rounds):
            records.append(ours(name, args.quick))
            for label, fn in peers.items():
                theirs[label].append(fn.measure() if isinstance(fn, External) else time_call(fn))
        our_median = statistics.median(r["median_s"] for r in records)
        our_min = min(r["min_s"] for r in records)
        peak = max(r["peak_rss_mb"] for r in records)
        our_isa = "/".join(sorted({r.get("isa", "?") for r in records}))
        if isa and our_isa not in (isa, "sse2", "neon"):   # Swift-only workloads report the build's baseline
            print(f"warning: {name} ran {our_isa} kernels, not {isa}", file=sys.stderr)
        for label, results in theirs.items():
            peer_median = statistics.median(r["median_s"] for r in results)
            peer_min = min(r["min_s"] for r in results)
            rows.append({
                "workload": name, "peer": label, "ours_isa": our_isa,
                "ours_median_s": our_median, "peer_median_s": peer_median,
                "ratio_median": our_median / peer_median,
                "ours_min_s": our_min, "peer_min_s": peer_min,
                "ratio_min": our_min / peer_min,
                "peak_rss_mb": peak,
            })

    print(f"CPU: {model}; ISA: {isa or 'each side its own'}, {args.rounds} rounds")
    print(f"  ours: FRAMESEQ_KERNELS={os.environ.get('FRAMESEQ_KERNELS', '(default)')}; "
          f"PyTorch: {torch_capability()}, ONEDNN_MAX_CPU_ISA={os.environ.get('ONEDNN_MAX_CPU_ISA', '(default)')}, "
          f"MKL_ENABLE_INSTRUCTIONS={os.environ.get('MKL_ENABLE_INSTRUCTIONS', '(default)')}; "
          f"NumPy: OpenBLAS {openblas_core()}")
    wn = max([24] + [len(r["workload"]) for r in rows])
    wp = max([48] + [len(r["peer"]) for r in rows])
    print(f"{'workload':<{wn}} {'peer':<{wp}} {'our isa':>7} {'ours s':>10} {'peer s':>10} {'ours/peer':>10} "
          f"{'best/best':>10} {'our peak MB':>12}")
    for r in rows:
        print(f"{r['workload']:<{wn}} {r['peer']:<{wp}} {r['ours_isa']:>7} {r['ours_median_s']:>10.4g} "
              f"{r['peer_median_s']:>10.4g} {r['ratio_median']:>10.3f} {r['ratio_min']:>10.3f} {r['peak_rss_mb']:>12.0f}")
    if args.json:
        write_json(args.json, rows)


if __name__ == "__main__":
    main()

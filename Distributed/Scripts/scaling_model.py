#!/usr/bin/env python3
"""Step time of data-parallel training against rank count, modelled.

Each rank computes its batch's gradients in `compute` seconds (measured on one
rank), then the ranks sum them with a ring all-reduce: every rank sends and
receives 2 (N - 1) / N times the gradient bytes (4 bytes a parameter), in
2 (N - 1) messages of `latency` seconds each. frameseq-mpi does not overlap the
all-reduce with backward (PyTorch DDP does), so the two add up:

    step(N) = compute + 2 (N - 1) / N * 4 P / bandwidth + 2 (N - 1) * latency

With each rank keeping its batch, N ranks train N times the windows a step:
speed-up(N) = N * compute / step(N).

    python3 Distributed/Scripts/scaling_model.py --parameters 5542912 --compute 0.31
"""
import argparse

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--parameters", type=int, required=True, help="the model's parameter count")
parser.add_argument("--compute", type=float, required=True, help="seconds of one rank's step (forward, backward, update)")
parser.add_argument("--latency", type=float, default=25e-6, help="seconds a message takes (default 25 us, TCP over Ethernet)")
parser.add_argument("--ranks", default="1,2,4,8,16,32,64")
args = parser.parse_args()

size = 4 * args.parameters
links = [("10 Gb/s", 10e9 / 8), ("25 Gb/s", 25e9 / 8), ("100 Gb/s", 100e9 / 8)]
print(f"{args.parameters} parameters: {size / 1e6:.1f} MB a step's gradients; one rank's step {args.compute * 1e3:.0f} ms")
print("| ranks | " + " | ".join(f"step ms, {name} (speed-up)" for name, _ in links) + " |")
print("|---|" + "---|" * len(links))
for n in (int(r) for r in args.ranks.split(",")):
    cells = []
    for _, bandwidth in links:
        reduce = 0.0 if n == 1 else 2 * (n - 1) / n * size / bandwidth + 2 * (n - 1) * args.latency
        step = args.compute + reduce
        cells.append(f"{step * 1e3:.0f} ({n * args.compute / step:.1f}x)")
    print(f"| {n} | " + " | ".join(cells) + " |")

#!/usr/bin/env python3
"""Generate PyTorch reference fixtures for the FrameSequencing conformance tests.

Writes four suites of safetensors files, following the contract in FIXTURES.md
(``torch_rollout``'s contract is in Fixtures/README.md)
(one case per file; ``__metadata__`` values are strings holding JSON), and, on
request only (``--suites torch_layers``), one layer-interop reference file
outside ``Fixtures/`` (described last):

* ``lstm/<case>.safetensors``: ``torch.nn.LSTM(batch_first=True)``, float32,
  dropout 0; bias true and proj_size 0 except in the proj_* and no_bias_*
  cases (then h0, h_n, grad_h_n, grad.h0 are (L*D, B, P), output (B, T, D*P),
  weight_hh_l<k> (4H, P) and weight_hr_l<k> (P, H); bias=False has no bias_*)
    metadata: input_size, hidden_size, num_layers, bidirectional, bias,
              proj_size, has_lengths, batch_first, dropout (informational),
              suite, source, seed
    tensors:  input (B, T, I); h0, c0 (L*D, B, H), random (never zero);
              the module's state_dict under its own names (weight_ih_l0,
              weight_hh_l0, bias_ih_l0, bias_hh_l0, ..._reverse, ...);
              output (B, T, D*H); h_n, c_n (L*D, B, H);
              grad_output, grad_h_n, grad_c_n (random);
              grad.input, grad.h0, grad.c0, grad.<every parameter name>, for
              L = sum(output*grad_output) + sum(h_n*grad_h_n) + sum(c_n*grad_c_n);
              lengths (B) I64, only when has_lengths is true: the batch went
              through pack_padded_sequence(..., batch_first=True,
              enforce_sorted=False) and pad_packed_sequence(..., batch_first=True,
              total_length=T). grad_output is random at every step, also past
              a sequence's length, where it must have no effect.

* ``gru/<case>.safetensors``: ``torch.nn.GRU(batch_first=True)``, float32,
  dropout 0, bias true except in ``bias_false``; as ``lstm`` without ``c0``,
  ``c_n``, ``grad_c_n``, ``grad.c0`` (weights' gate order r, z, n), and
  without bias tensors (nor their gradients) when ``bias`` is false
    metadata: input_size, hidden_size, num_layers, bidirectional, bias,
              has_lengths, batch_first, dropout (informational), suite,
              source, seed

* ``torch_optim/<case>.safetensors``: ``torch.optim.Adam``/``AdamW``/``SGD``
  on one parameter tensor, ``steps`` steps, each fed a fixed random gradient
    metadata: optimizer ("adam"|"adamw"|"sgd"), lr, betas (JSON list), eps,
              weight_decay, momentum, nesterov, dampening, amsgrad (true only in
              the *_amsgrad cases, whose steps make the second moment fall so
              that its running maximum changes the trajectory),
              steps, clip_norm (only when each step's gradient went through
              torch.nn.utils.clip_grad_norm_ before the step), suite, source,
              seed. Keys that the optimizer does not take are JSON null
              (betas/eps for sgd; momentum/dampening for adam and adamw);
              nesterov is false for adam and adamw.
    tensors:  param.init (3, 4); grad.step<k> for k in 0..<steps, the gradient
              fed at step k BEFORE clipping; param.step<k>, the parameter after
              step k.

* ``torch_rollout/<case>.safetensors``: closed-loop rollouts (an FC-LSTM of
  ``nn.LSTM`` and ``nn.Linear``; ConvLSTM encoder-forecasters of Keras cells
  written with ``nn.Conv2d``), the input at step s >= 1 mixing the true frame
  and the prediction by ``feeds_truth``; predictions and every gradient of
  sum(predictions * grad_output). See ``ROLLOUT_CASES``.

* ``Tests/RecurrentTests/Data/torch_layers.safetensors`` (``--suites
  torch_layers``; not a fixture suite, so never in ``Fixtures/``, whose harness
  fails on unknown suite folders, and not in the default ``--suites``): one
  file holding every case of ``TORCH_LAYER_CASES``, ``torch.nn.Conv2d``,
  ``torch.nn.ConvTranspose2d`` (groups 1, output_padding 0) and
  ``torch.nn.Linear`` with PyTorch's default initialization, float32, read by
  ``Tests/RecurrentTests/PyTorchLayerInteropTests.swift`` to check the
  library's PyTorch weight import and export. Each convolution's PyTorch
  padding is one that equals a TensorFlow-style padding (``tf_padding``):
  0 with ``valid``; ``'same'`` or ``(e - 1) / 2`` per axis at stride 1 with
  ``same``; for ConvTranspose2d, 0 with ``valid`` when the dilated kernel is at
  least the stride on each axis, and ``(e - s) / 2`` (``e - s`` even) with
  ``same``.
    metadata: suite ("torch_layers"), source, seed, cases (JSON list of case
              names, in order), and per case ``<case>``: a JSON object with
              module ("Conv2d"|"ConvTranspose2d"|"Linear"), in_channels,
              out_channels, kernel_size, stride, dilation, padding (PyTorch's:
              [h, w] or "same"), groups, bias, padding_mode, output_padding
              (ConvTranspose2d), tf_padding ("valid"|"same"), seed; or, for
              Linear, in_features, out_features, bias, seed.
    tensors:  per case, with the case name as prefix: ``<case>.input`` in
              PyTorch layout ((N, C, H, W), or (B, T, in_features) for
              Linear); the module's state_dict as ``<case>.weight`` (Conv2d
              (F, C, KH, KW), ConvTranspose2d (C, F, KH, KW), Linear (out, in))
              and ``<case>.bias`` (F) unless bias=False; ``<case>.output``
              (N, F, H', W'); ``<case>.grad_output`` (random);
              ``grad.<case>.input``, ``grad.<case>.weight``,
              ``grad.<case>.bias`` from autograd for L = sum(output * grad_output).

Usage (from the package root)::

    /tmp/ref/bin/python Fixtures/generate_torch.py [--out DIR] [--clean]
    /tmp/ref/bin/python Fixtures/generate_torch.py --suites torch_layers [--torch-layers-file PATH]

The fixture suites' output defaults to the folder holding this script. Every
case has a fixed
seed (torch.manual_seed per case; one intra-op thread), so reruns produce
byte-identical files. After writing, every file is read back with
``safetensors.numpy.load_file`` and its shapes are checked against its
metadata. LSTM outputs are recomputed by an independent float64 NumPy LSTM
(gate order i, f, g, o) and compared to 1e-5; every gradient tensor is checked
by central finite differences of that NumPy LSTM along a random direction.
Optimizer trajectories are recomputed in float64 NumPy from the documented
PyTorch update rules and compared to 1e-6 relative (max |error| / max |value|
per step). The torch_layers file is read back too: every output is recomputed
by a float64 NumPy layer following TensorFlow's padding and size rules (so
PyTorch's padding is shown to equal ``tf_padding``) and compared to 1e-5, and
every gradient is checked by central differences of that layer along a random
direction. One summary line is printed per case.

TensorFlow/Keras must not be imported in this process (torch and tensorflow do
not coexist reliably in one process); Keras fixtures come from
generate_keras.py.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

import numpy as np
import torch
from safetensors.numpy import load_file
from fixture_files import check, jbool, read_metadata, write_safetensors

SOURCE = f"torch {torch.__version__}"

torch.set_num_threads(1)  # fixed reduction order, so reruns are byte-identical
torch.use_deterministic_algorithms(True)


# --------------------------------------------------------------------------
# Case tables
# --------------------------------------------------------------------------

# B, T: batch, time steps; I, H: input, hidden size; layers: num_layers;
# bidir: bidirectional; lengths: per-sequence valid lengths (None = all T).
LSTM_CASES = [
    dict(name="single_layer", B=2, T=5, I=4, H=3, layers=1, bidir=False, seed=301),
    dict(name="stacked", B=2, T=5, I=4, H=3, layers=2, bidir=False, seed=302),
    dict(name="bidirectional", B=2, T=5, I=4, H=3, layers=1, bidir=True, seed=303),
    dict(name="stacked_bidirectional", B=2, T=4, I=3, H=4, layers=2, bidir=True, seed=304),
    # longest sequence == T
    dict(name="lengths_bidirectional", B=3, T=5, I=3, H=4, layers=1, bidir=True,
         lengths=[5, 2, 4], seed=305),
    # longest sequence < T: the last output step is padding for every sequence
    dict(name="lengths_unidirectional", B=3, T=6, I=3, H=4, layers=1, bidir=False,
         lengths=[3, 1, 4], seed=306),
    dict(name="lengths_stacked_bidirectional", B=4, T=5, I=3, H=3, layers=2, bidir=True,
         lengths=[2, 5, 1, 3], seed=307),
    dict(name="seq_len_1", B=3, T=1, I=4, H=3, layers=1, bidir=True, seed=308),
    # sizes that are not multiples of a vector width
    dict(name="odd_sizes_i7_h9", B=2, T=4, I=7, H=9, layers=1, bidir=False, seed=309),
    dict(name="odd_sizes_i17_h5", B=2, T=3, I=17, H=5, layers=2, bidir=True, seed=310),
    dict(name="batch1", B=1, T=6, I=5, H=6, layers=1, bidir=False, seed=311),
    # projections (proj_size P: h has P units, weight_hr_l<k> (P, H)) and bias=False
    dict(name="proj_single_layer", B=2, T=5, I=4, H=5, P=3, layers=1, bidir=False, seed=312),
    dict(name="proj_stacked_bidirectional", B=2, T=4, I=3, H=4, P=2, layers=2, bidir=True, seed=313),
    dict(name="proj_lengths_bidirectional", B=3, T=5, I=3, H=5, P=3, layers=1, bidir=True,
         lengths=[5, 2, 4], seed=314),
    dict(name="proj_lengths_stacked", B=3, T=6, I=3, H=4, P=3, layers=2, bidir=False,
         lengths=[3, 1, 6], seed=315),
    dict(name="no_bias_stacked_bidirectional", B=2, T=4, I=3, H=4, layers=2, bidir=True, bias=False,
         seed=316),
    dict(name="no_bias_proj_lengths", B=3, T=5, I=4, H=5, P=2, layers=1, bidir=True, bias=False,
         lengths=[2, 5, 3], seed=317),
]

# As LSTM_CASES, for torch.nn.GRU; bias: PyTorch's `bias` (default true).
GRU_CASES = [
    dict(name="single_layer", B=2, T=5, I=4, H=3, layers=1, bidir=False, seed=501),
    dict(name="stacked", B=2, T=5, I=4, H=3, layers=2, bidir=False, seed=502),
    dict(name="stacked_bidirectional", B=2, T=4, I=3, H=4, layers=2, bidir=True, seed=503),
    # longest sequence == T
    dict(name="lengths_bidirectional", B=3, T=5, I=3, H=4, layers=1, bidir=True,
         lengths=[5, 2, 4], seed=504),
    # longest sequence < T: the last output step is padding for every sequence
    dict(name="lengths_unidirectional", B=3, T=6, I=3, H=4, layers=1, bidir=False,
         lengths=[3, 1, 4], seed=505),
    dict(name="lengths_stacked_bidirectional", B=4, T=5, I=3, H=3, layers=2, bidir=True,
         lengths=[2, 5, 1, 3], seed=506),
    dict(name="seq_len_1", B=3, T=1, I=4, H=3, layers=1, bidir=True, seed=507),
    # sizes that are not multiples of a vector width
    dict(name="odd_sizes_i7_h9", B=2, T=4, I=7, H=9, layers=1, bidir=False, seed=508),
    dict(name="odd_sizes_i17_h5", B=2, T=3, I=17, H=5, layers=2, bidir=True, seed=509),
    dict(name="bias_false", B=2, T=4, I=5, H=6, layers=2, bidir=True, bias=False, seed=510),
    dict(name="batch1", B=1, T=6, I=5, H=6, layers=1, bidir=False, seed=511),
]

# grad_scale: per-step factor on the random gradient (so that clip_norm cases
# contain steps both above and below the threshold); default all 1.
OPTIM_CASES = [
    dict(name="adam", optimizer="adam", lr=0.05, betas=(0.9, 0.999), eps=1e-8,
         weight_decay=0.0, seed=401),
    # eps comparable to sqrt(v_hat) (gradients ~0.1), so where eps is added
    # matters; coupled L2 weight decay (added to the gradient)
    dict(name="adam_betas_eps_l2", optimizer="adam", lr=0.05, betas=(0.8, 0.99), eps=0.1,
         weight_decay=0.1, grad_scale=[0.1] * 5, seed=402),
    dict(name="adamw", optimizer="adamw", lr=0.1, betas=(0.9, 0.999), eps=1e-8,
         weight_decay=0.01, seed=403),
    dict(name="sgd_momentum", optimizer="sgd", lr=0.1, momentum=0.9, nesterov=False,
         weight_decay=0.0, seed=404),
    dict(name="sgd_nesterov_wd", optimizer="sgd", lr=0.1, momentum=0.9, nesterov=True,
         weight_decay=0.1, seed=405),
    dict(name="sgd", optimizer="sgd", lr=0.1, momentum=0.0, nesterov=False,
         weight_decay=0.0, seed=406),
    # gradient norms ~3.5 * scale: steps 0, 2, 4 are clipped, 1, 3 are not
    dict(name="adam_clip_norm", optimizer="adam", lr=0.05, betas=(0.9, 0.999), eps=1e-8,
         weight_decay=0.0, clip_norm=1.5, grad_scale=[1.0, 0.25, 2.0, 0.1, 1.0], seed=407),
    # amsgrad: a small beta2 and shrinking gradients make v fall, so max(v) matters
    dict(name="adam_amsgrad", optimizer="adam", lr=0.05, betas=(0.9, 0.5), eps=1e-8,
         weight_decay=0.0, amsgrad=True, grad_scale=[2.0, 1.0, 0.2, 0.1, 0.5], seed=408),
    dict(name="adamw_amsgrad", optimizer="adamw", lr=0.1, betas=(0.8, 0.6), eps=1e-8,
         weight_decay=0.05, amsgrad=True, grad_scale=[1.5, 1.0, 0.3, 0.2, 0.6], seed=409),
    dict(name="sgd_dampening_wd", optimizer="sgd", lr=0.05, momentum=0.8, dampening=0.3,
         nesterov=False, weight_decay=0.02, seed=410),
]
OPTIM_STEPS = 5
OPTIM_SHAPE = (3, 4)


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------

def base_metadata(suite, seed):
    # "suite" and "source" are bare strings, as in FIXTURES.md's examples.
    return {"suite": suite, "source": SOURCE, "seed": json.dumps(int(seed))}


def jnum(v):
    """Metadata value for an optional number: '0.05', '1e-08' or 'null'."""
    return json.dumps(None if v is None else float(v))


def f32(t: torch.Tensor) -> np.ndarray:
    """A float32 snapshot (a copy: .numpy() shares memory with the tensor, and
    optimizer steps update parameters in place)."""
    return np.array(t.detach().cpu().numpy(), dtype=np.float32, order="C", copy=True)


# --------------------------------------------------------------------------
# Generators
# --------------------------------------------------------------------------

def gen_lstm_case(case, out_dir: Path) -> Path:
    torch.manual_seed(case["seed"])
    B, T, I, H = case["B"], case["T"], case["I"], case["H"]
    L, D = case["layers"], 2 if case["bidir"] else 1
    P, bias = case.get("P", 0), case.get("bias", True)
    R = P or H  # units of h
    lengths = case.get("lengths")

    lstm = torch.nn.LSTM(input_size=I, hidden_size=H, num_layers=L, bias=bias,
                         batch_first=True, dropout=0.0, bidirectional=case["bidir"],
                         proj_size=P, dtype=torch.float32)
    x = torch.randn(B, T, I, dtype=torch.float32, requires_grad=True)
    h0 = torch.randn(L * D, B, R, dtype=torch.float32, requires_grad=True)
    c0 = torch.randn(L * D, B, H, dtype=torch.float32, requires_grad=True)
    g_out = torch.randn(B, T, D * R, dtype=torch.float32)
    g_hn = torch.randn(L * D, B, R, dtype=torch.float32)
    g_cn = torch.randn(L * D, B, H, dtype=torch.float32)

    if lengths is None:
        out, (hn, cn) = lstm(x, (h0, c0))
    else:
        assert len(lengths) == B and all(1 <= n <= T for n in lengths)
        lens = torch.tensor(lengths, dtype=torch.int64)
        packed = torch.nn.utils.rnn.pack_padded_sequence(
            x, lens, batch_first=True, enforce_sorted=False)
        out_p, (hn, cn) = lstm(packed, (h0, c0))
        out, _ = torch.nn.utils.rnn.pad_packed_sequence(
            out_p, batch_first=True, total_length=T)
    assert out.shape == (B, T, D * R) and hn.shape == (L * D, B, R)

    loss = (out * g_out).sum() + (hn * g_hn).sum() + (cn * g_cn).sum()
    loss.backward()

    tensors = {
        "input": f32(x), "h0": f32(h0), "c0": f32(c0),
        "output": f32(out), "h_n": f32(hn), "c_n": f32(cn),
        "grad_output": f32(g_out), "grad_h_n": f32(g_hn), "grad_c_n": f32(g_cn),
        "grad.input": f32(x.grad), "grad.h0": f32(h0.grad), "grad.c0": f32(c0.grad),
    }
    for name, value in lstm.state_dict().items():
        tensors[name] = f32(value)
    for name, p in lstm.named_parameters():
        assert name in tensors, name
        tensors[f"grad.{name}"] = f32(p.grad)
    if lengths is not None:
        tensors["lengths"] = np.asarray(lengths, dtype=np.int64)

    meta = base_metadata("lstm", case["seed"])
    meta.update({
        "input_size": json.dumps(I),
        "hidden_size": json.dumps(H),
        "num_layers": json.dumps(L),
        "bidirectional": jbool(case["bidir"]),
        "bias": jbool(bias),
        "proj_size": json.dumps(P),
        "has_lengths": jbool(lengths is not None),
        "batch_first": jbool(True),
        "dropout": jnum(0.0),
    })
    path = out_dir / "lstm" / f"{case['name']}.safetensors"
    write_safetensors(path, tensors, meta)
    return path


def gen_gru_case(case, out_dir: Path) -> Path:
    torch.manual_seed(case["seed"])
    B, T, I, H = case["B"], case["T"], case["I"], case["H"]
    L, D = case["layers"], 2 if case["bidir"] else 1
    lengths = case.get("lengths")
    bias = case.get("bias", True)

    gru = torch.nn.GRU(input_size=I, hidden_size=H, num_layers=L, bias=bias, batch_first=True,
                       dropout=0.0, bidirectional=case["bidir"], dtype=torch.float32)
    x = torch.randn(B, T, I, dtype=torch.float32, requires_grad=True)
    h0 = torch.randn(L * D, B, H, dtype=torch.float32, requires_grad=True)
    g_out = torch.randn(B, T, D * H, dtype=torch.float32)
    g_hn = torch.randn(L * D, B, H, dtype=torch.float32)

    if lengths is None:
        out, hn = gru(x, h0)
    else:
        assert len(lengths) == B and all(1 <= n <= T for n in lengths)
        lens = torch.tensor(lengths, dtype=torch.int64)
        packed = torch.nn.utils.rnn.pack_padded_sequence(x, lens, batch_first=True, enforce_sorted=False)
        out_p, hn = gru(packed, h0)
        out, _ = torch.nn.utils.rnn.pad_packed_sequence(out_p, batch_first=True, total_length=T)
    assert out.shape == (B, T, D * H) and hn.shape == (L * D, B, H)

    loss = (out * g_out).sum() + (hn * g_hn).sum()
    loss.backward()

    tensors = {
        "input": f32(x), "h0": f32(h0), "output": f32(out), "h_n": f32(hn),
        "grad_output": f32(g_out), "grad_h_n": f32(g_hn),
        "grad.input": f32(x.grad), "grad.h0": f32(h0.grad),
    }
    for name, value in gru.state_dict().items():
        tensors[name] = f32(value)
    for name, p in gru.named_parameters():
        assert name in tensors, name
        tensors[f"grad.{name}"] = f32(p.grad)
    if lengths is not None:
        tensors["lengths"] = np.asarray(lengths, dtype=np.int64)

    meta = base_metadata("gru", case["seed"])
    meta.update({
        "input_size": json.dumps(I),
        "hidden_size": json.dumps(H),
        "num_layers": json.dumps(L),
        "bidirectional": jbool(case["bidir"]),
        "bias": jbool(bias),
        "has_lengths": jbool(lengths is not None),
        "batch_first": jbool(True),
        "dropout": jnum(0.0),
    })
    path = out_dir / "gru" / f"{case['name']}.safetensors"
    write_safetensors(path, tensors, meta)
    return path


def optim_grads(case) -> list:
    """The gradients fed at each step (before clipping), from torch's RNG."""
    scale = case.get("grad_scale", [1.0] * OPTIM_STEPS)
    return [torch.randn(*OPTIM_SHAPE, dtype=torch.float32) * float(scale[k])
            for k in range(OPTIM_STEPS)]


def gen_optim_case(case, out_dir: Path) -> Path:
    torch.manual_seed(case["seed"])
    init = torch.randn(*OPTIM_SHAPE, dtype=torch.float32)
    grads = optim_grads(case)
    p = torch.nn.Parameter(init.clone())
    kind = case["optimizer"]
    wd = case["weight_decay"]
    amsgrad = case.get("amsgrad", False)
    dampening = case.get("dampening", 0.0)
    if kind == "adam":
        opt = torch.optim.Adam([p], lr=case["lr"], betas=case["betas"], eps=case["eps"],
                               weight_decay=wd, amsgrad=amsgrad, foreach=False)
    elif kind == "adamw":
        opt = torch.optim.AdamW([p], lr=case["lr"], betas=case["betas"], eps=case["eps"],
                                weight_decay=wd, amsgrad=amsgrad, foreach=False)
    elif kind == "sgd":
        opt = torch.optim.SGD([p], lr=case["lr"], momentum=case["momentum"], dampening=dampening,
                              weight_decay=wd, nesterov=case["nesterov"], foreach=False)
    else:
        raise ValueError(kind)

    clip = case.get("clip_norm")
    tensors = {"param.init": f32(init)}
    for k, g in enumerate(grads):
        opt.zero_grad(set_to_none=True)
        p.grad = g.clone()
        if clip is not None:
            torch.nn.utils.clip_grad_norm_([p], max_norm=clip)
        opt.step()
        tensors[f"grad.step{k}"] = f32(g)
        tensors[f"param.step{k}"] = f32(p)
    if clip is not None:
        norms = [float(torch.linalg.vector_norm(g)) for g in grads]
        assert any(n > clip for n in norms) and any(n < clip for n in norms), norms

    is_sgd = kind == "sgd"
    meta = base_metadata("torch_optim", case["seed"])
    meta.update({
        "optimizer": json.dumps(kind),
        "lr": jnum(case["lr"]),
        "betas": json.dumps(None if is_sgd else [float(b) for b in case["betas"]]),
        "eps": jnum(None if is_sgd else case["eps"]),
        "weight_decay": jnum(wd),
        "momentum": jnum(case["momentum"] if is_sgd else None),
        "dampening": jnum(dampening if is_sgd else None),
        "nesterov": jbool(case.get("nesterov", False)),
        "amsgrad": jbool(amsgrad),
        "steps": json.dumps(OPTIM_STEPS),
    })
    if clip is not None:
        meta["clip_norm"] = jnum(clip)
    path = out_dir / "torch_optim" / f"{case['name']}.safetensors"
    write_safetensors(path, tensors, meta)
    return path


# --------------------------------------------------------------------------
# Independent NumPy references (float64)
# --------------------------------------------------------------------------

def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def reference_lstm(x, h0, c0, weights, num_layers, bidirectional, lengths=None, bias=True, proj=0):
    """LSTM forward from the PyTorch equations, in float64.

    weights: name -> array with PyTorch's names and layouts (W_ih (4H, I),
    W_hh (4H, H), b_ih, b_hh (4H)), gate rows in the order i, f, g, o:
        i = sigmoid(W_ii x + b_ii + W_hi h + b_hi)   (f, o likewise)
        g = tanh(W_ig x + b_ig + W_hg h + b_hg)
        c' = f * c + i * g;  h' = o * tanh(c')
    Without bias, no b terms; with proj > 0, h' = W_hr (o * tanh(c')) has proj
    units (W_hr (proj, H), W_hh (4H, proj)).
    With lengths, sequence b is run over steps 0..len_b-1 only: forward from 0
    upward, reverse from len_b-1 downward (both starting from h0/c0); outputs
    past len_b are 0 and h_n/c_n are the states after the last step run.
    Returns output (B, T, D*H), h_n, c_n (L*D, B, H).
    """
    x = np.asarray(x, np.float64)
    B, T, _ = x.shape
    D = 2 if bidirectional else 1
    H = c0.shape[2]
    R = h0.shape[2]
    lens = [T] * B if lengths is None else [int(n) for n in lengths]
    h_n = np.zeros((num_layers * D, B, R))
    c_n = np.zeros((num_layers * D, B, H))
    layer_in = x
    for layer in range(num_layers):
        layer_out = np.zeros((B, T, D * R))
        for d in range(D):
            sfx = f"_l{layer}" + ("_reverse" if d == 1 else "")
            w_ih = np.asarray(weights["weight_ih" + sfx], np.float64)
            w_hh = np.asarray(weights["weight_hh" + sfx], np.float64)
            b = np.asarray(weights["bias_ih" + sfx], np.float64) + \
                np.asarray(weights["bias_hh" + sfx], np.float64) if bias else 0.0
            w_hr = np.asarray(weights["weight_hr" + sfx], np.float64) if proj else None
            k = layer * D + d
            for bi in range(B):
                h = np.asarray(h0[k, bi], np.float64)
                c = np.asarray(c0[k, bi], np.float64)
                steps = range(lens[bi]) if d == 0 else range(lens[bi] - 1, -1, -1)
                for t in steps:
                    z = w_ih @ layer_in[bi, t] + w_hh @ h + b
                    i, f, g, o = z[:H], z[H:2 * H], z[2 * H:3 * H], z[3 * H:]
                    c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
                    h = _sigmoid(o) * np.tanh(c)
                    if w_hr is not None:
                        h = w_hr @ h
                    layer_out[bi, t, d * R:(d + 1) * R] = h
                h_n[k, bi] = h
                c_n[k, bi] = c
        layer_in = layer_out
    return layer_in, h_n, c_n


def reference_gru(x, h0, weights, num_layers, bidirectional, lengths=None):
    """GRU forward from the PyTorch equations, in float64.

    weights: name -> array with PyTorch's names and layouts (W_ih (3H, I),
    W_hh (3H, H), b_ih, b_hh (3H); biases absent for bias=False), gate rows
    in the order r, z, n:
        r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)   (z likewise)
        n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
        h' = (1 - z) * n + z * h
    Lengths as reference_lstm. Returns output (B, T, D*H), h_n (L*D, B, H).
    """
    x = np.asarray(x, np.float64)
    B, T, _ = x.shape
    D = 2 if bidirectional else 1
    H = h0.shape[2]
    lens = [T] * B if lengths is None else [int(n) for n in lengths]
    h_n = np.zeros((num_layers * D, B, H))
    layer_in = x
    for layer in range(num_layers):
        layer_out = np.zeros((B, T, D * H))
        for d in range(D):
            sfx = f"_l{layer}" + ("_reverse" if d == 1 else "")
            w_ih = np.asarray(weights["weight_ih" + sfx], np.float64)
            w_hh = np.asarray(weights["weight_hh" + sfx], np.float64)
            b_ih = np.asarray(weights["bias_ih" + sfx], np.float64) if "bias_ih" + sfx in weights else np.zeros(3 * H)
            b_hh = np.asarray(weights["bias_hh" + sfx], np.float64) if "bias_hh" + sfx in weights else np.zeros(3 * H)
            k = layer * D + d
            for bi in range(B):
                h = np.asarray(h0[k, bi], np.float64)
                steps = range(lens[bi]) if d == 0 else range(lens[bi] - 1, -1, -1)
                for t in steps:
                    gi = w_ih @ layer_in[bi, t] + b_ih
                    gh = w_hh @ h + b_hh
                    r = _sigmoid(gi[:H] + gh[:H])
                    z = _sigmoid(gi[H:2 * H] + gh[H:2 * H])
                    n = np.tanh(gi[2 * H:] + r * gh[2 * H:])
                    h = (1 - z) * n + z * h
                    layer_out[bi, t, d * H:(d + 1) * H] = h
                h_n[k, bi] = h
        layer_in = layer_out
    return layer_in, h_n


def reference_optim(meta, init, grads):
    """Optimizer trajectory from the documented PyTorch rules, in float64."""
    kind, lr, wd = meta["optimizer"], meta["lr"], meta["weight_decay"]
    clip = meta.get("clip_norm")
    p = np.asarray(init, np.float64).copy()
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    v_max = np.zeros_like(p)  # amsgrad: the running maximum of v
    buf = None
    out = []
    for step, g in enumerate(grads, start=1):
        g = np.asarray(g, np.float64)
        if clip is not None:
            total = np.sqrt(np.sum(g * g))  # L2 norm over all gradients as one vector
            g = g * min(clip / (total + 1e-6), 1.0)
        if kind in ("adam", "adamw"):
            b1, b2 = meta["betas"]
            if kind == "adamw":
                p = p * (1.0 - lr * wd)  # decoupled decay, before the moment update
            elif wd != 0:
                g = g + wd * p  # Adam: L2 term folded into the gradient
            m = b1 * m + (1.0 - b1) * g
            v = b2 * v + (1.0 - b2) * g * g
            bc1 = 1.0 - b1 ** step
            bc2 = 1.0 - b2 ** step
            if meta.get("amsgrad"):
                v_max = np.maximum(v_max, v)
            v_used = v_max if meta.get("amsgrad") else v
            p = p - (lr / bc1) * m / (np.sqrt(v_used) / np.sqrt(bc2) + meta["eps"])
        elif kind == "sgd":
            mu = meta["momentum"] or 0.0
            if wd != 0:
                g = g + wd * p
            if mu != 0:
                buf = g.copy() if buf is None else mu * buf + (1.0 - meta["dampening"]) * g
                g = g + mu * buf if meta["nesterov"] else buf
            p = p - lr * g
        else:
            raise ValueError(kind)
        out.append(p.copy())
    return out


# --------------------------------------------------------------------------
# Verification (reads the files back; does not trust in-memory values)
# --------------------------------------------------------------------------

def lstm_param_shapes(I, H, L, D, bias=True, P=0):
    R = P or H
    shapes = {}
    for layer in range(L):
        in_size = I if layer == 0 else D * R
        for d in range(D):
            sfx = f"_l{layer}" + ("_reverse" if d == 1 else "")
            shapes["weight_ih" + sfx] = (4 * H, in_size)
            shapes["weight_hh" + sfx] = (4 * H, R)
            if bias:
                shapes["bias_ih" + sfx] = (4 * H,)
                shapes["bias_hh" + sfx] = (4 * H,)
            if P:
                shapes["weight_hr" + sfx] = (P, H)
    return shapes


def verify_lstm_file(path: Path) -> str:
    t = load_file(str(path))
    m = read_metadata(path)
    check(m["suite"] == "lstm", path, "suite")
    check(m["batch_first"] is True and 0 <= m["proj_size"] < m["hidden_size"], path, "proj_size/batch_first")
    I, H, L = m["input_size"], m["hidden_size"], m["num_layers"]
    bias, P = m["bias"], m["proj_size"]
    R = P or H
    D = 2 if m["bidirectional"] else 1
    x = t["input"]
    check(x.ndim == 3 and x.shape[2] == I, path, f"input shape {x.shape}")
    B, T = x.shape[:2]
    params = lstm_param_shapes(I, H, L, D, bias, P)
    state, cell = (L * D, B, R), (L * D, B, H)
    expected = {"input": (B, T, I), "h0": state, "c0": cell, "output": (B, T, D * R),
                "h_n": state, "c_n": cell, "grad_output": (B, T, D * R),
                "grad_h_n": state, "grad_c_n": cell, "grad.input": (B, T, I),
                "grad.h0": state, "grad.c0": cell}
    expected.update(params)
    expected.update({f"grad.{k}": s for k, s in params.items()})
    if m["has_lengths"]:
        expected["lengths"] = (B,)
    check(set(t) == set(expected), path, f"tensor names {sorted(set(t) ^ set(expected))}")
    for name, shape in expected.items():
        check(t[name].shape == shape, path, f"{name} shape {t[name].shape} != {shape}")
        want = np.int64 if name == "lengths" else np.float32
        check(t[name].dtype == want, path, f"{name} dtype {t[name].dtype}")
    check(np.all(t["h0"] != 0) and np.all(t["c0"] != 0), path, "h0/c0 must be non-zero")
    lengths = t["lengths"] if m["has_lengths"] else None
    if lengths is not None:
        check(np.all((lengths >= 1) & (lengths <= T)), path, "lengths out of range")

    # forward, against the independent NumPy LSTM
    out, hn, cn = reference_lstm(x, t["h0"], t["c0"], t, L, D == 2, lengths, bias, P)
    fwd = {"output": out, "h_n": hn, "c_n": cn}
    worst_fwd = max(float(np.max(np.abs(t[k] - v))) for k, v in fwd.items())
    for k, v in fwd.items():
        err = float(np.max(np.abs(t[k] - v)))
        check(err <= 1e-5, path, f"{k} differs from NumPy LSTM by {err:.3g}")
    if lengths is not None:
        for b, n in enumerate(lengths):
            check(np.all(t["output"][b, n:] == 0), path, f"output past length {n} not zero")
            check(np.all(t["grad.input"][b, n:] == 0), path, f"grad.input past length {n} not zero")

    # gradients: central differences of the float64 NumPy loss along a random
    # direction per gradient tensor, against sum(grad * direction)
    def loss(v):
        o, h, c = reference_lstm(v["input"], v["h0"], v["c0"], v, L, D == 2, lengths, bias, P)
        return float(np.sum(o * t["grad_output"]) + np.sum(h * t["grad_h_n"])
                     + np.sum(c * t["grad_c_n"]))

    base = {k: np.asarray(v, np.float64) for k, v in t.items() if k != "lengths"}
    rng = np.random.default_rng(m["seed"])
    eps = 1e-6
    worst_grad = 0.0
    for gname in sorted(k for k in t if k.startswith("grad.")):
        target = gname[len("grad."):]
        direction = rng.standard_normal(base[target].shape)
        plus, minus = dict(base), dict(base)
        plus[target] = base[target] + eps * direction
        minus[target] = base[target] - eps * direction
        fd = (loss(plus) - loss(minus)) / (2 * eps)
        an = float(np.sum(base[gname] * direction))
        scale = 1.0 + float(np.sum(np.abs(base[gname] * direction)))
        rel = abs(fd - an) / scale
        worst_grad = max(worst_grad, rel)
        check(rel <= 1e-5, path, f"{gname}: finite difference {fd:.8g} vs stored {an:.8g}")

    lens = "" if lengths is None else f" lengths={lengths.tolist()}"
    lens += "" if bias else " bias=false"
    lens += f" proj_size={P}" if P else ""
    return (f"lstm/{path.stem}: B={B} T={T} I={I} H={H} layers={L} "
            f"bidirectional={str(D == 2).lower()}{lens}; {len(t)} tensors; "
            f"numpy fwd max err {worst_fwd:.1e}, grad fd rel err {worst_grad:.1e} "
            f"({path.stat().st_size} bytes)")


def gru_param_shapes(I, H, L, D, bias):
    shapes = {}
    for layer in range(L):
        in_size = I if layer == 0 else D * H
        for d in range(D):
            sfx = f"_l{layer}" + ("_reverse" if d == 1 else "")
            shapes["weight_ih" + sfx] = (3 * H, in_size)
            shapes["weight_hh" + sfx] = (3 * H, H)
            if bias:
                shapes["bias_ih" + sfx] = (3 * H,)
                shapes["bias_hh" + sfx] = (3 * H,)
    return shapes


def verify_gru_file(path: Path) -> str:
    """As verify_lstm_file, against reference_gru."""
    t = load_file(str(path))
    m = read_metadata(path)
    check(m["suite"] == "gru", path, "suite")
    check(m["batch_first"] is True, path, "batch_first")
    I, H, L = m["input_size"], m["hidden_size"], m["num_layers"]
    D = 2 if m["bidirectional"] else 1
    x = t["input"]
    check(x.ndim == 3 and x.shape[2] == I, path, f"input shape {x.shape}")
    B, T = x.shape[:2]
    params = gru_param_shapes(I, H, L, D, m["bias"])
    state = (L * D, B, H)
    expected = {"input": (B, T, I), "h0": state, "output": (B, T, D * H), "h_n": state,
                "grad_output": (B, T, D * H), "grad_h_n": state, "grad.input": (B, T, I), "grad.h0": state}
    expected.update(params)
    expected.update({f"grad.{k}": s for k, s in params.items()})
    if m["has_lengths"]:
        expected["lengths"] = (B,)
    check(set(t) == set(expected), path, f"tensor names {sorted(set(t) ^ set(expected))}")
    for name, shape in expected.items():
        check(t[name].shape == shape, path, f"{name} shape {t[name].shape} != {shape}")
        want = np.int64 if name == "lengths" else np.float32
        check(t[name].dtype == want, path, f"{name} dtype {t[name].dtype}")
    check(np.all(t["h0"] != 0), path, "h0 must be non-zero")
    lengths = t["lengths"] if m["has_lengths"] else None

    out, hn = reference_gru(x, t["h0"], t, L, D == 2, lengths)
    fwd = {"output": out, "h_n": hn}
    worst_fwd = max(float(np.max(np.abs(t[k] - v))) for k, v in fwd.items())
    for k, v in fwd.items():
        err = float(np.max(np.abs(t[k] - v)))
        check(err <= 1e-5, path, f"{k} differs from NumPy GRU by {err:.3g}")
    if lengths is not None:
        for b, n in enumerate(lengths):
            check(np.all(t["output"][b, n:] == 0), path, f"output past length {n} not zero")
            check(np.all(t["grad.input"][b, n:] == 0), path, f"grad.input past length {n} not zero")

    def loss(v):
        o, h = reference_gru(v["input"], v["h0"], v, L, D == 2, lengths)
        return float(np.sum(o * t["grad_output"]) + np.sum(h * t["grad_h_n"]))

    base = {k: np.asarray(v, np.float64) for k, v in t.items() if k != "lengths"}
    rng = np.random.default_rng(m["seed"])
    eps = 1e-6
    worst_grad = 0.0
    for gname in sorted(k for k in t if k.startswith("grad.")):
        target = gname[len("grad."):]
        direction = rng.standard_normal(base[target].shape)
        plus, minus = dict(base), dict(base)
        plus[target] = base[target] + eps * direction
        minus[target] = base[target] - eps * direction
        fd = (loss(plus) - loss(minus)) / (2 * eps)
        an = float(np.sum(base[gname] * direction))
        scale = 1.0 + float(np.sum(np.abs(base[gname] * direction)))
        rel = abs(fd - an) / scale
        worst_grad = max(worst_grad, rel)
        check(rel <= 1e-5, path, f"{gname}: finite difference {fd:.8g} vs stored {an:.8g}")

    lens = "" if lengths is None else f" lengths={lengths.tolist()}"
    return (f"gru/{path.stem}: B={B} T={T} I={I} H={H} layers={L} "
            f"bidirectional={str(D == 2).lower()} bias={str(m['bias']).lower()}{lens}; {len(t)} tensors; "
            f"numpy fwd max err {worst_fwd:.1e}, grad fd rel err {worst_grad:.1e} "
            f"({path.stat().st_size} bytes)")


def verify_optim_file(path: Path) -> str:
    t = load_file(str(path))
    m = read_metadata(path)
    check(m["suite"] == "torch_optim", path, "suite")
    steps = m["steps"]
    check(m["optimizer"] in ("adam", "adamw", "sgd") and m["amsgrad"] in (True, False), path, "optimizer")
    check(not (m["optimizer"] == "sgd" and m["amsgrad"]), path, "sgd has no amsgrad")
    for key in ("lr", "betas", "eps", "weight_decay", "momentum", "nesterov", "steps"):
        check(key in m, path, f"metadata {key} missing")
    if m["optimizer"] == "sgd":
        check(m["betas"] is None and m["eps"] is None, path, "sgd betas/eps must be null")
    else:
        check(len(m["betas"]) == 2 and m["momentum"] is None, path, "adam betas/momentum")
    shape = t["param.init"].shape
    names = {"param.init"} | {f"grad.step{k}" for k in range(steps)} | \
        {f"param.step{k}" for k in range(steps)}
    check(set(t) == names, path, f"tensor names {sorted(set(t) ^ names)}")
    for name in names:
        check(t[name].shape == shape and t[name].dtype == np.float32, path, f"{name} shape/dtype")
    ref = reference_optim(m, t["param.init"], [t[f"grad.step{k}"] for k in range(steps)])
    worst = 0.0
    for k in range(steps):
        a = t[f"param.step{k}"].astype(np.float64)
        # normwise relative error: float32 rounding of a step that nearly
        # cancels an element leaves a few ulps of the step's own size there
        rel = float(np.max(np.abs(a - ref[k])) / np.max(np.abs(ref[k])))
        worst = max(worst, rel)
        check(rel <= 1e-6, path, f"param.step{k} differs from NumPy rule (rel {rel:.3g})")
    # Options whose effect must be visible above the Swift tolerance (1e-3
    # relative): the trajectory without them differs clearly.
    for key, off in (("amsgrad", False), ("dampening", 0.0)):
        if m.get(key) not in (None, off):
            plain = reference_optim({**m, key: off}, t["param.init"],
                                    [t[f"grad.step{k}"] for k in range(steps)])
            effect = max(float(np.max(np.abs(plain[k] - ref[k])) / np.max(np.abs(ref[k])))
                         for k in range(steps))
            check(effect > 1e-2, path, f"{key} changes the trajectory by only {effect:.2g}")
    moved = float(np.max(np.abs(t[f"param.step{steps - 1}"] - t["param.init"])))
    opts = [f"lr={m['lr']}"]
    if m["optimizer"] != "sgd":
        opts += [f"betas={m['betas']}", f"eps={m['eps']}"]
    else:
        opts += [f"momentum={m['momentum']}", f"nesterov={str(m['nesterov']).lower()}"]
        if m["dampening"]:
            opts.append(f"dampening={m['dampening']}")
    if m["amsgrad"]:
        opts.append("amsgrad=true")
    opts.append(f"weight_decay={m['weight_decay']}")
    if "clip_norm" in m:
        norms = [float(np.linalg.norm(t[f"grad.step{k}"])) for k in range(steps)]
        opts.append(f"clip_norm={m['clip_norm']} (grad norms "
                    + ", ".join(f"{n:.2f}" for n in norms) + ")")
    return (f"torch_optim/{path.stem}: {m['optimizer']} {' '.join(opts)} steps={steps} "
            f"param {tuple(shape)}; max |moved| {moved:.3f}; numpy rel err {worst:.1e} "
            f"({path.stat().st_size} bytes)")


# --------------------------------------------------------------------------
# torch_layers: nn.Conv2d, nn.ConvTranspose2d and nn.Linear, one file
# --------------------------------------------------------------------------

# One entry per case. `module` is the torch.nn class; `padding` is PyTorch's
# own argument (an (h, w) pair or "same"); `tf_padding` is the TensorFlow-style
# padding of our layer that computes the same thing (checked in verification
# by a float64 NumPy reference that follows TensorFlow's size and padding rules).
# `input` is the (N, C, H, W) or (..., in_features) input shape; sizes are
# chosen so that no two axes of a tensor coincide where avoidable, so a wrong
# axis order changes shapes as well as values.
TORCH_LAYER_CASES = [
    # padding 0 == valid; non-square kernel, per-axis stride and dilation
    dict(name="conv_valid", module="Conv2d", in_channels=3, out_channels=4, kernel_size=(3, 2),
         stride=(2, 1), dilation=(1, 2), padding=(0, 0), bias=True, tf_padding="valid",
         input=(2, 3, 11, 8), seed=501),
    # padding='same' (stride 1, odd kernel): symmetric padding
    dict(name="conv_same", module="Conv2d", in_channels=2, out_channels=3, kernel_size=(3, 3),
         stride=(1, 1), dilation=(1, 1), padding="same", bias=True, tf_padding="same",
         input=(2, 2, 5, 6), seed=502),
    # padding='same' with even kernel lengths: PyTorch pads the smaller half
    # first, as TensorFlow does; bias=False
    dict(name="conv_same_even_nobias", module="Conv2d", in_channels=2, out_channels=3,
         kernel_size=(2, 4), stride=(1, 1), dilation=(1, 1), padding="same", bias=False,
         tf_padding="same", input=(1, 2, 5, 7), seed=503),
    # integer padding p = (e - 1) / 2 per axis at stride 1 == same (dilated extent 5 x 3)
    dict(name="conv_int_padding_dilated", module="Conv2d", in_channels=3, out_channels=2,
         kernel_size=(3, 3), stride=(1, 1), dilation=(2, 1), padding=(2, 1), bias=True,
         tf_padding="same", input=(2, 3, 7, 6), seed=504),
    # padding 0 == valid when the kernel is at least the stride on both axes:
    # (in - 1) * s + k == in * s + max(k - s, 0)
    dict(name="convt_valid", module="ConvTranspose2d", in_channels=3, out_channels=2,
         kernel_size=(3, 4), stride=(2, 3), dilation=(1, 1), padding=(0, 0), bias=True,
         tf_padding="valid", input=(2, 3, 4, 5), seed=505),
    # padding p = (k - s) / 2 (k - s even), output_padding 0 == same (output
    # in * s); the DCGAN-style k=4, s=2, p=1 on the height axis; bias=False
    dict(name="convt_same_nobias", module="ConvTranspose2d", in_channels=2, out_channels=3,
         kernel_size=(4, 3), stride=(2, 1), dilation=(1, 1), padding=(1, 1), bias=False,
         tf_padding="same", input=(2, 2, 4, 5), seed=506),
    # dilation with stride (dilated extent 4 x 5 >= stride 3 x 1), padding 0 == valid
    dict(name="convt_dilated", module="ConvTranspose2d", in_channels=2, out_channels=3,
         kernel_size=(2, 3), stride=(3, 1), dilation=(3, 2), padding=(0, 0), bias=True,
         tf_padding="valid", input=(1, 2, 3, 4), seed=507),
    # nn.Linear on a (B, T, in_features) input
    dict(name="linear", module="Linear", in_features=7, out_features=5, bias=True,
         input=(2, 3, 7), seed=508),
]
TORCH_LAYERS_SEED = 500  # file-level seed (metadata; verification directions); each case has its own
TORCH_LAYERS_FILE = (Path(__file__).resolve().parent.parent / "Tests" / "RecurrentTests" / "Data"
                     / "torch_layers.safetensors")


def torch_layer_config(case) -> dict:
    """The case's configuration, as stored (JSON) in the file's metadata."""
    if case["module"] == "Linear":
        return {"module": "Linear", "in_features": case["in_features"],
                "out_features": case["out_features"], "bias": case["bias"],
                "seed": case["seed"]}
    cfg = {"module": case["module"], "in_channels": case["in_channels"],
           "out_channels": case["out_channels"], "kernel_size": list(case["kernel_size"]),
           "stride": list(case["stride"]), "dilation": list(case["dilation"]),
           "padding": case["padding"] if isinstance(case["padding"], str) else list(case["padding"]),
           "groups": 1, "bias": case["bias"], "padding_mode": "zeros",
           "tf_padding": case["tf_padding"], "seed": case["seed"]}
    if case["module"] == "ConvTranspose2d":
        cfg["output_padding"] = [0, 0]
    return cfg


def gen_torch_layer_case(case) -> dict:
    """The case's tensors, under names prefixed with the case name."""
    torch.manual_seed(case["seed"])
    kind = case["module"]
    if kind == "Conv2d":
        with warnings.catch_warnings():
            # padding='same' with an even kernel: "may require a zero-padded copy"
            warnings.simplefilter("ignore", UserWarning)
            module = torch.nn.Conv2d(case["in_channels"], case["out_channels"], case["kernel_size"],
                                     stride=case["stride"], padding=case["padding"],
                                     dilation=case["dilation"], bias=case["bias"], dtype=torch.float32)
    elif kind == "ConvTranspose2d":
        module = torch.nn.ConvTranspose2d(case["in_channels"], case["out_channels"], case["kernel_size"],
                                          stride=case["stride"], padding=case["padding"],
                                          output_padding=0, dilation=case["dilation"],
                                          bias=case["bias"], dtype=torch.float32)
    elif kind == "Linear":
        module = torch.nn.Linear(case["in_features"], case["out_features"], bias=case["bias"],
                                 dtype=torch.float32)
    else:
        raise ValueError(kind)
    x = torch.randn(*case["input"], dtype=torch.float32, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        out = module(x)
    g_out = torch.randn(*out.shape, dtype=torch.float32)
    (out * g_out).sum().backward()

    p = case["name"]
    tensors = {f"{p}.input": f32(x), f"{p}.output": f32(out), f"{p}.grad_output": f32(g_out),
               f"grad.{p}.input": f32(x.grad)}
    for name, value in module.state_dict().items():
        tensors[f"{p}.{name}"] = f32(value)
    for name, param in module.named_parameters():
        assert f"{p}.{name}" in tensors, name
        tensors[f"grad.{p}.{name}"] = f32(param.grad)
    return tensors


def gen_torch_layers(path: Path) -> Path:
    names = [c["name"] for c in TORCH_LAYER_CASES]
    assert len(names) == len(set(names)), "duplicate torch_layers case names"
    tensors = {}
    meta = base_metadata("torch_layers", TORCH_LAYERS_SEED)
    meta["cases"] = json.dumps(names)
    for case in TORCH_LAYER_CASES:
        tensors.update(gen_torch_layer_case(case))
        meta[case["name"]] = json.dumps(torch_layer_config(case), sort_keys=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_safetensors(path, tensors, meta)
    return path


def _tf_axis(size, kernel, stride, dilation, padding):
    """TensorFlow's convolution output length and padding before, one axis."""
    extent = (kernel - 1) * dilation + 1
    if padding == "valid":
        return (size - extent) // stride + 1, 0
    out = -(-size // stride)
    total = max((out - 1) * stride + extent - size, 0)
    return out, total // 2


def reference_conv2d_tf(x, w, b, stride, dilation, padding):
    """Cross-correlation in float64 with TensorFlow's padding rules (our Conv2D's),
    PyTorch layouts: x (N, C, H, W), w (F, C, KH, KW), b (F) or None."""
    x = np.asarray(x, np.float64)
    w = np.asarray(w, np.float64)
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    OH, top = _tf_axis(H, KH, stride[0], dilation[0], padding)
    OW, left = _tf_axis(W, KW, stride[1], dilation[1], padding)
    y = np.zeros((N, F, OH, OW))
    for ky in range(KH):
        for kx in range(KW):
            for oy in range(OH):
                iy = oy * stride[0] + ky * dilation[0] - top
                if not 0 <= iy < H:
                    continue
                for ox in range(OW):
                    ix = ox * stride[1] + kx * dilation[1] - left
                    if 0 <= ix < W:
                        y[:, :, oy, ox] += x[:, :, iy, ix] @ w[:, :, ky, kx].T
    if b is not None:
        y += np.asarray(b, np.float64)[None, :, None, None]
    return y


def reference_conv_transpose2d_tf(x, w, b, stride, dilation, padding):
    """Transposed convolution in float64 with our Conv2DTranspose's (Keras's)
    size rules, PyTorch layouts: x (N, C, H, W), w (C, F, KH, KW), b (F) or
    None. The full scatter ((H - 1) * s + e rows) is cropped to the output
    size, `same` by the padding a same Conv2D of that size would use (the
    smaller half first); `valid` is in * s + max(e - s, 0)."""
    x = np.asarray(x, np.float64)
    w = np.asarray(w, np.float64)
    N, C, H, W = x.shape
    _, F, KH, KW = w.shape
    sizes = []
    for n, k, s, d in ((H, KH, stride[0], dilation[0]), (W, KW, stride[1], dilation[1])):
        e = (k - 1) * d + 1
        full = (n - 1) * s + e
        out = n * s if padding == "same" else n * s + max(e - s, 0)
        before = max(e - s, 0) // 2 if padding == "same" else 0
        sizes.append((full, out, before))
    (FH, OH, top), (FW, OW, left) = sizes
    full = np.zeros((N, F, max(FH, OH + top), max(FW, OW + left)))
    for ky in range(KH):
        for kx in range(KW):
            for iy in range(H):
                for ix in range(W):
                    full[:, :, iy * stride[0] + ky * dilation[0], ix * stride[1] + kx * dilation[1]] += \
                        x[:, :, iy, ix] @ w[:, :, ky, kx]
    y = full[:, :, top:top + OH, left:left + OW].copy()
    if b is not None:
        y += np.asarray(b, np.float64)[None, :, None, None]
    return y


def reference_torch_layer(cfg, x, w, b):
    if cfg["module"] == "Linear":
        y = np.asarray(x, np.float64) @ np.asarray(w, np.float64).T
        return y if b is None else y + np.asarray(b, np.float64)
    fn = reference_conv2d_tf if cfg["module"] == "Conv2d" else reference_conv_transpose2d_tf
    return fn(x, w, b, cfg["stride"], cfg["dilation"], cfg["tf_padding"])


def verify_torch_layers_file(path: Path) -> list:
    """Checks the file read back: names, shapes and dtypes against the metadata;
    PyTorch's output against a float64 NumPy layer that follows TensorFlow's
    padding and size rules (so PyTorch's padding does equal `tf_padding`);
    every gradient by central differences of that reference along a random
    direction. Returns one summary line per case."""
    t = load_file(str(path))
    m = read_metadata(path)
    check(m["suite"] == "torch_layers", path, "suite")
    lines, seen = [], set()
    rng = np.random.default_rng(m["seed"])
    for name in m["cases"]:
        cfg = m[name]
        has_bias = cfg["bias"]
        x, w = t[f"{name}.input"], t[f"{name}.weight"]
        b = t[f"{name}.bias"] if has_bias else None
        kind = cfg["module"]
        if kind == "Linear":
            want_w = (cfg["out_features"], cfg["in_features"])
            F = cfg["out_features"]
            check(x.shape[-1] == cfg["in_features"], path, f"{name}: input {x.shape}")
        else:
            C, F = cfg["in_channels"], cfg["out_channels"]
            kh, kw = cfg["kernel_size"]
            want_w = (F, C, kh, kw) if kind == "Conv2d" else (C, F, kh, kw)
            check(cfg["groups"] == 1 and x.ndim == 4 and x.shape[1] == C, path, f"{name}: input {x.shape}")
        check(w.shape == want_w, path, f"{name}.weight shape {w.shape} != {want_w}")
        ref = reference_torch_layer(cfg, x, w, b)
        params = ["weight"] + (["bias"] if has_bias else [])
        names = {f"{name}.{k}" for k in ["input", "output", "grad_output"] + params} | \
            {f"grad.{name}.{k}" for k in ["input"] + params}
        for n in names:
            check(n in t, path, f"tensor {n} missing")
            check(t[n].dtype == np.float32, path, f"{n} dtype {t[n].dtype}")
        check(t[f"{name}.output"].shape == ref.shape, path,
              f"{name}.output shape {t[f'{name}.output'].shape} != TF-rule shape {ref.shape}")
        check(t[f"{name}.grad_output"].shape == ref.shape, path, f"{name}.grad_output shape")
        for k in ["input"] + params:
            check(t[f"grad.{name}.{k}"].shape == t[f"{name}.{k}"].shape, path, f"grad.{name}.{k} shape")
        if has_bias:
            check(t[f"{name}.bias"].shape == (F,), path, f"{name}.bias shape")
        seen |= names
        fwd = float(np.max(np.abs(t[f"{name}.output"] - ref)))
        check(fwd <= 1e-5, path, f"{name}.output differs from the TF-rule NumPy layer by {fwd:.3g}")

        base = {k: np.asarray(t[f"{name}.{k}"], np.float64) for k in ["input"] + params}
        g_out = np.asarray(t[f"{name}.grad_output"], np.float64)

        def loss(v):
            return float(np.sum(reference_torch_layer(cfg, v["input"], v["weight"], v.get("bias")) * g_out))

        worst_grad = 0.0
        eps = 1e-6
        for k in ["input"] + params:
            direction = rng.standard_normal(base[k].shape)
            plus, minus = dict(base), dict(base)
            plus[k] = base[k] + eps * direction
            minus[k] = base[k] - eps * direction
            fd = (loss(plus) - loss(minus)) / (2 * eps)
            grad = t[f"grad.{name}.{k}"]
            an = float(np.sum(grad * direction))
            rel = abs(fd - an) / (1.0 + float(np.sum(np.abs(grad * direction))))
            worst_grad = max(worst_grad, rel)
            check(rel <= 1e-5, path, f"grad.{name}.{k}: finite difference {fd:.8g} vs stored {an:.8g}")
        if kind == "Linear":
            desc = f"Linear({cfg['in_features']} -> {cfg['out_features']})"
        else:
            pad = cfg["padding"] if isinstance(cfg["padding"], str) else tuple(cfg["padding"])
            desc = (f"{kind}({cfg['in_channels']} -> {cfg['out_channels']}, k={tuple(cfg['kernel_size'])}, "
                    f"stride={tuple(cfg['stride'])}, dilation={tuple(cfg['dilation'])}, padding={pad!r}) "
                    f"== {cfg['tf_padding']}")
        lines.append(f"torch_layers/{name}: {desc}{'' if has_bias else ', bias=False'}; "
                     f"input {x.shape} -> output {ref.shape}; TF-rule numpy fwd max err {fwd:.1e}, "
                     f"grad fd rel err {worst_grad:.1e}")
    check(set(t) == seen, path, f"unexpected tensors {sorted(set(t) - seen)}")
    lines.append(f"torch_layers: {len(m['cases'])} cases, {len(t)} tensors in {path} "
                 f"({path.stat().st_size} bytes)")
    return lines


# --------------------------------------------------------------------------


# --------------------------------------------------------------------------
# Closed-loop rollouts (suite torch_rollout)
# --------------------------------------------------------------------------

ROLLOUT_CASES = [
    # An FC-LSTM: flatten, nn.LSTM, nn.Linear with a sigmoid, back to the frame.
    {"name": "fc_lstm_b3_s7", "model": "fc_lstm", "B": 3, "S": 7, "frame": [3, 4, 2], "hidden": 4,
     "mask": "binary", "seed": 41},
    # Shi et al.'s ConvLSTM encoder-forecaster, two layers and a 1x1 embedding,
    # with a mask that also mixes (0.25, 0.5) as PredRNN's mask_true may.
    {"name": "convlstm_2layers_embedding", "model": "convlstm", "B": 2, "S": 6, "frame": [5, 5, 1],
     "filters": [3, 2], "embedding": 2, "kernel": 3, "mask": "mixed", "seed": 42},
    {"name": "convlstm_1layer_rgb", "model": "convlstm", "B": 2, "S": 5, "frame": [4, 4, 3],
     "filters": [2], "embedding": 0, "kernel": 3, "mask": "binary", "seed": 43},
]


class KerasConvLSTMCell(torch.nn.Module):
    """Keras ConvLSTM2D's cell (gates i, f, c, o; sigmoid and tanh; padding
    same, stride 1): z = conv(x, W) + conv(h, U) + b."""

    def __init__(self, cin, filters, kernel):
        super().__init__()
        self.conv_x = torch.nn.Conv2d(cin, 4 * filters, kernel, padding=kernel // 2, bias=False)
        self.conv_h = torch.nn.Conv2d(filters, 4 * filters, kernel, padding=kernel // 2, bias=False)
        self.bias = torch.nn.Parameter(0.1 * torch.randn(4 * filters))
        self.filters = filters

    def forward(self, x, h, c):
        z = self.conv_x(x) + self.conv_h(h) + self.bias.view(1, -1, 1, 1)
        i, f, g, o = torch.split(z, self.filters, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c), c


class RolloutModel(torch.nn.Module):
    def __init__(self, case):
        super().__init__()
        H, W, C = case["frame"]
        self.case = case
        if case["model"] == "fc_lstm":
            self.lstm = torch.nn.LSTM(H * W * C, case["hidden"], batch_first=True)
            self.linear = torch.nn.Linear(case["hidden"], H * W * C)
        else:
            E = case["embedding"]
            self.embedding = torch.nn.Conv2d(C, E, 1) if E else None
            first, filters = E or C, case["filters"]
            ins = [first] + filters[:-1]
            self.encoder = torch.nn.ModuleList(KerasConvLSTMCell(i, f, case["kernel"]) for i, f in zip(ins, filters))
            self.forecaster = torch.nn.ModuleList(KerasConvLSTMCell(i, f, case["kernel"]) for i, f in zip(ins, filters))
            self.head = torch.nn.Conv2d(sum(filters), C, 1)

    def zero_state(self, B):
        H, W, C = self.case["frame"]
        if self.case["model"] == "fc_lstm":
            return None
        return [(torch.zeros(B, f, H, W), torch.zeros(B, f, H, W)) for f in self.case["filters"]]

    def step(self, frame, state):
        """frame (B, H, W, C) -> the next frame's prediction (B, H, W, C) and the state."""
        B = frame.shape[0]
        if self.case["model"] == "fc_lstm":
            out, state = self.lstm(frame.reshape(B, 1, -1), state)
            return torch.sigmoid(self.linear(out[:, 0])).reshape(frame.shape), state
        x = frame.permute(0, 3, 1, 2)
        if self.embedding is not None:
            x = self.embedding(x)
        encoded = []
        for cell, (h, c) in zip(self.encoder, state):
            h, c = cell(x, h, c)
            encoded.append((h, c))
            x = h
        x, outputs = torch.zeros_like(frame.permute(0, 3, 1, 2)[:, :1]).expand(-1, self.encoder[0].conv_x.in_channels, -1, -1), []
        for cell, (h, c) in zip(self.forecaster, encoded):
            h, _ = cell(x, h, c)
            outputs.append(h)
            x = h
        y = torch.sigmoid(self.head(torch.cat(outputs, dim=1)))
        return y.permute(0, 2, 3, 1), encoded

    def rollout(self, frames, mask):
        """frames (B, S, H, W, C), mask (B, S - 2): the S - 1 predictions, input s >= 1
        being mask * frame s + (1 - mask) * the prediction of frame s."""
        state, predictions = self.zero_state(frames.shape[0]), []
        for s in range(frames.shape[1] - 1):
            x = frames[:, 0]
            if s > 0:
                m = mask[:, s - 1].view(-1, 1, 1, 1)
                x = m * frames[:, s] + (1 - m) * predictions[-1]
            y, state = self.step(x, state)
            predictions.append(y)
        return torch.stack(predictions, dim=1)


def gen_rollout_case(case, out_dir: Path) -> Path:
    torch.manual_seed(case["seed"])
    B, S = case["B"], case["S"]
    H, W, C = case["frame"]
    model = RolloutModel(case)
    frames = torch.rand(B, S, H, W, C, requires_grad=True)
    if case["mask"] == "binary":
        mask = (torch.rand(B, S - 2) < 0.5).float()
        mask[0, :] = 0          # one sequence wholly closed-loop
    else:
        mask = torch.tensor([0.0, 1.0, 0.25, 0.5] * S)[: B * (S - 2)].reshape(B, S - 2)
    predictions = model.rollout(frames, mask)
    g = torch.randn_like(predictions)
    (predictions * g).sum().backward()

    tensors = {"frames": f32(frames), "feeds_truth": f32(mask), "predictions": f32(predictions),
               "grad_output": f32(g), "grad.frames": f32(frames.grad)}
    for name, p in model.named_parameters():
        tensors[name] = f32(p)
        tensors[f"grad.{name}"] = f32(p.grad)
    meta = base_metadata("torch_rollout", case["seed"])
    meta.update({"model": json.dumps(case["model"]), "frame": json.dumps(case["frame"])})
    if case["model"] == "fc_lstm":
        meta["hidden_size"] = json.dumps(case["hidden"])
    else:
        meta.update({"filters": json.dumps(case["filters"]), "embedding": json.dumps(case["embedding"]),
                     "kernel_size": json.dumps(case["kernel"])})
    path = out_dir / "torch_rollout" / f"{case['name']}.safetensors"
    write_safetensors(path, tensors, meta)
    return path


def verify_rollout_file(path: Path) -> str:
    """Re-runs the rollout from the file's weights and compares predictions and
    gradients with what the file holds."""
    meta = read_metadata(path)
    t = load_file(str(path))
    case = {"model": meta["model"], "frame": meta["frame"]}
    if case["model"] == "fc_lstm":
        case["hidden"] = meta["hidden_size"]
    else:
        case.update(filters=meta["filters"], embedding=meta["embedding"], kernel=meta["kernel_size"])
    model = RolloutModel(case)
    model.load_state_dict({name: torch.from_numpy(t[name]) for name, _ in model.named_parameters()})
    frames = torch.from_numpy(t["frames"]).requires_grad_(True)
    predictions = model.rollout(frames, torch.from_numpy(t["feeds_truth"]))
    check(np.allclose(predictions.detach().numpy(), t["predictions"], atol=1e-6), path, "predictions differ on reload")
    (predictions * torch.from_numpy(t["grad_output"])).sum().backward()
    check(np.allclose(frames.grad.numpy(), t["grad.frames"], atol=1e-6), path, "grad.frames differs on reload")
    for name, p in model.named_parameters():
        check(np.allclose(p.grad.numpy(), t[f"grad.{name}"], atol=1e-6), path, f"grad.{name} differs on reload")
    return f"{path.name}: {len(t)} tensors, predictions {tuple(t['predictions'].shape)}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent,
                    help="output folder of the fixture suites (default: the folder holding "
                         "this script)")
    ap.add_argument("--clean", action="store_true",
                    help="first delete existing *.safetensors in the selected suite "
                         "folders (other suites are untouched)")
    ap.add_argument("--suites", default="lstm,gru,torch_optim,torch_rollout",
                    help="comma-separated suites to write (default: lstm,gru,torch_optim,torch_rollout); "
                         "torch_layers writes the single file --torch-layers-file instead")
    ap.add_argument("--torch-layers-file", type=Path, default=TORCH_LAYERS_FILE,
                    help="where --suites torch_layers writes (default: "
                         "Tests/RecurrentTests/Data/torch_layers.safetensors in the package)")
    args = ap.parse_args(argv)
    out: Path = args.out

    suites = {"lstm": (LSTM_CASES, gen_lstm_case, verify_lstm_file),
              "gru": (GRU_CASES, gen_gru_case, verify_gru_file),
              "torch_optim": (OPTIM_CASES, gen_optim_case, verify_optim_file),
              "torch_rollout": (ROLLOUT_CASES, gen_rollout_case, verify_rollout_file)}
    selected = [name.strip() for name in args.suites.split(",") if name.strip()]
    unknown = [name for name in selected if name not in suites and name != "torch_layers"]
    if unknown:
        ap.error(f"unknown suites {unknown}; choose from {sorted(suites) + ['torch_layers']}")
    written = []
    for suite, (cases, gen, _) in suites.items():
        if suite not in selected:
            continue
        d = out / suite
        d.mkdir(parents=True, exist_ok=True)
        if args.clean:
            for old in d.glob("*.safetensors"):
                old.unlink()
        names = [c["name"] for c in cases]
        assert len(names) == len(set(names)), f"duplicate case names in {suite}"
        for case in cases:
            written.append((suite, gen(case, out)))
    layers_file = gen_torch_layers(args.torch_layers_file) if "torch_layers" in selected else None

    print(f"source: {SOURCE}")
    limit = 200 * 1024
    for suite, path in written:
        line = suites[suite][2](path)
        check(path.stat().st_size < limit, path, f"file is {path.stat().st_size} bytes (limit {limit})")
        print(line)

    if written:
        total = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
        print(f"{len(written)} cases written; folder {out} total {total} bytes "
              f"({total / 1024:.1f} KiB)")
        check(total < 5 * 1024 * 1024, out, "folder exceeds 5 MB")
    if layers_file is not None:
        for line in verify_torch_layers_file(layers_file):
            print(line)
        check(layers_file.stat().st_size < 100 * 1024, layers_file, "file exceeds 100 KB")
    return 0


if __name__ == "__main__":
    sys.exit(main())

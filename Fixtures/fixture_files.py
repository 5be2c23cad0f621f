"""File helpers shared by the fixture generators (generate_keras.py,
generate_torch.py): deterministic safetensors writing, metadata reading and
the JSON encodings of FIXTURES.md's metadata values. Imports neither
TensorFlow nor PyTorch, so both generators can use it."""

from __future__ import annotations

import json
from pathlib import Path

from safetensors.numpy import save


def jint(v):
    """Metadata value for an optional int: '5' or 'null'."""
    return json.dumps(None if v is None else int(v))


def jbool(v):
    return json.dumps(bool(v))


def jlist(v):
    """Metadata value for a tuple of ints: '[3, 3]'."""
    return json.dumps([int(e) for e in v])


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

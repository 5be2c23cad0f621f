#!/usr/bin/env python3
"""Writes the committed seed corpus of the fuzz targets, Fuzz/corpus/<target>/.

    python3 Fuzz/make_corpus.py

Seeds are small valid files and slightly broken ones, written by numpy
(NPY), by hand from the format descriptions (safetensors, PGM/PPM) or copied
from the test data (PNG: Tests/FrameSequencingTests/IO/Data, written by zlib and
libpng), plus decision bytes for the harnesses that read their input as
choices (structured PNGs, windowing). Running it again rewrites the same
bytes. The corpus libFuzzer grows goes to Fuzz/work/, never here.
"""
import io
import json
import os
import shutil
import struct

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TEST_DATA = os.path.join(ROOT, "Tests", "FrameSequencingTests", "IO", "Data")


def save(target, name, data):
    directory = os.path.join(HERE, "corpus", target)
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, name), "wb") as f:
        f.write(data)


def npy_bytes(array, version=None, fortran=False):
    buffer = io.BytesIO()
    if version is None:
        np.save(buffer, np.asfortranarray(array) if fortran else array)
    else:
        np.lib.format.write_array(buffer, array, version=version)
    return buffer.getvalue()


def npy_seeds():
    rng = np.random.default_rng(7)
    save("npy", "f4_2x3.npy", npy_bytes(np.arange(6, dtype="<f4").reshape(2, 3)))
    save("npy", "f8_4.npy", npy_bytes(rng.standard_normal(4)))
    save("npy", "i8_2x2x2.npy", npy_bytes(np.arange(-4, 4, dtype="<i8").reshape(2, 2, 2)))
    save("npy", "u1_3x4.npy", npy_bytes(np.arange(12, dtype="u1").reshape(3, 4)))
    save("npy", "scalar_f4.npy", npy_bytes(np.array(1.5, dtype="<f4")))
    save("npy", "empty_0x3.npy", npy_bytes(np.zeros((0, 3), dtype="<f4")))
    save("npy", "v2_f4_3.npy", npy_bytes(np.ones(3, dtype="<f4"), version=(2, 0)))
    save("npy", "v3_u1_5.npy", npy_bytes(np.arange(5, dtype="u1"), version=(3, 0)))
    # Refused on purpose: big-endian, Fortran order, another dtype.
    save("npy", "big_endian_f4.npy", npy_bytes(np.arange(3, dtype=">f4")))
    save("npy", "fortran_2x3.npy", npy_bytes(np.arange(6, dtype="<f4").reshape(2, 3), fortran=True))
    save("npy", "i2_4.npy", npy_bytes(np.arange(4, dtype="<i2")))
    good = npy_bytes(np.arange(6, dtype="<f4").reshape(2, 3))
    save("npy", "truncated.npy", good[:-5])
    save("npy", "trailing.npy", good + b"\0\0\0\0")
    header = b"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'extra': 1, }"
    save("npy", "extra_key.npy", b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header) + 1) + header + b"\n"
         + good[-24:])


def safetensors_bytes(tensors, metadata=None):
    header, offset, data = {}, 0, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        data += raw
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


def safetensors_seeds():
    f32 = np.arange(6, dtype="<f4").tobytes()
    i64 = np.arange(4, dtype="<i8").tobytes()
    save("safetensors", "two_tensors.safetensors",
         safetensors_bytes([("kernel", "F32", [2, 3], f32), ("steps", "I64", [4], i64)], {"seed": "7"}))
    save("safetensors", "f64_u8.safetensors",
         safetensors_bytes([("a", "F64", [2], np.ones(2, "<f8").tobytes()), ("b", "U8", [3, 1], b"\1\2\3")]))
    save("safetensors", "scalar_and_empty.safetensors",
         safetensors_bytes([("s", "F32", [], f32[:4]), ("e", "F32", [0, 5], b"")]))
    save("safetensors", "unsupported_f16.safetensors", safetensors_bytes([("h", "F16", [2], b"\0\x3c\0\x40")]))
    save("safetensors", "escaped_name.safetensors",
         safetensors_bytes([("la\u00e9\\\"yer", "F32", [1], f32[:4])], {"note": "a\nb"}))
    good = safetensors_bytes([("x", "F32", [3], f32[:12])])
    save("safetensors", "truncated.safetensors", good[:-3])
    text = b'{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"y":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}'
    save("safetensors", "overlap.safetensors", struct.pack("<Q", len(text)) + text + f32[:8])


def png_seeds():
    names = ["grey8_1x1", "grey1", "grey4", "grey16", "rgb8_1x9", "rgb16", "rgba8", "greyalpha8", "palette1",
             "palette8", "adam7_grey2", "adam7_rgb8", "adam7_palette4", "grey8_filter4", "grey8_fixed_codes",
             "libpng_rgb", "rgb8_stored", "multi_idat"]
    for name in names:
        shutil.copyfile(os.path.join(TEST_DATA, name + ".png"), os.path.join(HERE, "corpus", "png", name + ".png"))
    with open(os.path.join(TEST_DATA, "palette8.png"), "rb") as f:
        palette = f.read()
    save("png", "truncated_palette8.png", palette[:-20])
    # Structured inputs (see Fuzz/Harness/png.swift): mode, round trip, colour
    # type, depth choice, depth, width, height, interlace, palette size, extra
    # PLTE (no byte for palette images), size error, IDAT chunks, Deflater, then
    # scanline bytes.
    save("png", "built_rgb8_adam7", bytes([0, 7, 1, 1, 0, 6, 5, 1, 0, 1, 0, 2, 0]) + bytes(range(0, 250, 3)))
    save("png", "built_palette2", bytes([1, 0, 2, 1, 1, 9, 3, 0, 3, 0, 0, 0, 7]) + bytes([0, 0x1B, 1, 0xE4, 4, 0x55] * 8))
    save("png", "built_grey16_filters", bytes([2, 7, 0, 1, 4, 3, 4, 0, 0, 1, 0, 0, 0]) + bytes([1, 2, 3, 4, 9] * 12))


def pnm_seeds():
    save("pnm", "p2_3x2.pgm", b"P2\n# a comment\n3 2\n255\n0 128 255\n10 20 30\n")
    save("pnm", "p3_2x1.ppm", b"P3 2 1 65535\n65535 0 0  0 32768 65535\n")
    save("pnm", "p5_4x2.pgm", b"P5\n4 2\n255\n" + bytes(range(0, 256, 32)))
    save("pnm", "p5_16bit.pgm", b"P5 2 2 1000\n" + b"".join(struct.pack(">H", v) for v in (0, 250, 500, 1000)))
    save("pnm", "p6_2x2.ppm", b"P6\n2 2\n255\n" + bytes(range(12)))
    save("pnm", "p6_maxval15.ppm", b"P6 1 2 15\n" + bytes([0, 7, 15, 15, 1, 2]))
    save("pnm", "p5_truncated.pgm", b"P5\n4 4\n255\n" + bytes(10))
    save("pnm", "p2_above_maxval.pgm", b"P2 2 1 7 3 8\n")
    save("pnm", "p4_bitmap.pbm", b"P4\n8 1\n\xaa")
    save("pnm", "p7_pam.pam", b"P7\nWIDTH 1\nHEIGHT 1\nDEPTH 1\nMAXVAL 255\nTUPLTYPE GRAYSCALE\nENDHDR\n\0")


def windows_seeds():
    # Decisions read by Fuzz/Harness/windows.swift; a parameter byte below 224
    # is (byte % 63) - 2, so 12 means 10, 3 means 1, 224 and up are edge values.
    # Part 0, windows: height, width (index into 1, 2, 3, 1, 2, 3, 1, 8), channels, frames, bytes?, sub-range?, target
    # kind, [target parameter], short policy, length, construction, [stride, rate],
    # start?, [start], end?, [end], layout, batch size, seed?, [seed], keep short, subset?
    save("windows", "keras_10_frames", bytes([0, 0, 0, 0, 9, 0, 1, 0, 1, 5, 2, 4, 3, 0, 0, 0, 4, 0, 1, 3]))
    save("windows", "frame_after_stride2", bytes([0, 1, 1, 2, 20, 0, 1, 2, 3, 1, 6, 2, 4, 5, 0, 0, 1, 5, 1, 1, 7, 1, 0]))
    save("windows", "next_frames_start_end", bytes([0, 0, 2, 0, 30, 1, 1, 3, 4, 1, 5, 3, 5, 4, 1, 4, 1, 27, 2, 2, 0, 1, 1]))
    save("windows", "shifted_time_major", bytes([0, 2, 0, 0, 12, 0, 1, 4, 1, 6, 4, 3, 3, 0, 0, 1, 10, 0, 1]))
    save("windows", "pad_and_mask_53", bytes([0, 0, 0, 0, 52, 0, 1, 0, 0, 9, 12, 1, 0, 0, 2, 11, 1, 42, 1, 0]))
    save("windows", "overlapping_offset", bytes([0, 0, 1, 1, 40, 1, 0, 1, 12, 1, 12, 0, 7, 0, 0, 0, 8, 0, 0, 1, 4, 9]))
    # 8x8x3 frames, 25 windows of 24: 115,200 values, a fill split over the worker pool.
    save("windows", "parallel_fill_8x8x3", bytes([0, 7, 7, 2, 47, 0, 1, 0, 1, 26, 2, 3, 3, 0, 0, 0, 62, 0, 1, 1]))
    save("windows", "edge_values", bytes([0, 0, 0, 0, 20, 0, 1, 2, 227, 1, 228, 2, 226, 225, 1, 229, 1, 230, 0, 231]))
    # Part 1, padding: count, inner rank, inner sizes, (steps, kind) per sequence,
    # length kind, [fixed length], padding, truncating, value, batch size, seed?
    save("windows", "pad_sequences_fixed", bytes([1, 3, 1, 2, 5, 3, 0, 3, 7, 3, 2, 3, 8, 0, 1, 0, 40, 4, 0]))
    save("windows", "pad_sequences_empty", bytes([1, 4, 0, 0, 3, 6, 3, 0, 3, 1, 3, 0, 1, 1, 2, 2, 1, 1, 5]))
    # Part 2, streaming: height, width, channels, length, rate, appends, (kind, spatial?) per append.
    save("windows", "rolling_3_rate_2", bytes([2, 1, 1, 0, 5, 4, 12] + [11, 0, 5, 1, 8, 0, 2, 0, 1, 1, 12, 0] * 2))
    save("windows", "rolling_huge", bytes([2, 0, 0, 0, 231, 3, 3, 11, 0]))


if __name__ == "__main__":
    shutil.rmtree(os.path.join(HERE, "corpus"), ignore_errors=True)
    os.makedirs(os.path.join(HERE, "corpus", "png"))
    npy_seeds()
    safetensors_seeds()
    png_seeds()
    pnm_seeds()
    windows_seeds()

#!/usr/bin/env python3
"""Writes the reference PNG files and zlib streams the image tests decode.

    python3 Tests/FrameSequencingTests/IO/Data/make_pngs.py

Everything is seeded, so running it again rewrites the same bytes. The PNG
files are assembled here from the specification (chunks, CRCs, the five
filters, Adam7 passes, every colour type and bit depth), while the compression
is the real zlib (Python's `zlib` module, levels 0 to 9 and its strategies),
so the Swift inflater is tested against the reference deflate implementation.
When TensorFlow is importable (the /tmp/ref environment), a few files are also
written by libpng through `tf.io.encode_png`; without it those files are kept.

Each `NAME.png` has `NAME.npy` beside it: the pixels the Swift reader must
return, uint8 of shape (height, width, channels), channels 1 (grey, grey+alpha)
or 3 (RGB, RGBA, palette), alpha dropped, palettes expanded, 1/2/4-bit grey
scaled by 255/(2^depth - 1) and 16-bit samples rounded: (v * 255 + 32767) // 65535.
Each `zlib_*.zlib` stream decompresses to the `.bin` file its name starts with
(`zlib_window.zlib` excepted: the test checks its structure).

    /tmp/ref/bin/python make_pngs.py --check DIR

decodes every DIR/NAME.png with libpng (TensorFlow) and compares it with
DIR/NAME.npy: the cross-check of PNGs written by the Swift encoder.
"""
import os
import random
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def save(name, data):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)


def write_npy(name, pixels, height, width, channels):
    """A version 1.0 .npy file of uint8 pixels (a flat list), as numpy writes it."""
    header = "{'descr': '|u1', 'fortran_order': False, 'shape': (%d, %d, %d), }" % (height, width, channels)
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    save(name, b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + bytes(pixels))


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def pack_row(samples, depth):
    """Samples of one scanline as bytes: packed MSB first below 8 bits, big-endian at 16."""
    if depth == 8:
        return bytes(samples)
    if depth == 16:
        return b"".join(struct.pack(">H", s) for s in samples)
    out, acc, bits = bytearray(), 0, 0
    for s in samples:
        acc, bits = acc << depth | s, bits + depth
        if bits == 8:
            out.append(acc)
            acc, bits = 0, 0
    if bits:
        out.append(acc << (8 - bits))
    return bytes(out)


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)


def filter_row(kind, row, prior, bpp):
    out = bytearray()
    for i, x in enumerate(row):
        a = row[i - bpp] if i >= bpp else 0
        b = prior[i] if prior is not None else 0
        c = prior[i - bpp] if prior is not None and i >= bpp else 0
        predicted = [0, a, b, (a + b) // 2, paeth(a, b, c)][kind]
        out.append((x - predicted) & 0xFF)
    return bytes([kind]) + bytes(out)


def png(image, color_type, depth, filters, level=6, interlace=False, palette=None, extra_before=(),
        extra_after=(), idat_size=None, strategy=zlib.Z_DEFAULT_STRATEGY):
    """PNG bytes of `image` (rows of pixels, each pixel a tuple of samples).

    `filters(pass_index, row_index)` picks each scanline's filter type."""
    height, width = len(image), len(image[0])
    bpp = max(1, CHANNELS[color_type] * depth // 8)
    passes = ADAM7 if interlace else [(0, 0, 1, 1)]
    raw = bytearray()
    for p, (x0, y0, dx, dy) in enumerate(passes):
        prior = None
        for r, y in enumerate(range(y0, height, dy)):
            samples = [s for x in range(x0, width, dx) for s in image[y][x]]
            if not samples:
                continue
            row = pack_row(samples, depth)
            raw += filter_row(filters(p, r), row, prior, bpp)
            prior = row
    compressor = zlib.compressobj(level, zlib.DEFLATED, 15, 9, strategy)
    stream = compressor.compress(bytes(raw)) + compressor.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, depth, color_type, 0, 0, 1 if interlace else 0)
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + b"".join(chunk(k, d) for k, d in extra_before)
    if palette is not None:
        out += chunk(b"PLTE", bytes(v for entry in palette for v in entry))
    step = idat_size or len(stream)
    out += b"".join(chunk(b"IDAT", stream[i:i + step]) for i in range(0, len(stream), step))
    out += b"".join(chunk(k, d) for k, d in extra_after)
    return out + chunk(b"IEND", b"")


def expected(image, color_type, depth, palette=None):
    """The 8-bit pixels the reader must return, and their channel count."""
    flat = []
    for row in image:
        for pixel in row:
            if color_type == 3:
                flat += palette[pixel[0]]
            else:
                colour = pixel[:1] if color_type in (0, 4) else pixel[:3]
                maximum = (1 << depth) - 1
                flat += [(v * 255 + maximum // 2) // maximum for v in colour]
    return flat, (3 if color_type in (2, 3, 6) else 1)


def case(name, image, color_type, depth, palette=None, **options):
    save(name + ".png", png(image, color_type, depth, palette=palette, **options))
    flat, channels = expected(image, color_type, depth, palette)
    write_npy(name + ".npy", flat, len(image), len(image[0]), channels)


def random_image(rng, height, width, channels, maximum):
    return [[tuple(rng.randint(0, maximum) for _ in range(channels)) for _ in range(width)] for _ in range(height)]


def smooth_image(rng, height, width, channels):
    """Gradients plus a little noise: what the filters are made for."""
    return [[tuple(min(255, (x * 23 + y * 11 + c * 60 + rng.randint(0, 6)) % 256) for c in range(channels))
             for x in range(width)] for y in range(height)]


def main():
    rng = random.Random(20240607)
    cycle = lambda p, r: (p + r) % 5
    # Every filter type alone, then mixed per row, at several compression levels.
    grey = smooth_image(rng, 5, 7, 1)
    for kind in range(5):
        case("grey8_filter%d" % kind, grey, 0, 8, filters=lambda p, r, k=kind: k, level=kind + 5)
    case("rgb8_mixed", smooth_image(rng, 4, 5, 3), 2, 8, filters=cycle, level=9)
    case("rgb8_random_level1", random_image(rng, 6, 9, 3, 255), 2, 8, filters=cycle, level=1)
    case("rgb8_stored", smooth_image(rng, 10, 20, 3), 2, 8, filters=cycle, level=0)
    case("grey8_huffman_only", smooth_image(rng, 8, 8, 1), 0, 8, filters=cycle, strategy=zlib.Z_HUFFMAN_ONLY)
    case("grey8_fixed_codes", smooth_image(rng, 8, 8, 1), 0, 8, filters=cycle, strategy=zlib.Z_FIXED)
    case("grey8_1x1", [[(77,)]], 0, 8, filters=cycle)
    case("rgb8_1x9", random_image(rng, 1, 9, 3, 255), 2, 8, filters=lambda p, r: 1)
    case("rgb8_9x1", random_image(rng, 9, 1, 3, 255), 2, 8, filters=lambda p, r: 4 - r % 5)
    # Low bit depths: odd widths leave padding bits at the end of each scanline.
    case("grey1", random_image(rng, 3, 13, 1, 1), 0, 1, filters=cycle)
    case("grey2", random_image(rng, 3, 7, 1, 3), 0, 2, filters=cycle)
    case("grey4", random_image(rng, 2, 5, 1, 15), 0, 4, filters=cycle)
    case("grey16", [[(0x0000,), (0x8080,), (0x7F80,), (0xFFFF,)], [(0x0101,), (0x807F,), (0x1234,), (0xFEFF,)],
                    [(0x00FF,), (0x0080,), (0x007F,), (0xABCD,)]], 0, 16, filters=cycle)
    case("rgb16", random_image(rng, 2, 3, 3, 65535), 2, 16, filters=cycle)
    # Palettes (with a transparency chunk the reader ignores), grey+alpha and RGBA.
    palette = [tuple(rng.randint(0, 255) for _ in range(3)) for _ in range(10)]
    case("palette8", random_image(rng, 4, 6, 1, 9), 3, 8, palette=palette, filters=cycle,
         extra_before=[(b"tRNS", bytes([0, 128, 255]))])
    case("palette4", random_image(rng, 3, 5, 1, 15), 3, 4,
         palette=[tuple(rng.randint(0, 255) for _ in range(3)) for _ in range(16)], filters=cycle)
    case("palette1", random_image(rng, 2, 9, 1, 1), 3, 1, palette=[(255, 0, 0), (0, 0, 255)], filters=cycle)
    case("greyalpha8", random_image(rng, 3, 4, 2, 255), 4, 8, filters=cycle)
    case("rgba8", random_image(rng, 3, 5, 4, 255), 6, 8, filters=cycle)
    case("rgba16", random_image(rng, 2, 2, 4, 65535), 6, 16, filters=cycle)
    # Adam7: odd sizes, empty passes (3x2, 1x1) and low bit depth.
    case("adam7_rgb8", smooth_image(rng, 7, 9, 3), 2, 8, filters=cycle, interlace=True)
    case("adam7_grey2", random_image(rng, 2, 3, 1, 3), 0, 2, filters=cycle, interlace=True)
    case("adam7_1x1", [[(1, 2, 3)]], 2, 8, filters=cycle, interlace=True)
    case("adam7_palette4", random_image(rng, 10, 11, 1, 15), 3, 4,
         palette=[tuple(rng.randint(0, 255) for _ in range(3)) for _ in range(16)], filters=cycle, interlace=True)
    # Many small IDAT chunks and ancillary chunks before and after them.
    case("multi_idat", smooth_image(rng, 16, 16, 1), 0, 8, filters=cycle, idat_size=3,
         extra_before=[(b"gAMA", struct.pack(">I", 45455)), (b"tEXt", b"Comment\x00made by make_pngs.py")],
         extra_after=[(b"tIME", bytes([7, 232, 6, 7, 12, 0, 0]))])
    write_libpng_cases(rng)
    write_zlib_streams(rng)


def write_libpng_cases(rng):
    try:
        import numpy as np
        import tensorflow as tf
    except ImportError:
        print("TensorFlow not importable: libpng_*.png kept as they are")
        return
    cases = {
        "libpng_grey": np.array(smooth_image(rng, 11, 17, 1), dtype=np.uint8),
        "libpng_rgb": np.array(random_image(rng, 9, 13, 3, 255), dtype=np.uint8),
        "libpng_rgba": np.array(random_image(rng, 5, 6, 4, 255), dtype=np.uint8),
        "libpng_grey16": np.array(random_image(rng, 4, 5, 1, 65535), dtype=np.uint16),
    }
    for name, array in cases.items():
        save(name + ".png", tf.io.encode_png(array, compression=9).numpy())
        colour = array[..., :1] if array.shape[2] in (1, 2) else array[..., :3]
        if array.dtype == np.uint16:
            colour = (colour.astype(np.int64) * 255 + 32767) // 65535
        write_npy(name + ".npy", [int(v) for v in colour.reshape(-1)], array.shape[0], array.shape[1], colour.shape[2])


def write_zlib_streams(rng):
    # Skewed noise: few repeats for LZ77 but uneven byte frequencies, so zlib
    # codes it with Huffman codes (uniform random bytes would be stored at any level).
    noise = bytes(int(rng.expovariate(0.04)) % 256 for _ in range(2048))
    words = [b"frame", b"sequence", b"pixel", b"window", b"forecast", b" ", b"\n", b"0000000000"]
    repetitive = b"".join(rng.choice(words) for _ in range(3000))[:16384]
    save("zlib_noise.bin", noise)
    save("zlib_repetitive.bin", repetitive)
    for level in range(10):
        save("zlib_noise_L%d.zlib" % level, zlib.compress(noise, level))
        save("zlib_repetitive_L%d.zlib" % level, zlib.compress(repetitive, level))
    for label, strategy in [("fixed", zlib.Z_FIXED), ("huffman", zlib.Z_HUFFMAN_ONLY), ("rle", zlib.Z_RLE)]:
        compressor = zlib.compressobj(9, zlib.DEFLATED, 15, 9, strategy)
        save("zlib_repetitive_%s.zlib" % label, compressor.compress(repetitive) + compressor.flush())
    compressor = zlib.compressobj(9, zlib.DEFLATED, 9)   # a 512-byte window: CINFO 1
    save("zlib_repetitive_window512.zlib", compressor.compress(repetitive) + compressor.flush())
    # Sync and full flushes: empty stored blocks between blocks of each kind.
    compressor = zlib.compressobj(6)
    parts = [compressor.compress(repetitive[:5000]), compressor.flush(zlib.Z_SYNC_FLUSH),
             compressor.compress(repetitive[5000:11000]), compressor.flush(zlib.Z_FULL_FLUSH),
             compressor.compress(repetitive[11000:]), compressor.flush()]
    save("zlib_repetitive_flushes.zlib", b"".join(parts))
    # A match at the largest distance, 32768: 1000 random bytes, zeros, the same 1000 bytes.
    head = bytes(rng.randint(0, 255) for _ in range(1000))
    save("zlib_window.zlib", zlib.compress(head + bytes(32768 - 1000) + head, 9))


def check(directory):
    import glob
    import numpy as np
    import tensorflow as tf
    names = sorted(glob.glob(os.path.join(directory, "*.png")))
    for name in names:
        decoded = tf.io.decode_png(open(name, "rb").read()).numpy()
        expected = np.load(name[:-4] + ".npy")
        expected = expected.reshape(expected.shape[:2] + (-1,))
        assert decoded.shape == expected.shape and (decoded == expected).all(), name
    print("libpng decoded %d files as expected" % len(names))


if __name__ == "__main__":
    import sys
    if sys.argv[1:2] == ["--check"]:
        check(sys.argv[2])
    else:
        main()

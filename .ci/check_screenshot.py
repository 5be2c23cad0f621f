#!/usr/bin/env python3
"""Checks a browser's screenshot of report.html: a PNG of the size asked for
that is not blank. Standard library only (zlib decodes the image).

    python3 .ci/check_screenshot.py SHOT.png --width 1200 --height 2400

Not blank means: many distinct colours (text, tables, chart lines and the
embedded frames, not one flat colour), dark pixels (legible text), and the
blue of the first model's chart line (0, 114, 178), which only a rendered
inline SVG chart puts there. Exits non-zero with one line saying what failed.
"""
import argparse
import struct
import sys
import zlib


def read_png(path):
    """(width, height, channels, rows of bytes) of an 8-bit RGB(A)/grey PNG."""
    try:
        data = open(path, "rb").read()
    except OSError as error:
        sys.exit(f"{path}: no screenshot ({error.strerror})")
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        sys.exit(f"{path}: not a PNG file")
    position, idat, header = 8, [], None
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        body = data[position + 8:position + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        position += 12 + length
    width, height, depth, colour, _, _, interlace = header
    channels = {0: 1, 2: 3, 4: 2, 6: 4}.get(colour)
    if depth != 8 or channels is None or interlace != 0:
        sys.exit(f"{path}: bit depth {depth}, colour type {colour}, interlace {interlace}: not an 8-bit plain PNG")
    raw = zlib.decompress(b"".join(idat))
    stride = width * channels
    rows, previous = [], bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, row = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        if kind == 1:      # Sub
            for i in range(channels, stride):
                row[i] = (row[i] + row[i - channels]) & 0xFF
        elif kind == 2:    # Up
            row = bytearray((a + b) & 0xFF for a, b in zip(row, previous))
        elif kind == 3:    # Average
            for i in range(stride):
                left = row[i - channels] if i >= channels else 0
                row[i] = (row[i] + ((left + previous[i]) >> 1)) & 0xFF
        elif kind == 4:    # Paeth
            for i in range(stride):
                a = row[i - channels] if i >= channels else 0
                b, c = previous[i], previous[i - channels] if i >= channels else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                row[i] = (row[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        rows.append(bytes(row))
        previous = row
    return width, height, channels, rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("png")
    parser.add_argument("--width", type=int, required=True)
    parser.add_argument("--height", type=int)
    arguments = parser.parse_args()
    width, height, channels, rows = read_png(arguments.png)
    if width != arguments.width or (arguments.height and height != arguments.height):
        sys.exit(f"{arguments.png}: {width}x{height}, expected {arguments.width}x{arguments.height or height}")
    colours, dark, blue = set(), 0, 0
    for row in rows:
        for x in range(0, len(row), channels):
            pixel = row[x:x + min(channels, 3)]
            colours.add(pixel)
            if sum(pixel) < 3 * 96:
                dark += 1
            if abs(pixel[0] - 0) + abs(pixel[1] - 114) + abs(pixel[2] - 178) < 24 if channels >= 3 else False:
                blue += 1
    total = width * height
    print(f"{arguments.png}: {width}x{height}, {len(colours)} colours, {100 * dark / total:.2f}% dark, "
          f"{blue} pixels of the chart blue")
    if len(colours) < 32:
        sys.exit(f"{arguments.png}: only {len(colours)} colours: the page looks blank")
    if dark < total // 500:
        sys.exit(f"{arguments.png}: {dark} dark pixels: no legible text")
    if blue < 50:
        sys.exit(f"{arguments.png}: the charts' first line colour is missing: no SVG chart was drawn")


if __name__ == "__main__":
    main()

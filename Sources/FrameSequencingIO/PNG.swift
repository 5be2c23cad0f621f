import FrameSequencingCore

/// Reading and writing PNG images, with no dependency: inflate, deflate, CRC-32
/// and Adler-32 are part of this module.
///
/// **Reading** accepts every standard PNG image and returns 8-bit grey (1
/// channel) or RGB (3 channels):
/// - grey (colour type 0) at 1, 2, 4, 8 or 16 bits, scaled to 0...255 (1, 2 and
///   4 bits exactly: 0b11 of 2 bits is 255);
/// - RGB (2) at 8 or 16 bits;
/// - palette (3) at 1, 2, 4 or 8 bits, expanded to RGB (a `tRNS` transparency
///   chunk is ignored);
/// - grey+alpha (4) and RGBA (6) at 8 or 16 bits, with the alpha channel
///   dropped: colour is kept as stored, not blended with any background;
/// - 16-bit samples become `round(v * 255 / 65535)`;
/// - non-interlaced and Adam7-interlaced images, all five filter types.
///
/// Every chunk's CRC-32 and the zlib stream's Adler-32 are checked, ancillary
/// chunks (text, gamma, colour profiles, animation control) are skipped, and
/// the decompressed size must equal what the header declares, exactly.
///
/// **Writing** stores grey or RGB 8-bit images, non-interlaced, each row with the
/// filter that minimizes the sum of absolute residues, compressed with LZ77 and
/// dynamic or fixed Huffman codes (see ``encode(_:)``).
///
/// ```swift
/// let image = try ByteImage(shape: FrameShape(height: 2, width: 2, channels: 3), pixels: Array(0 ..< 12))
/// try PNG.write(image, to: "frame.png")
/// let back = try PNG.read(contentsOf: "frame.png")   // == image
/// ```
public enum PNG {
    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
    /// The most bytes DEFLATE can expand one compressed byte into: two 1-bit
    /// codes (a length of 258 and its distance) per 258 bytes.
    static let maximumExpansion = 1032
    /// The largest IDAT chunk written; big images are split into several.
    static let maximumChunkBytes = 1 << 20

    /// Reads the PNG file at `path` (see ``decode(_:name:limits:)``).
    ///
    /// Throws `exceedsMemoryLimit` when the file itself, or the memory decoding
    /// it takes, is larger than `limits` allows (both checked before
    /// allocating), `fileSystem` when it cannot be opened or read or is not a
    /// regular file, and everything ``decode(_:name:limits:)`` throws.
    public static func read(contentsOf path: String, limits: FileReadLimits = .default) throws -> ByteImage {
        try decode(try ReadableFile.contents(of: path, limits: limits), name: path, limits: limits)
    }

    /// Decodes PNG file bytes into a (height, width, 1 or 3) image; `name` labels errors.
    ///
    /// The header is checked before anything is allocated for the pixels: the
    /// scanline data it declares must fit in what the compressed data can hold
    /// (DEFLATE expands at most 1032-fold, so a 100-byte file claiming 2^31 x
    /// 2^31 pixels is refused as `malformedFile`) and, with the decoded pixels,
    /// within `limits` (`exceedsMemoryLimit`).
    ///
    /// Throws `truncatedFile` when the bytes end inside a chunk or before the
    /// `IEND` chunk; `malformedFile` for a missing signature, a bad CRC, chunks
    /// out of order (IHDR not first, PLTE after IDAT, IDAT chunks not
    /// consecutive, nothing after IEND), invalid header fields (zero size, a bit
    /// depth the colour type does not allow), a missing or oversized palette, a
    /// corrupt zlib stream, a decompressed size that differs
    /// from the declared one, a filter type above 4 or a palette index past the
    /// palette; `unsupportedFormat` for an unknown critical chunk; `sizeOverflow`
    /// when the declared size does not fit in `Int`.
    public static func decode(_ bytes: [UInt8], name: String = "<memory>", limits: FileReadLimits = .default) throws -> ByteImage {
        let chunks = try PNGChunks(parsing: bytes, name: name)
        let header = chunks.header
        let shape = try FrameShape(height: header.height, width: header.width, channels: header.outputChannels)
        let compressedCount = chunks.imageData.reduce(0) { $0 + $1.count }
        guard let filteredCount = header.filteredByteCount,
              case let (needed, overflow) = filteredCount.addingReportingOverflow(shape.featureCount + compressedCount),
              !overflow
        else { throw FrameSequencingError.sizeOverflow(shape: [header.height, header.width, header.outputChannels]) }
        guard filteredCount <= compressedCount * maximumExpansion else {
            throw FrameSequencingError.malformedFile(
                path: name, reason: "its header declares \(header.width)x\(header.height) pixels, \(filteredCount) bytes "
                    + "of scanlines, but its \(compressedCount) bytes of compressed data can hold at most "
                    + "\(compressedCount * maximumExpansion) (DEFLATE expands at most \(maximumExpansion)-fold)")
        }
        try limits.check(needed, for: "Decoding the \(header.width)x\(header.height) pixels of '\(name)'")

        var compressed = [UInt8]()
        compressed.reserveCapacity(compressedCount)
        for range in chunks.imageData { compressed.append(contentsOf: bytes[range]) }
        var filtered = try Inflater.decompressZlib(compressed, outputCount: filteredCount, name: name, what: "its image data (IDAT)")
        let pixels = try PNGPixels.decode(&filtered, header: header, palette: chunks.palette, name: name)
        return try ByteImage(shape: shape, pixels: pixels)
    }

    /// The PNG file bytes of a grey (1 channel) or RGB (3 channels) image: 8-bit,
    /// non-interlaced, the signature, `IHDR`, one `IDAT` per MiB of compressed
    /// data, and `IEND`.
    ///
    /// Each row is filtered with the type (None, Sub, Up, Average or Paeth)
    /// whose residues have the smallest sum of absolute values, and the
    /// scanlines are compressed with LZ77 (32 KiB window, hash chains) and, per
    /// block, whichever of dynamic Huffman, fixed Huffman or stored is smallest.
    ///
    /// Throws `invalidArgument` for other channel counts and for sizes above
    /// 2^31 - 1, the format's limit.
    public static func encode(_ image: ByteImage) throws -> [UInt8] {
        let shape = image.shape
        guard shape.channels == 1 || shape.channels == 3 else {
            throw FrameSequencingError.invalidArgument(
                name: "PNG image channels", expected: "1 (grey) or 3 (RGB)", actual: "\(shape.channels)")
        }
        guard shape.width <= Int(Int32.max), shape.height <= Int(Int32.max) else {
            throw FrameSequencingError.invalidArgument(
                name: "PNG image size", expected: "width and height at most 2147483647", actual: "\(shape)")
        }
        var header = [UInt8]()
        appendBigEndian(UInt32(shape.width), to: &header)
        appendBigEndian(UInt32(shape.height), to: &header)
        header += [8, shape.channels == 1 ? 0 : 2, 0, 0, 0]   // depth, colour type, compression, filter, interlace

        let compressed = Deflater.compressZlib(PNGPixels.filteredScanlines(image.pixels, shape: shape))
        var bytes = signature
        appendChunk("IHDR", header[...], to: &bytes)
        var start = 0
        repeat {
            let end = min(compressed.count, start + maximumChunkBytes)
            appendChunk("IDAT", compressed[start ..< end], to: &bytes)
            start = end
        } while start < compressed.count
        appendChunk("IEND", [], to: &bytes)
        return bytes
    }

    /// Writes ``encode(_:)``'s bytes to `path` atomically: `path` holds either its
    /// previous content or the whole new file.
    ///
    /// Throws `invalidArgument` as ``encode(_:)`` does and `fileSystem` when the
    /// file cannot be written.
    public static func write(_ image: ByteImage, to path: String) throws {
        try writeAtomically(to: path, try encode(image))
    }

    /// Appends a chunk: length, type, data, CRC-32 of type and data.
    private static func appendChunk(_ type: String, _ data: ArraySlice<UInt8>, to bytes: inout [UInt8]) {
        appendBigEndian(UInt32(data.count), to: &bytes)
        let typeBytes = Array(type.utf8)
        bytes += typeBytes
        bytes += data
        var crc = CRC32()
        crc.update(with: typeBytes)
        crc.update(with: data)
        appendBigEndian(crc.value, to: &bytes)
    }
}

func appendBigEndian(_ value: UInt32, to bytes: inout [UInt8]) {
    bytes += [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
}

func readBigEndian32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
    bytes[offset ..< offset + 4].reduce(0) { $0 << 8 | UInt32($1) }
}

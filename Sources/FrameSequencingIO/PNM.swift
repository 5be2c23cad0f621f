import FrameSequencingCore

/// Reading and writing Netpbm greymaps (PGM) and pixmaps (PPM).
///
/// A file is a magic number, whitespace-separated decimal width, height and
/// maximum value (`maxval`), with `#` comments running to the end of a line
/// anywhere in that header, then the samples, row by row, channels innermost:
/// - `P5` (grey) and `P6` (RGB): binary, after exactly one whitespace byte; one
///   byte per sample when maxval is below 256, else two, big-endian;
/// - `P2` (grey) and `P3` (RGB): "plain" decimal numbers separated by whitespace.
///
/// Any maxval in 1...65535 is read; samples are scaled to 8 bits as
/// `round(v * 255 / maxval)` (maxval 255 keeps them as they are), and a sample
/// above maxval is refused. Bitmaps (`P1`, `P4`), PAM (`P7`) and PFM are refused
/// with `unsupportedFormat`; so are files holding several images (bytes after
/// the first raster are refused as `malformedFile`). Writing produces `P5` for
/// grey and `P6` for RGB images with maxval 255.
///
/// ```swift
/// let image = try ByteImage(shape: FrameShape(height: 1, width: 2, channels: 3), pixels: [255, 0, 0, 0, 0, 255])
/// try PNM.write(image, to: "frame.ppm")   // "P6\n2 1\n255\n" and 6 bytes
/// let back = try PNM.read(contentsOf: "frame.ppm")
/// ```
public enum PNM {
    /// Reads the PGM or PPM file at `path` (see ``decode(_:name:limits:)``).
    ///
    /// Throws `exceedsMemoryLimit` when the file or the decoded image is larger
    /// than `limits` allows (checked before allocating), `fileSystem` when the
    /// file cannot be opened or read, and everything ``decode(_:name:limits:)`` throws.
    public static func read(contentsOf path: String, limits: FileReadLimits = .default) throws -> ByteImage {
        try decode(try ReadableFile.contents(of: path, limits: limits), name: path, limits: limits)
    }

    /// Decodes PGM or PPM file bytes into a (height, width, 1 or 3) image; `name` labels errors.
    ///
    /// The raster size the header declares is checked against the bytes present
    /// (binary: exactly; plain: at least two bytes per sample) and `limits`
    /// before the image is allocated. Throws `truncatedFile` when the bytes end
    /// inside the header or raster; `malformedFile` for a missing magic number, a
    /// header field that is not a decimal number or is zero (maxval above
    /// 65535, width or height above 2^31 - 1), a sample above maxval, a plain
    /// sample that is not a number, and bytes after the raster;
    /// `unsupportedFormat` for the other Netpbm formats; `exceedsMemoryLimit`
    /// above `limits`; `sizeOverflow` when the size does not fit in `Int`.
    public static func decode(_ bytes: [UInt8], name: String = "<memory>", limits: FileReadLimits = .default) throws -> ByteImage {
        var reader = PNMHeaderReader(bytes: bytes, name: name)
        let (channels, isPlain) = try reader.magicNumber()
        let width = try reader.number("width", maximum: Int(Int32.max), limit: "2147483647")
        let height = try reader.number("height", maximum: Int(Int32.max), limit: "2147483647")
        let maximum = try reader.number("maxval", maximum: 65535, limit: "65535, the format's largest")
        guard let sampleCount = Shape([height, width, channels]).checkedElementCount else {
            throw FrameSequencingError.sizeOverflow(shape: [height, width, channels])
        }
        let shape = try FrameShape(height: height, width: width, channels: channels)
        let sampleBytes = maximum < 256 ? 1 : 2
        func malformed(_ reason: String) -> FrameSequencingError { .malformedFile(path: name, reason: reason) }

        var pixels: [UInt8]
        if isPlain {
            // Each sample takes a digit and a separator, except that the last needs no separator.
            let available = bytes.count - reader.position
            guard sampleCount <= (available + 1) / 2 else {
                let fits = sampleCount <= (Int.max - reader.position) / 2
                throw FrameSequencingError.truncatedFile(
                    path: name, expectedBytes: fits ? reader.position + 2 * sampleCount - 1 : Int.max, actualBytes: bytes.count)
            }
            try limits.check(sampleCount, for: "The \(width)x\(height) image of '\(name)'")
            pixels = [UInt8](repeating: 0, count: sampleCount)
            for index in 0 ..< sampleCount {
                let value = try reader.number("sample \(index)", maximum: maximum, limit: "its maxval \(maximum)", inRaster: true)
                pixels[index] = PNGPixels.scaledToByte(value, maximum: maximum)
            }
            reader.skipWhitespace(allowingComments: false)
            guard reader.position == bytes.count else {
                throw malformed("\(bytes.count - reader.position) bytes that are not samples follow sample \(sampleCount - 1)")
            }
        } else {
            try reader.rasterSeparator()
            guard case let (rasterBytes, false) = sampleCount.multipliedReportingOverflow(by: sampleBytes),
                  case let (end, false) = reader.position.addingReportingOverflow(rasterBytes)
            else { throw FrameSequencingError.sizeOverflow(shape: [height, width, channels]) }
            try requireExactSize(declaredEnd: end, fileSize: bytes.count, path: name,
                                 what: "the raster of \(width)x\(height) \(channels == 1 ? "grey" : "RGB") pixels")
            try limits.check(sampleCount, for: "The \(width)x\(height) image of '\(name)'")
            let start = reader.position
            if maximum == 255 {
                pixels = Array(bytes[start ..< end])
            } else {
                pixels = [UInt8](repeating: 0, count: sampleCount)
                for index in 0 ..< sampleCount {
                    let offset = start + index * sampleBytes
                    let value = sampleBytes == 1 ? Int(bytes[offset]) : Int(bytes[offset]) << 8 | Int(bytes[offset + 1])
                    guard value <= maximum else { throw malformed("sample \(index) is \(value), above its maxval \(maximum)") }
                    pixels[index] = PNGPixels.scaledToByte(value, maximum: maximum)
                }
            }
        }
        return try ByteImage(shape: shape, pixels: pixels)
    }

    /// The bytes of a binary PGM (`P5`, one channel) or PPM (`P6`, three
    /// channels) file with maxval 255: `"P5\n<width> <height>\n255\n"` and the pixels.
    ///
    /// Throws `invalidArgument` for other channel counts.
    public static func encode(_ image: ByteImage) throws -> [UInt8] {
        let shape = image.shape
        guard shape.channels == 1 || shape.channels == 3 else {
            throw FrameSequencingError.invalidArgument(
                name: "PGM/PPM image channels", expected: "1 (grey, PGM) or 3 (RGB, PPM)", actual: "\(shape.channels)")
        }
        return Array("\(shape.channels == 1 ? "P5" : "P6")\n\(shape.width) \(shape.height)\n255\n".utf8) + image.pixels
    }

    /// Writes ``encode(_:)``'s bytes to `path` atomically. Throws `invalidArgument`
    /// as ``encode(_:)`` does and `fileSystem` when the file cannot be written.
    public static func write(_ image: ByteImage, to path: String) throws {
        try writeAtomically(to: path, try encode(image))
    }
}

/// Reads the magic number and the decimal fields of a Netpbm header, and the
/// samples of a plain (ASCII) raster, keeping the byte position.
struct PNMHeaderReader {
    let bytes: [UInt8]
    let name: String
    private(set) var position = 0

    init(bytes: [UInt8], name: String) {
        self.bytes = bytes
        self.name = name
    }

    private func malformed(_ reason: String) -> FrameSequencingError { .malformedFile(path: name, reason: reason) }

    /// The end of the bytes came before the header or raster did.
    private func truncated() -> FrameSequencingError {
        .truncatedFile(path: name, expectedBytes: bytes.count + 1, actualBytes: bytes.count)
    }

    /// The channel count and plainness of `P2`, `P3`, `P5` or `P6`.
    mutating func magicNumber() throws -> (channels: Int, isPlain: Bool) {
        let expected = "P2 or P5 (greymap) or P3 or P6 (pixmap)"
        guard bytes.first == UInt8(ascii: "P") || bytes.isEmpty else {
            throw malformed("it does not start with a Netpbm magic number (\(expected))")
        }
        guard bytes.count >= 3 else { throw truncated() }
        let kind = Character(Unicode.Scalar(bytes[1]))
        let result: (Int, Bool)
        switch kind {
        case "2": result = (1, true)
        case "3": result = (3, true)
        case "5": result = (1, false)
        case "6": result = (3, false)
        case "1", "4": throw FrameSequencingError.unsupportedFormat(path: name, expected: expected, actual: "P\(kind), a bitmap")
        case "7": throw FrameSequencingError.unsupportedFormat(path: name, expected: expected, actual: "P7, a PAM file")
        case "f", "F": throw FrameSequencingError.unsupportedFormat(path: name, expected: expected, actual: "P\(kind), a PFM float image")
        default: throw malformed("it does not start with a Netpbm magic number (\(expected))")
        }
        guard PNMHeaderReader.isWhitespace(bytes[2]) || bytes[2] == UInt8(ascii: "#") else {
            throw malformed("its magic number P\(kind) is not followed by whitespace")
        }
        position = 2
        return result
    }

    /// The next decimal number, after whitespace (and `#` comments outside the
    /// raster). Throws `malformedFile` when it is not a number, is 0 in the
    /// header, or is above `maximum` (described by `limit`).
    mutating func number(_ label: String, maximum: Int, limit: String, inRaster: Bool = false) throws -> Int {
        skipWhitespace(allowingComments: !inRaster)
        guard position < bytes.count else { throw truncated() }
        guard PNMHeaderReader.isDigit(bytes[position]) else {
            throw malformed("its \(label) is not a decimal number (byte \(bytes[position]) at offset \(position))")
        }
        var value = 0
        while position < bytes.count && PNMHeaderReader.isDigit(bytes[position]) {
            value = value * 10 + Int(bytes[position] - UInt8(ascii: "0"))
            guard value <= maximum else { throw malformed("its \(label) is above \(limit)") }
            position += 1
        }
        guard inRaster || value > 0 else { throw malformed("its \(label) is 0") }
        return value
    }

    /// Skips the one whitespace byte between a binary header and its raster.
    mutating func rasterSeparator() throws {
        guard position < bytes.count else { throw truncated() }
        guard PNMHeaderReader.isWhitespace(bytes[position]) else {
            throw malformed("its maxval is followed by byte \(bytes[position]), not the one whitespace byte before the raster")
        }
        position += 1
    }

    mutating func skipWhitespace(allowingComments: Bool) {
        while position < bytes.count {
            if PNMHeaderReader.isWhitespace(bytes[position]) {
                position += 1
            } else if allowingComments && bytes[position] == UInt8(ascii: "#") {
                while position < bytes.count && bytes[position] != 0x0A && bytes[position] != 0x0D { position += 1 }
            } else {
                return
            }
        }
    }

    /// Space, tab, line feed, vertical tab, form feed, carriage return.
    static func isWhitespace(_ byte: UInt8) -> Bool { byte == 0x20 || (0x09 ... 0x0D).contains(byte) }

    static func isDigit(_ byte: UInt8) -> Bool { (0x30 ... 0x39).contains(byte) }
}

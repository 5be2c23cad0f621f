// Fuzz target: PNG.decode.
//
// An input starting with 0x89 (the first signature byte) is a PNG file: it is
// decoded as it is, then again with every chunk's CRC recomputed, so that
// mutations reach the header, palette and zlib layers behind the CRC check.
// Any other input describes an image to build: IHDR fields, a palette, and
// scanline bytes (filter types included) in stored DEFLATE blocks, or now and
// then compressed with this module's own Deflater (slower under ASan), so
// arbitrary scanlines pass the Adler-32 check and reach the unfiltering, Adam7
// and sample conversion code.
//
// Every decode must give an image or a FrameSequencingError; an image must have
// the declared size, and one in eight (chosen by the input) must survive
// PNG.encode and decode unchanged: the encoder's match finder clears large
// tables per call, which would otherwise cost most of the time.

@testable import FrameSequencingCore
@testable import FrameSequencingIO

let fuzzLimits = FileReadLimits(maximumBytes: 1 << 28)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPNG(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let bytes = fuzzBytes(data, count)
    if bytes.first == 0x89 {
        decodeAndCheck(bytes, declared: nil, roundTrip: bytes.count % 8 == 0)
        let fixed = fixingCRCs(bytes)
        if fixed != bytes { decodeAndCheck(fixed, declared: nil, roundTrip: bytes.count % 8 == 0) }
    } else {
        bytes.withUnsafeBytes { raw in
            var input = FuzzInput(raw)
            _ = input.byte()   // the mode byte
            let roundTrip = input.int(in: 0 ... 7) == 7
            let (file, shape) = builtPNG(&input)
            decodeAndCheck(file, declared: shape, roundTrip: roundTrip)
        }
    }
    return 0
}

func decodeAndCheck(_ bytes: [UInt8], declared: FrameShape?, roundTrip: Bool) {
    guard let image = refusingTyped("PNG.decode", { try PNG.decode(bytes, name: "fuzz.png", limits: fuzzLimits) })
    else { return }
    let shape = image.shape
    require(shape.channels == 1 || shape.channels == 3, "\(shape.channels) channels")
    require(image.pixels.count == shape.featureCount, "\(image.pixels.count) pixels for \(shape)")
    if let declared { require(shape == declared, "decoded \(shape), IHDR declared \(declared)") }
    guard roundTrip else { return }
    guard let encoded = refusingTyped("PNG.encode", { try PNG.encode(image) }) else {
        fatalError("a decoded \(shape) image could not be encoded")
    }
    guard let again = refusingTyped("PNG.decode of encode", { try PNG.decode(encoded) }) else {
        fatalError("PNG.encode wrote bytes PNG.decode refuses (\(shape))")
    }
    require(again == image, "round trip changed a \(shape) image")
}

/// A chunk with a correct length and CRC.
func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
    var bytes: [UInt8] = []
    appendBigEndian(UInt32(data.count), to: &bytes)
    let body = Array(type.utf8) + data
    bytes += body
    appendBigEndian(CRC32().updated(with: body).value, to: &bytes)
    return bytes
}

/// `bytes` with the CRC of every complete chunk recomputed.
func fixingCRCs(_ bytes: [UInt8]) -> [UInt8] {
    var bytes = bytes
    var offset = 8
    while bytes.count - offset >= 12 {
        let length = Int(readBigEndian32(bytes, at: offset))
        guard length <= bytes.count - offset - 12 else { break }
        let crc = CRC32().updated(with: Array(bytes[offset + 4 ..< offset + 8 + length])).value
        var field: [UInt8] = []
        appendBigEndian(crc, to: &field)
        bytes.replaceSubrange(offset + 8 + length ..< offset + 12 + length, with: field)
        offset += 12 + length
    }
    return bytes
}

/// A PNG file described by `input`, and the shape its IHDR declares.
func builtPNG(_ input: inout FuzzInput) -> ([UInt8], FrameShape?) {
    let colorType = [0, 2, 3, 4, 6][input.int(in: 0 ... 4)]
    // Mostly a depth the colour type allows; sometimes any, to hit the IHDR check.
    let allowed = PNGHeader.allowedBitDepths[colorType]!
    let bitDepth = input.int(in: 0 ... 15) == 0 ? [1, 2, 4, 8, 16, 3, 0][input.int(in: 0 ... 6)]
                                                 : allowed[input.int(in: 0 ... allowed.count - 1)]
    let width = input.int(in: 1 ... 40), height = input.int(in: 1 ... 40)
    let interlaced = input.bool()
    let paletteEntries = input.int(in: 0 ... 255) + 1
    let hasPalette = colorType == 3 || input.int(in: 0 ... 7) == 0
    let sizeError = [0, 0, 0, 0, 0, 0, -1, 1][input.int(in: 0 ... 7)]
    let idatChunks = input.int(in: 1 ... 3)
    let deflated = input.int(in: 0 ... 7) == 7   // past the input's end: stored
    let scanlines = input.rest()

    let header = PNGHeader(width: width, height: height, bitDepth: bitDepth, colorType: colorType, interlaced: interlaced)
    var ihdr: [UInt8] = []
    appendBigEndian(UInt32(width), to: &ihdr)
    appendBigEndian(UInt32(height), to: &ihdr)
    ihdr += [UInt8(bitDepth), UInt8(colorType), 0, 0, interlaced ? 1 : 0]
    var file = PNG.signature + chunk("IHDR", ihdr)
    if hasPalette {
        // Palette colours from the scanline bytes, so indices and colours vary together.
        file += chunk("PLTE", (0 ..< paletteEntries * 3).map { scanlines.isEmpty ? UInt8($0 & 0xFF) : scanlines[$0 % scanlines.count] })
    }
    // A depth the colour type does not allow has no size to aim for; any data will do.
    let exact = allowed.contains(bitDepth) ? header.filteredByteCount ?? 0 : scanlines.count
    let size = max(0, exact + sizeError)
    let filtered = (0 ..< size).map { scanlines.isEmpty ? 0 : scanlines[$0 % scanlines.count] }
    let compressed = deflated ? Deflater.compressZlib(filtered) : storedZlib(filtered)
    for part in 0 ..< idatChunks {
        file += chunk("IDAT", Array(compressed[compressed.count * part / idatChunks ..< compressed.count * (part + 1) / idatChunks]))
    }
    file += chunk("IEND", [])
    let outputChannels = colorType == 0 || colorType == 4 ? 1 : 3
    return (file, try? FrameShape(height: height, width: width, channels: outputChannels))
}

/// `data` as a zlib stream of stored (uncompressed) DEFLATE blocks.
func storedZlib(_ data: [UInt8]) -> [UInt8] {
    var stream: [UInt8] = [0x78, 0x01]
    var start = 0
    repeat {
        let end = min(data.count, start + 65535)
        let length = UInt16(end - start)
        stream += [end == data.count ? 1 : 0, UInt8(length & 0xFF), UInt8(length >> 8), UInt8(~length & 0xFF), UInt8(~length >> 8)]
        stream += data[start ..< end]
        start = end
    } while start < data.count
    appendBigEndian(Adler32().updated(with: data).value, to: &stream)
    return stream
}

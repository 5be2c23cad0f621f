import FrameSequencing
import TestSupport
import XCTest
@testable import FrameSequencingIO

/// Hostile PNG files: truncated, corrupted, lying about their size, breaking the
/// chunk rules. Each must throw a typed error naming the fault, and sizes must
/// be refused before anything is allocated for them.
extension ImageIOTests {
    /// A chunk with a correct CRC.
    func pngChunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        var bytes: [UInt8] = []
        appendBigEndian(UInt32(data.count), to: &bytes)
        let body = Array(type.utf8) + data
        appendBigEndian(CRC32().updated(with: body).value, to: &bytes)
        return Array(bytes[0 ..< 4]) + body + Array(bytes[4...])
    }

    func ihdr(width: UInt32, height: UInt32, depth: UInt8 = 8, colorType: UInt8 = 0,
              compression: UInt8 = 0, filter: UInt8 = 0, interlace: UInt8 = 0) -> [UInt8] {
        var data: [UInt8] = []
        appendBigEndian(width, to: &data)
        appendBigEndian(height, to: &data)
        return pngChunk("IHDR", data + [depth, colorType, compression, filter, interlace])
    }

    /// The signature, then `chunks`, then IEND.
    func pngFile(_ chunks: [UInt8]...) -> [UInt8] {
        PNG.signature + chunks.flatMap { $0 } + pngChunk("IEND", [])
    }

    /// An IDAT chunk holding `scanlines` compressed.
    func idat(_ scanlines: [UInt8]) -> [UInt8] { pngChunk("IDAT", Deflater.compressZlib(scanlines)) }

    /// `bytes` with every complete chunk's CRC recomputed, so a corruption reaches
    /// the layers behind the CRC check.
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

    func testPNGRefusesEveryTruncation() throws {
        let files = [
            try PNG.encode(sampleImage(height: 5, width: 7, channels: 3, kind: "gradient")),
            try data("palette8.png"), try data("adam7_rgb8.png"), try data("multi_idat.png"),
        ]
        for file in files {
            XCTAssertNoThrow(try PNG.decode(file))
            for length in 0 ..< file.count {
                assertThrows(.truncated) { try PNG.decode(Array(file.prefix(length))) }
            }
        }
    }

    func testPNGRefusesBadChecksums() throws {
        let file = try PNG.encode(sampleImage(height: 4, width: 4, channels: 1, kind: "gradient"))
        var header = file
        header[16] ^= 1   // a bit of the width
        assertThrows(.malformed, "IHDR chunk at byte 8 has CRC") { try PNG.decode(header) }
        var imageData = file
        imageData[41 + 4] ^= 0x80   // a byte of the compressed data
        assertThrows(.malformed, "IDAT chunk at byte 33 has CRC") { try PNG.decode(imageData) }
        var end = file
        end[end.count - 1] ^= 1
        assertThrows(.malformed, "IEND chunk") { try PNG.decode(end) }
        // A wrong Adler-32 behind correct CRCs.
        let scanlines = [UInt8](repeating: 0, count: 5)
        var stream = Deflater.compressZlib(scanlines)
        stream[stream.count - 1] ^= 1
        assertThrows(.malformed, "Adler-32") { try PNG.decode(pngFile(ihdr(width: 4, height: 1), pngChunk("IDAT", stream))) }
    }

    func testPNGRefusesLyingSizesBeforeAllocating() throws {
        // 2^31 - 1 squared pixels from 20 bytes of data: refused whatever the memory limit.
        let tiny = idat([0, 0])
        assertThrows(.malformed, "can hold at most") {
            try PNG.decode(pngFile(ihdr(width: 0x7FFF_FFFF, height: 0x7FFF_FFFF), tiny), limits: .unlimited)
        }
        // 16-bit RGBA at that size: the byte count does not fit in Int.
        assertThrows(.sizeOverflow) {
            try PNG.decode(pngFile(ihdr(width: 0x7FFF_FFFF, height: 0x7FFF_FFFF, depth: 16, colorType: 6), tiny))
        }
        // 3000 x 3000 RGB behind 30,000 plausible bytes: the memory limit refuses it.
        let junk = pngChunk("IDAT", TestData.randomBytes(count: 30_000, seed: 6))
        assertThrows(.memoryLimit, "FileReadLimits") {
            try PNG.decode(pngFile(ihdr(width: 3000, height: 3000, colorType: 2), junk), limits: FileReadLimits(maximumBytes: 1 << 20))
        }
        // A real image: the limit counts compressed data, scanlines and pixels.
        let image = try sampleImage(height: 20, width: 30, channels: 3, kind: "gradient")
        let file = try PNG.encode(image)
        let compressed = try PNGChunks(parsing: file, name: "x").imageData.reduce(0) { $0 + $1.count }
        let needed = compressed + 20 * (1 + 90) + 1800
        XCTAssertEqual(try PNG.decode(file, limits: FileReadLimits(maximumBytes: needed)), image)
        assertThrows(.memoryLimit, "\(needed) bytes") { try PNG.decode(file, limits: FileReadLimits(maximumBytes: needed - 1)) }
        let directory = try scratchDirectory()
        try PNG.write(image, to: directory + "/x.png")
        assertThrows(.memoryLimit, "The file") {
            try PNG.read(contentsOf: directory + "/x.png", limits: FileReadLimits(maximumBytes: file.count - 1))
        }
        // The decompressed data must be exactly the declared size.
        assertThrows(.malformed, "more than the 10 bytes") { try PNG.decode(pngFile(ihdr(width: 4, height: 2), idat([UInt8](repeating: 0, count: 11)))) }
        assertThrows(.malformed, "ends after 9 bytes") { try PNG.decode(pngFile(ihdr(width: 4, height: 2), idat([UInt8](repeating: 0, count: 9)))) }
    }

    func testPNGRefusesInvalidHeaders() {
        let cases: [([UInt8], String)] = [
            (ihdr(width: 0, height: 1), "width of 0"),
            (ihdr(width: 1, height: 0), "height of 0"),
            (ihdr(width: 0x8000_0000, height: 1), "width of 2147483648"),
            (ihdr(width: 1, height: 1, colorType: 5), "colour type 5"),
            (ihdr(width: 1, height: 1, depth: 16, colorType: 3), "bit depth 16 for colour type 3"),
            (ihdr(width: 1, height: 1, depth: 3), "bit depth 3"),
            (ihdr(width: 1, height: 1, depth: 4, colorType: 2), "bit depth 4 for colour type 2"),
            (ihdr(width: 1, height: 1, compression: 1), "compression method 1"),
            (ihdr(width: 1, height: 1, filter: 1), "filter method 1"),
            (ihdr(width: 1, height: 1, interlace: 2), "interlace method 2"),
            (pngChunk("IHDR", [0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0]), "12 bytes, expected 13"),
        ]
        for (header, reason) in cases {
            assertThrows(.malformed, reason) { try PNG.decode(pngFile(header, idat([0, 0]))) }
        }
    }

    func testPNGRefusesChunksOutOfOrderAndBadPalettes() throws {
        let header = ihdr(width: 2, height: 1)
        let pixels = idat([0, 7, 9])
        let text = pngChunk("tEXt", Array("a\u{0}b".utf8))
        // An unknown ancillary chunk is skipped; the same letters as a critical chunk are refused.
        XCTAssertEqual(try PNG.decode(pngFile(header, pngChunk("zzZz", [1, 2]), pixels, text)).pixels, [7, 9])
        assertThrows(.unsupported, "critical chunk ZzZz") { try PNG.decode(pngFile(header, pngChunk("ZzZz", []), pixels)) }
        assertThrows(.malformed, "first chunk is tEXt") { try PNG.decode(pngFile(text, header, pixels)) }
        assertThrows(.malformed, "second IHDR") { try PNG.decode(pngFile(header, header, pixels)) }
        assertThrows(.malformed, "not consecutive") { try PNG.decode(pngFile(header, idat([0]), text, pngChunk("IDAT", []))) }
        assertThrows(.malformed, "no IDAT") { try PNG.decode(pngFile(header, text)) }
        assertThrows(.malformed, "3 bytes follow its IEND") { try PNG.decode(pngFile(header, pixels) + [0, 0, 0]) }
        assertThrows(.truncated) { try PNG.decode(Array(pngFile(header, pixels).dropLast(12))) }
        assertThrows(.malformed, "signature") { try PNG.decode(Array("GIF89a and more bytes".utf8)) }
        assertThrows(.malformed, "not four ASCII letters") { try PNG.decode(pngFile(header, pngChunk("ID4T", []), pixels)) }
        var huge = pngFile(header, pixels)
        huge.replaceSubrange(33 ..< 37, with: [0x80, 0, 0, 0])
        assertThrows(.malformed, "above the format's 2^31 - 1") { try PNG.decode(huge) }
        assertThrows(.malformed, "filter type 5") { try PNG.decode(pngFile(header, idat([5, 7, 9]))) }

        // Palettes: 2 bits per index, so at most 4 entries.
        let paletteHeader = ihdr(width: 3, height: 1, depth: 2, colorType: 3)
        let palette = pngChunk("PLTE", [255, 0, 0, 0, 255, 0])
        let indices = idat([0, 0b0001_0000])   // indices 0, 1, 0
        XCTAssertEqual(try PNG.decode(pngFile(paletteHeader, palette, indices)).pixels, [255, 0, 0, 0, 255, 0, 255, 0, 0])
        assertThrows(.malformed, "palette entry 2") { try PNG.decode(pngFile(paletteHeader, palette, idat([0, 0b1000_0000]))) }
        assertThrows(.malformed, "without a PLTE") { try PNG.decode(pngFile(paletteHeader, indices)) }
        assertThrows(.malformed, "after the image data") { try PNG.decode(pngFile(paletteHeader, indices, palette)) }
        assertThrows(.malformed, "1...4 entries") { try PNG.decode(pngFile(paletteHeader, pngChunk("PLTE", [UInt8](repeating: 9, count: 15)), indices)) }
        assertThrows(.malformed, "3 per entry") { try PNG.decode(pngFile(paletteHeader, pngChunk("PLTE", [1, 2, 3, 4]), indices)) }
        assertThrows(.malformed, "grey image with a PLTE") { try PNG.decode(pngFile(header, palette, pixels)) }
        // An RGB image may carry a suggested palette; it is ignored.
        XCTAssertEqual(try PNG.decode(pngFile(ihdr(width: 1, height: 1, colorType: 2), palette, idat([0, 1, 2, 3]))).pixels, [1, 2, 3])
    }

    /// Seeded corruptions of valid files, half of them with CRCs repaired so the
    /// damage reaches inflate, the filters and the palette: every outcome must be
    /// an image or a `FrameSequencingError`, never a trap or another error.
    func testPNGCorruptionFuzzOnlyThrowsTypedErrors() throws {
        var generator = SeededGenerator(seed: 11)
        let files = [
            try PNG.encode(sampleImage(height: 9, width: 11, channels: 3, kind: "gradient")),
            try data("palette4.png"), try data("adam7_palette4.png"), try data("grey2.png"), try data("rgba16.png"),
            try data("libpng_rgb.png"),
        ]
        var outcomes: [String: Int] = [:]
        for iteration in 0 ..< 600 {
            var corrupt = files[iteration % files.count]
            for _ in 0 ... generator.next(below: 4) {
                corrupt[generator.next(below: corrupt.count)] = UInt8(truncatingIfNeeded: generator.next())
            }
            if iteration % 2 == 0 { corrupt = fixingCRCs(corrupt) }
            do {
                let image = try PNG.decode(corrupt, limits: FileReadLimits(maximumBytes: 1 << 24))
                XCTAssertEqual(image.pixels.count, image.shape.featureCount)
                outcomes["decoded", default: 0] += 1
            } catch let error as FrameSequencingError {
                let reason = "\(error)"
                let kind = reason.contains("CRC") ? "crc" : reason.contains("zlib") ? "zlib" : "other"
                outcomes[kind, default: 0] += 1
            }
        }
        // The repaired half must get past the CRC check often.
        XCTAssertGreaterThan(outcomes["zlib", default: 0] + outcomes["other", default: 0] + outcomes["decoded", default: 0], 200, "\(outcomes)")
    }
}

import FrameSequencing
import TestSupport
import XCTest
@testable import FrameSequencingIO

/// Netpbm greymaps and pixmaps: round trips, every header form, hostile files.
extension ImageIOTests {
    func pnm(_ text: String, raster: [UInt8] = []) -> [UInt8] { Array(text.utf8) + raster }

    func testPNMRoundTripsGreyAndRGBImages() throws {
        let directory = try scratchDirectory()
        for (height, width) in [(1, 1), (1, 9), (9, 1), (5, 7)] {
            for channels in [1, 3] {
                let image = try sampleImage(height: height, width: width, channels: channels, kind: "random")
                let bytes = try PNM.encode(image)
                let header = "\(channels == 1 ? "P5" : "P6")\n\(width) \(height)\n255\n"
                XCTAssertEqual(bytes, Array(header.utf8) + image.pixels)
                XCTAssertEqual(try PNM.decode(bytes), image)
                let path = directory + "/\(height)x\(width).\(channels == 1 ? "pgm" : "ppm")"
                try PNM.write(image, to: path)
                XCTAssertEqual(try PNM.read(contentsOf: path), image)
            }
        }
        assertThrows(.invalidArgument, "1 (grey, PGM) or 3") { try PNM.encode(sampleImage(height: 1, width: 1, channels: 4, kind: "random")) }
    }

    func testPNMReadsPlainAndBinaryFilesWithCommentsAndAnyMaxval() throws {
        func pixels(_ bytes: [UInt8]) throws -> [UInt8] { try PNM.decode(bytes).pixels }
        // Comments anywhere in the header, any whitespace between fields.
        XCTAssertEqual(try pixels(pnm("P2\n# made by hand\n3 2 # width and height\n255\n0 1 2\n3   4\t255\n")), [0, 1, 2, 3, 4, 255])
        XCTAssertEqual(try pixels(pnm("P5#c\r\n2\t1\r255\n", raster: [9, 250])), [9, 250])
        let rgb = try PNM.decode(pnm("P3 1 2 15 0 1 2 13 14 15"))
        XCTAssertEqual(rgb.shape, try FrameShape(height: 2, width: 1, channels: 3))
        XCTAssertEqual(rgb.pixels, [0, 17, 34, 221, 238, 255])   // 17 * v for maxval 15
        // Maxval 100 (one byte per sample) and 1000 (two, big-endian): round(v * 255 / maxval).
        XCTAssertEqual(try pixels(pnm("P5 3 1 100\n", raster: [0, 50, 100])), [0, 128, 255])
        XCTAssertEqual(try pixels(pnm("P5 3 1 1000\n", raster: [0, 0, 0x01, 0xF4, 0x03, 0xE8])), [0, 128, 255])
        XCTAssertEqual(try pixels(pnm("P6 1 1 65535\n", raster: [0x80, 0x80, 0x7F, 0x80, 0xFF, 0xFF])), [128, 127, 255])
        XCTAssertEqual(try pixels(pnm("P2 2 1 1 0 1\n\n")), [0, 255])
    }

    func testPNMRefusesOtherKindsAndMalformedHeaders() {
        assertThrows(.unsupported, "P4, a bitmap") { try PNM.decode(pnm("P4\n8 1\n", raster: [0xFF])) }
        assertThrows(.unsupported, "P1, a bitmap") { try PNM.decode(pnm("P1\n1 1\n1\n")) }
        assertThrows(.unsupported, "PAM") { try PNM.decode(pnm("P7\nWIDTH 1\n")) }
        assertThrows(.unsupported, "PFM") { try PNM.decode(pnm("Pf\n1 1\n-1.0\n", raster: [0, 0, 0, 0])) }
        let malformed: [([UInt8], String)] = [
            (pnm("P9\n1 1\n255\n", raster: [0]), "magic number"),
            (pnm("GIF89a"), "magic number"),
            (pnm("P51 1 255\n", raster: [0]), "not followed by whitespace"),
            (pnm("P5\n0 1\n255\n"), "width is 0"),
            (pnm("P5\n1 0\n255\n"), "height is 0"),
            (pnm("P5\n1 1\n0\n", raster: [0]), "maxval is 0"),
            (pnm("P5\n1 1\n65536\n", raster: [0, 0]), "maxval is above 65535"),
            (pnm("P5\n99999999999 1\n255\n"), "width is above 2147483647"),
            (pnm("P5\n1a 1\n255\n", raster: [0]), "height is not a decimal number"),
            (pnm("P5\n1 1\n100\n", raster: [200]), "sample 0 is 200, above its maxval 100"),
            (pnm("P5\n1 1\n1000\n", raster: [0x03, 0xE9]), "sample 0 is 1001"),
            (pnm("P2 2 1 100 7 101"), "sample 1 is above its maxval 100"),
            (pnm("P2 2 1 255 7 # no comments in the raster\n 8"), "sample 1 is not a decimal number"),
            (pnm("P2 1 1 255 7 8"), "1 bytes that are not samples follow sample 0"),
            (pnm("P5 1 1 255x", raster: [0]), "not the one whitespace byte"),
            (pnm("P5 1 1 255\n", raster: [1, 2]), "1 bytes follow the raster"),
        ]
        for (bytes, reason) in malformed {
            assertThrows(.malformed, reason) { try PNM.decode(bytes) }
        }
    }

    func testPNMRefusesTruncationsAndLyingSizesBeforeAllocating() throws {
        let binary = try PNM.encode(sampleImage(height: 3, width: 4, channels: 3, kind: "random"))
        for length in 0 ..< binary.count {
            assertThrows(.truncated) { try PNM.decode(Array(binary.prefix(length))) }
        }
        // Every prefix that stops before the last sample's digit.
        let plain = pnm("P3\n# comment\n2 1\n255\n10 20 30 40 50 6\n")
        for length in 0 ..< plain.count - 2 {
            assertThrows(.truncated) { try PNM.decode(Array(plain.prefix(length))) }
        }
        // 10^10 declared pixels behind 10 bytes: refused by the file size, whatever the limit.
        assertThrows(.truncated, "10000000021 bytes") {
            try PNM.decode(pnm("P5 100000 100000 255\n", raster: [UInt8](repeating: 0, count: 10)), limits: .unlimited)
        }
        assertThrows(.truncated) { try PNM.decode(pnm("P2 100000 100000 255\n1 2 3"), limits: .unlimited) }
        // The largest greymap the header allows: (2^31 - 1)^2 samples, twice that in bytes.
        assertThrows(.truncated, "9223372028264841243 bytes") { try PNM.decode(pnm("P2 2147483647 2147483647 1\n1")) }
        assertThrows(.sizeOverflow) { try PNM.decode(pnm("P6 2147483647 2147483647 65535\n")) }
        // A genuine 1000 x 1000 greymap above a 1000-byte limit.
        let large = pnm("P5 1000 1000 255\n", raster: [UInt8](repeating: 7, count: 1_000_000))
        assertThrows(.memoryLimit, "1000x1000") { try PNM.decode(large, limits: FileReadLimits(maximumBytes: 1000)) }
        XCTAssertEqual(try PNM.decode(large, limits: FileReadLimits(maximumBytes: 1_000_000)).pixels.count, 1_000_000)
    }

    func testPNMCorruptionFuzzOnlyThrowsTypedErrors() throws {
        var generator = SeededGenerator(seed: 12)
        let files = [
            try PNM.encode(sampleImage(height: 4, width: 5, channels: 1, kind: "gradient")),
            try PNM.encode(sampleImage(height: 3, width: 2, channels: 3, kind: "random")),
            pnm("P5 3 1 1000\n", raster: [0, 0, 0x01, 0xF4, 0x03, 0xE8]),
            pnm("P2\n# c\n3 2\n255\n0 1 2\n3 4 255\n"),
            pnm("P3 1 2 15 0 1 2 13 14 15"),
        ]
        for iteration in 0 ..< 500 {
            var corrupt = files[iteration % files.count]
            for _ in 0 ... generator.next(below: 3) {
                let index = generator.next(below: corrupt.count)
                // Half the time a byte that means something in a header: a digit, space, '#' or 'P'.
                let meaningful: [UInt8] = Array("0123456789 #P\n".utf8)
                corrupt[index] = generator.next(below: 2) == 0
                    ? meaningful[generator.next(below: meaningful.count)] : UInt8(truncatingIfNeeded: generator.next())
            }
            do {
                let image = try PNM.decode(corrupt, limits: FileReadLimits(maximumBytes: 1 << 20))
                XCTAssertEqual(image.pixels.count, image.shape.featureCount)
            } catch is FrameSequencingError {
                continue
            }
        }
    }
}

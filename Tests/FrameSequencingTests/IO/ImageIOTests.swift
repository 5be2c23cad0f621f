import Foundation
import FrameSequencing
import TestSupport
import XCTest
@testable import FrameSequencingIO

/// Image file I/O. This file: checksums, inflate against zlib's own streams and
/// against hand-made hostile ones, and deflate round trips. PNG cases are in
/// `ImageIOTests+PNG.swift` and `ImageIOTests+HostilePNG.swift`, Netpbm in
/// `ImageIOTests+PNM.swift`, folders in `ImageIOTests+Folder.swift`. Reference
/// files are in `Data/`, written by `Data/make_pngs.py`.
final class ImageIOTests: XCTestCase {
    static let dataDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Data").path

    /// The bytes of reference file `name` in `Data/`.
    func data(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: ImageIOTests.dataDirectory + "/" + name)))
    }

    /// A fresh empty directory, removed after the test.
    func scratchDirectory() throws -> String {
        let path = try TestData.temporaryDirectory("images")
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    func inflate(_ stream: [UInt8], count: Int) throws -> [UInt8] {
        try Inflater.decompressZlib(stream, outputCount: count, name: "stream", what: "the stream")
    }

    // MARK: Checksums

    func testChecksumsGiveTheStandardCheckValues() {
        XCTAssertEqual(CRC32().value, 0)
        XCTAssertEqual(CRC32().updated(with: Array("123456789".utf8)).value, 0xCBF4_3926)
        XCTAssertEqual(CRC32().updated(with: (0 ..< 40).flatMap { _ in (0 ... 255).map { UInt8($0) } }).value, 0xBBCE_3B9D)
        XCTAssertEqual(Adler32().value, 1)
        XCTAssertEqual(Adler32().updated(with: Array("Wikipedia".utf8)).value, 0x11E6_0398)
        // 100,000 bytes of 0xFF: the sums must be reduced every 5552 bytes or they overflow (Python's zlib.adler32).
        XCTAssertEqual(Adler32().updated(with: [UInt8](repeating: 0xFF, count: 100_000)).value, 0x149A_302C)
        // Incremental updates equal one update.
        var crc = CRC32()
        crc.update(with: Array("12345".utf8))
        crc.update(with: Array("6789".utf8))
        XCTAssertEqual(crc.value, 0xCBF4_3926)
    }

    // MARK: Inflate against zlib

    func testInflateDecodesZlibStreamsOfEveryLevelAndStrategy() throws {
        let noise = try data("zlib_noise.bin")
        for level in 0 ... 9 {
            XCTAssertEqual(try inflate(data("zlib_noise_L\(level).zlib"), count: noise.count), noise, "noise level \(level)")
        }
        let text = try data("zlib_repetitive.bin")
        let variants = (0 ... 9).map { "L\($0)" } + ["fixed", "huffman", "rle", "window512", "flushes"]
        for variant in variants {
            XCTAssertEqual(try inflate(data("zlib_repetitive_\(variant).zlib"), count: text.count), text, variant)
        }
    }

    func testInflateCopiesFromTheFarEndOfTheWindow() throws {
        // 1000 random bytes, 31,768 zeros, the same 1000 bytes: a match 32,768 bytes back.
        let output = try inflate(data("zlib_window.zlib"), count: 33_768)
        XCTAssertEqual(Array(output[32_768...]), Array(output[..<1000]))
        XCTAssertTrue(output[1000 ..< 32_768].allSatisfy { $0 == 0 })
    }

    func testInflateRefusesOutputOfAnyOtherSizeThanDeclared() throws {
        let text = try data("zlib_repetitive.bin")
        for variant in ["L0", "L6", "fixed"] {
            let stream = try data("zlib_repetitive_\(variant).zlib")
            assertThrows(.malformed, "more than the \(text.count - 1) bytes") { try inflate(stream, count: text.count - 1) }
            assertThrows(.malformed, "ends after \(text.count) bytes") { try inflate(stream, count: text.count + 1) }
        }
    }

    // MARK: Deflate

    func testDeflateRoundTripsAndActuallyCompresses() throws {
        var generator = SeededGenerator(seed: 3)
        let text = try data("zlib_repetitive.bin")
        let cases: [(String, [UInt8], maximumSize: Int)] = [
            ("empty", [], 8),
            ("one byte", [42], 9),
            // 100,000 equal bytes: 388 matches of 258 bytes, about one bit each.
            ("constant", [UInt8](repeating: 7, count: 100_000), 200),
            // zlib -6 gives 2225 bytes.
            ("text", text, 2400),
            // Incompressible: stored blocks, 5 bytes per block of 16,384 tokens plus the
            // zlib wrapper (zlib -6 gives the same 150,056 bytes).
            ("random", TestData.randomBytes(count: 150_000, seed: 1), 150_000 + 5 * 10 + 6),
            // Four random symbols (2 bits of entropy each): several Huffman blocks;
            // zlib -6 gives 58,895 bytes for such data.
            ("four symbols", (0 ..< 200_000).map { _ in UInt8(generator.next(below: 4)) }, 59_000),
            // 30,000 random bytes three times: matches 30,000 bytes back, near the window's end
            // (zlib -6 gives 30,680 bytes).
            ("period 30,000", Array(repeating: TestData.randomBytes(count: 30_000, seed: 2), count: 3).flatMap { $0 }, 30_750),
        ]
        for (name, input, maximumSize) in cases {
            let compressed = Deflater.compressZlib(input)
            XCTAssertLessThanOrEqual(compressed.count, maximumSize, name)
            XCTAssertEqual(try inflate(compressed, count: input.count), input, name)
        }
    }

    func testDeflateBuildsLengthLimitedCompleteCodes() {
        // Fibonacci frequencies make a Huffman tree as deep as there are symbols;
        // the codes must still fit in 15 bits (7 for the code-length code) and be complete.
        var fibonacci = [1, 1]
        while fibonacci.count < 30 { fibonacci.append(fibonacci[fibonacci.count - 1] + fibonacci[fibonacci.count - 2]) }
        for limit in [7, 15] {
            let lengths = HuffmanEncoder.codeLengths(frequencies: fibonacci, limit: limit)
            XCTAssertLessThanOrEqual(Int(lengths.max()!), limit)
            XCTAssertEqual(lengths.reduce(0.0) { $0 + pow(2, -Double($1)) }, 1, "Kraft sum for limit \(limit)")
        }
        // One used symbol still gets a complete two-symbol code.
        XCTAssertEqual(HuffmanEncoder.codeLengths(frequencies: [0, 0, 5], limit: 15), [1, 0, 1])
        XCTAssertEqual(HuffmanEncoder.codeLengths(frequencies: [9, 0, 0], limit: 15), [1, 1, 0])
        // RFC 1951's example: lengths (3, 3, 3, 3, 3, 2, 4, 4) give codes 010 ... 1111 (here bit-reversed).
        XCTAssertEqual(HuffmanEncoder.canonicalCodes(lengths: [3, 3, 3, 3, 3, 2, 4, 4]),
                       [0b010, 0b110, 0b001, 0b101, 0b011, 0b00, 0b0111, 0b1111])
    }
}

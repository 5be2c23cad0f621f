import FrameSequencing
import XCTest
@testable import FrameSequencingIO

/// Hand-made DEFLATE streams that break one rule each, and corrupted zlib
/// streams: every one must throw `malformedFile` naming the fault, never trap.
extension ImageIOTests {
    /// A zlib stream: header `78 01`, the bits `body` writes, then the Adler-32 of `output`.
    func zlibStream(checksumOf output: [UInt8] = [], _ body: (inout BitWriter) -> Void) -> [UInt8] {
        var writer = BitWriter()
        writer.bytes = [0x78, 0x01]
        body(&writer)
        writer.alignToByte()
        let adler = Adler32().updated(with: output).value
        return writer.bytes + [UInt8(adler >> 24), UInt8(adler >> 16 & 0xFF), UInt8(adler >> 8 & 0xFF), UInt8(adler & 0xFF)]
    }

    /// Writes a final dynamic block header sending `lengths` (literal/length
    /// lengths, then distance lengths) with a complete code-length code:
    /// symbols 0...12 of 4 bits, 13...18 of 5 bits. `items` overrides the
    /// code-length symbols sent, as (symbol, extra value) pairs.
    func writeDynamicHeader(_ writer: inout BitWriter, literalCount: Int, distanceCount: Int,
                            lengths: [UInt8] = [], items: [(Int, Int)]? = nil) {
        let codeLengthLengths: [UInt8] = (0 ..< 19).map { $0 <= 12 ? 4 : 5 }
        let codes = HuffmanEncoder.canonicalCodes(lengths: codeLengthLengths)
        writer.write(1, bits: 1)
        writer.write(2, bits: 2)
        writer.write(literalCount - 257, bits: 5)
        writer.write(distanceCount - 1, bits: 5)
        writer.write(19 - 4, bits: 4)
        for symbol in DeflateAlphabet.codeLengthOrder { writer.write(Int(codeLengthLengths[symbol]), bits: 3) }
        for (symbol, extra) in items ?? lengths.map({ (Int($0), 0) }) {
            writer.write(Int(codes[symbol]), bits: Int(codeLengthLengths[symbol]))
            writer.write(extra, bits: [16: 2, 17: 3, 18: 7][symbol] ?? 0)
        }
    }

    /// Literal/length lengths with the given codes and 0 elsewhere (258 symbols:
    /// the bytes, end of block and length 3).
    func literalLengths(_ codes: [Int: UInt8]) -> [UInt8] {
        (0 ..< 258).map { codes[$0] ?? 0 }
    }

    func testInflateRefusesInvalidBlocks() {
        assertThrows(.malformed, "block type 3") {
            try inflate(zlibStream { $0.write(1, bits: 1); $0.write(3, bits: 2) }, count: 1)
        }
        assertThrows(.malformed, "does not match its check value") {
            try inflate(zlibStream { w in
                w.write(1, bits: 1); w.write(0, bits: 2); w.alignToByte(); w.write(5, bits: 16); w.write(5, bits: 16)
            }, count: 5)
        }
        // A stored block claiming 5 bytes with 2 present.
        assertThrows(.malformed, "ends inside a stored block") {
            try inflate([0x78, 0x01, 0x01, 0x05, 0x00, 0xFA, 0xFF, 0x61, 0x62], count: 5)
        }
        // Fixed codes: the literal 'a', then a match of 3 bytes at distance 2 with 1 byte written.
        let fixed = HuffmanEncoder.canonicalCodes(lengths: DeflateAlphabet.fixedLiteralLengths)
        assertThrows(.malformed, "distance too far back") {
            try inflate(zlibStream { w in
                w.write(1, bits: 1); w.write(1, bits: 2)
                w.write(Int(fixed[0x61]), bits: 8)
                w.write(Int(fixed[257]), bits: 7)
                w.write(0b10000, bits: 5)   // distance symbol 1 (distance 2), reversed
            }, count: 4)
        }
        // Fixed distance symbol 30 exists in the code but not in the format.
        assertThrows(.malformed, "distance symbol 30 is invalid") {
            try inflate(zlibStream { w in
                w.write(1, bits: 1); w.write(1, bits: 2)
                w.write(Int(fixed[0x61]), bits: 8)
                w.write(Int(fixed[257]), bits: 7)
                w.write(0b01111, bits: 5)   // 11110 reversed
            }, count: 4)
        }
        assertThrows(.malformed, "length symbol 286 is invalid") {
            try inflate(zlibStream { w in w.write(1, bits: 1); w.write(1, bits: 2); w.write(Int(fixed[286]), bits: 8) }, count: 4)
        }
    }

    func testInflateRefusesInvalidHuffmanCodes() {
        // 'a' = 0, end of block = 10, length 3 = 11; one distance code of 1 bit
        // (allowed although incomplete), so the distance bit 1 is no code at all.
        let lengths = literalLengths([0x61: 1, 256: 2, 257: 2]) + [1]
        assertThrows(.malformed, "not a code of the block's Huffman code") {
            try inflate(zlibStream { w in
                writeDynamicHeader(&w, literalCount: 258, distanceCount: 1, lengths: lengths)
                w.write(0, bits: 1)          // 'a'
                w.write(0b11, bits: 2)       // length 3
                w.write(1, bits: 1)          // no distance code
            }, count: 4)
        }
        // The same with the distance bit 0 (distance 1) decodes "aaaa".
        XCTAssertEqual(try inflate(zlibStream(checksumOf: Array("aaaa".utf8)) { w in
            writeDynamicHeader(&w, literalCount: 258, distanceCount: 1, lengths: lengths)
            w.write(0, bits: 1); w.write(0b11, bits: 2); w.write(0, bits: 1); w.write(0b01, bits: 2)
        }, count: 4), Array("aaaa".utf8))

        let faults: [(String, [UInt8])] = [
            ("literal/length code lengths are over-subscribed", literalLengths([0x61: 1, 256: 1, 257: 1]) + [1]),
            ("literal/length code lengths are incomplete", literalLengths([0x61: 1, 256: 2]) + [1]),
            ("distance code lengths are incomplete", literalLengths([0x61: 1, 256: 1]) + [2]),
            ("no end-of-block code", literalLengths([0x61: 1, 257: 1]) + [1]),
        ]
        for (reason, lengths) in faults {
            assertThrows(.malformed, reason) {
                try inflate(zlibStream { writeDynamicHeader(&$0, literalCount: 258, distanceCount: 1, lengths: lengths) }, count: 1)
            }
        }
        assertThrows(.malformed, "above 286 and 30") {
            try inflate(zlibStream { writeDynamicHeader(&$0, literalCount: 287, distanceCount: 1) }, count: 1)
        }
        assertThrows(.malformed, "repeats a length before the first one") {
            try inflate(zlibStream { writeDynamicHeader(&$0, literalCount: 257, distanceCount: 1, items: [(16, 0)]) }, count: 1)
        }
        assertThrows(.malformed, "repeat past the 258 codes") {
            try inflate(zlibStream { writeDynamicHeader(&$0, literalCount: 257, distanceCount: 1, items: [(18, 127), (18, 127)]) }, count: 1)
        }
        // A code-length code must be complete: four codes of one bit, or a lone one.
        assertThrows(.malformed, "code-length code lengths are over-subscribed") {
            try inflate(zlibStream { w in
                w.write(1, bits: 1); w.write(2, bits: 2); w.write(0, bits: 5); w.write(0, bits: 5); w.write(0, bits: 4)
                for _ in 0 ..< 4 { w.write(1, bits: 3) }
            }, count: 1)
        }
        assertThrows(.malformed, "code-length code lengths are incomplete") {
            try inflate(zlibStream { w in
                w.write(1, bits: 1); w.write(2, bits: 2); w.write(0, bits: 5); w.write(0, bits: 5); w.write(0, bits: 4)
                w.write(1, bits: 3); w.write(0, bits: 9)
            }, count: 1)
        }
    }

    func testInflateRefusesBadZlibWrappers() throws {
        let text = try data("zlib_repetitive.bin")
        let stream = try data("zlib_repetitive_L6.zlib")
        assertThrows(.malformed, "compression method is 9") { try inflate([0x79] + stream.dropFirst(), count: text.count) }
        assertThrows(.malformed, "window size field is 8") { try inflate([0x88, 0x1C] + stream.dropFirst(2), count: text.count) }
        assertThrows(.malformed, "check bits") { try inflate([0x78, 0x00] + stream.dropFirst(2), count: text.count) }
        assertThrows(.malformed, "preset dictionary") { try inflate([0x78, 0xBB] + stream.dropFirst(2), count: text.count) }
        assertThrows(.malformed, "shorter than the 2-byte zlib header") { try inflate([0x78], count: 1) }
        var badChecksum = stream
        badChecksum[badChecksum.count - 1] ^= 1
        assertThrows(.malformed, "Adler-32 checksum") { try inflate(badChecksum, count: text.count) }
        assertThrows(.malformed, "1 bytes follow its checksum") { try inflate(stream + [0], count: text.count) }
    }

    /// Prefixes of zlib's streams (every third length; every 97th of stored data)
    /// and 600 seeded corruptions of one to three bit flips must throw
    /// `malformedFile` or decode; a corruption that decodes must give the right
    /// bytes (the Adler-32 check makes a wrong result all but impossible).
    func testTruncatedAndCorruptedStreamsOnlyThrowMalformed() throws {
        let text = try data("zlib_repetitive.bin")
        var generator = SeededGenerator(seed: 9)
        for variant in ["L0", "L6", "fixed", "huffman"] {
            let stream = try data("zlib_repetitive_\(variant).zlib")
            for length in stride(from: 0, to: stream.count, by: variant == "L0" ? 97 : 3) {
                assertThrows(.malformed) { try inflate(Array(stream.prefix(length)), count: text.count) }
            }
            for _ in 0 ..< 150 {
                var corrupt = stream
                for _ in 0 ... generator.next(below: 3) {
                    corrupt[generator.next(below: corrupt.count)] ^= UInt8(1 << generator.next(below: 8))
                }
                do {
                    let output = try inflate(corrupt, count: text.count)
                    XCTAssertEqual(output, text, variant)
                } catch let error as FrameSequencingError {
                    guard case .malformedFile = error else { return XCTFail("\(variant): \(error)") }
                }
            }
        }
    }
}

import Foundation
import FrameSequencing
import XCTest
@testable import FrameSequencingIO

extension IOTests {
    /// Safetensors bytes: the length field (`lengthOverride` or the true length),
    /// `json`, then `data`.
    func safetensorsBytes(_ json: String, data: [UInt8] = [], lengthOverride: UInt64? = nil) -> [UInt8] {
        var bytes: [UInt8] = []
        appendLittleEndian(lengthOverride ?? UInt64(json.utf8.count), to: &bytes)
        return bytes + Array(json.utf8) + data
    }

    /// A header with one entry per `(name, dtype, shape, begin, end)`.
    func safetensorsHeader(_ tensors: [(String, String, [Int], Int, Int)]) -> String {
        "{" + tensors.map { name, dtype, shape, begin, end in
            "\"\(name)\": {\"dtype\": \"\(dtype)\", \"shape\": \(shape), \"data_offsets\": [\(begin), \(end)]}"
        }.joined(separator: ", ") + "}"
    }

    func testSafeTensorsRoundTripsEveryDtypeInOrderWithMetadata() throws {
        let directory = try temporaryDirectory()
        let arrays = try sampleArrays()
        let file = try SafeTensors(tensors: arrays.map { (name: $0.0, array: $0.1) },
                                   metadata: ["suite": "io", "quote\"d\n": "é \u{1}"])
        let bytes = try file.encode()
        let decoded = try SafeTensors.decode(bytes)
        XCTAssertEqual(decoded, file)
        XCTAssertEqual(decoded.names, arrays.map(\.0))
        for (name, array) in arrays { XCTAssertEqual(decoded[name], array, name) }
        XCTAssertNil(decoded["missing"])
        XCTAssertEqual(Int(readLittleEndian(bytes, at: 0, width: 8)) % 8, 0, "the header is padded to 8 bytes")
        try file.write(to: directory + "/all.safetensors")
        XCTAssertEqual(try SafeTensors.read(contentsOf: directory + "/all.safetensors"), file)
    }

    func testSafeTensorsWriterOmitsEmptyMetadataAndPadsWithSpaces() throws {
        let file = try SafeTensors([.init(name: "x", array: NumericArray(shape: [1], data: .uint8([7])))])
        let bytes = try file.encode()
        let length = Int(readLittleEndian(bytes, at: 0, width: 8))
        let header = String(decoding: bytes[8 ..< 8 + length], as: UTF8.self)
        XCTAssertEqual(header, "{\"x\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}" + "   ")
        XCTAssertEqual(bytes.last, 7)
    }

    func testSafeTensorsReadsTheReferenceImplementationsFile() throws {
        let file = try SafeTensors.decode(IOFixtures.safetensors)
        // Data-buffer order, as the Python writer laid the tensors out.
        XCTAssertEqual(file.names, ["lengths", "bias", "empty", "scalar", "weight", "pixels"])
        XCTAssertEqual(file.metadata, ["suite": "io", "note": "tiny \"quoted\" é"])
        XCTAssertEqual(file["weight"], try NumericArray(shape: [2, 3], data: .float32([1.5, -2, 3.25, 0, 1e-3, -7])))
        XCTAssertEqual(file["bias"], try NumericArray(shape: [3], data: .float64([.pi, -M_E, 1e300])))
        XCTAssertEqual(file["pixels"], try NumericArray(shape: [1, 7], data: .uint8([0, 37, 74, 111, 148, 185, 222])))
        XCTAssertEqual(file["lengths"], try NumericArray(shape: [2, 2], data: .int64([-(1 << 62), 0, 5, 1 << 40])))
        XCTAssertEqual(file["empty"], try NumericArray(shape: [0, 3], data: .float64([])))
        XCTAssertEqual(file["scalar"], try NumericArray(shape: [], data: .float32([2.5])))
    }

    func testSafeTensorsRefusesInconsistentLayouts() throws {
        let eight = [UInt8](repeating: 0, count: 8)
        func decode(_ json: String, _ data: [UInt8] = [UInt8](repeating: 0, count: 8)) throws -> SafeTensors {
            try SafeTensors.decode(safetensorsBytes(json, data: data))
        }
        // Header length: huge, past the end of the file, or no length at all.
        assertThrows(.malformed, "exceeds") { try SafeTensors.decode(safetensorsBytes("{}", lengthOverride: 1 << 63)) }
        assertThrows(.malformed, "exceeds") { try SafeTensors.decode(safetensorsBytes("{}", lengthOverride: 100_000_001)) }
        assertThrows(.truncated) { try SafeTensors.decode(safetensorsBytes("{}", lengthOverride: 1000)) }
        assertThrows(.truncated) { try SafeTensors.decode([2, 0, 0]) }
        // Offsets past the end of the buffer (consistent with the shape).
        assertThrows(.truncated) { try decode(safetensorsHeader([("a", "F32", [4], 0, 16)])) }
        // Overlapping spans, a hole between spans, a hole at the end.
        assertThrows(.malformed, "overlap") {
            try decode(safetensorsHeader([("a", "F32", [2], 0, 8), ("b", "F32", [1], 4, 8)]))
        }
        assertThrows(.malformed, "hole") {
            try decode(safetensorsHeader([("a", "F32", [1], 0, 4), ("b", "U8", [2], 6, 8)]))
        }
        assertThrows(.malformed, "hole") { try decode(safetensorsHeader([("a", "U8", [2], 2, 4)]), [0, 0, 0, 0]) }
        assertThrows(.malformed, "4 bytes follow") { try decode(safetensorsHeader([("a", "F32", [1], 0, 4)])) }
        // A span that disagrees with dtype and shape, or runs backwards.
        assertThrows(.malformed, "span 8") { try decode(safetensorsHeader([("a", "F32", [3], 0, 8)])) }
        assertThrows(.malformed, "end before") { try decode(safetensorsHeader([("a", "U8", [0], 8, 0)])) }
        // Element count overflow: [2**62, 4].
        assertThrows(.sizeOverflow) { try decode(safetensorsHeader([("a", "F32", [1 << 62, 4], 0, 8)])) }
        assertThrows(.sizeOverflow) { try decode(safetensorsHeader([("a", "I64", [1 << 62], 0, 8)])) }
        XCTAssertEqual(try decode(safetensorsHeader([("a", "U8", [2, 4], 0, 8)]), eight)["a"]?.shape, [2, 4])
    }

    func testSafeTensorsRefusesBadHeaderContent() throws {
        func decode(_ json: String) throws -> SafeTensors {
            try SafeTensors.decode(safetensorsBytes(json, data: [0, 0, 0, 0]))
        }
        let valid = "\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}"
        XCTAssertEqual(try decode("{\(valid)}  ").names, ["a"])
        assertThrows(.unsupported, "F16 for tensor 'half'") {
            try decode(safetensorsHeader([("half", "F16", [2], 0, 4)]))
        }
        assertThrows(.unsupported, "BF16") { try decode(safetensorsHeader([("a", "BF16", [2], 0, 4)])) }
        assertThrows(.unsupported, "I32") { try decode(safetensorsHeader([("a", "I32", [1], 0, 4)])) }
        assertThrows(.malformed, "unknown dtype") { try decode(safetensorsHeader([("a", "X9", [1], 0, 4)])) }
        let invalid: [(String, String)] = [
            ("{\"__metadata__\": {\"seed\": 7}, \(valid)}", "metadata value"),
            ("{\"__metadata__\": [\"x\"], \(valid)}", "__metadata__"),
            ("{\(valid), \(valid)}", "twice"),
            ("{\(valid)", "JSON"),
            ("{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4],}}", "JSON"),
            ("{'a': 1}", "JSON"),
            (" {\(valid)}", "start with '{'"),
            ("[1, 2]", "start with '{'"),
            ("{\"a\": {\"dtype\": \"F32\", \"shape\": [1]}}", "no \"data_offsets\""),
            ("{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4, 4]}}", "3 \"data_offsets\""),
            ("{\"a\": {\"dtype\": \"F32\", \"shape\": [1.0], \"data_offsets\": [0, 4]}}", "non-negative integer"),
            ("{\"a\": {\"dtype\": \"F32\", \"shape\": [-1], \"data_offsets\": [0, 4]}}", "non-negative integer"),
            ("{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 18446744073709551620]}}", "non-negative integer"),
            ("{\"a\": {\"dtype\": \"F32\", \"shape\": 1, \"data_offsets\": [0, 4]}}", "not an array"),
            ("{\"a\": {\"dtype\": 32, \"shape\": [1], \"data_offsets\": [0, 4]}}", "not a string"),
            ("{\"a\": [0, 4]}", "not an object"),
            ("{\"a\": \"\\ud800\"}", "surrogate"),
            ("{\"a\": \"tab\tinside\"}", "control character"),
            ("{\"a\": " + String(repeating: "[", count: 5000) + "}", "nested"),
        ]
        for (json, reason) in invalid {
            assertThrows(.malformed, reason) { try decode(json) }
        }
        var notUTF8 = safetensorsBytes("{\"a\": {}}")
        notUTF8[10] = 0xFF   // the name "a"
        assertThrows(.malformed, "UTF-8") { try SafeTensors.decode(notUTF8) }
    }

    func testSafeTensorsRefusesInvalidNames() throws {
        let array = try NumericArray(shape: [1], data: .uint8([1]))
        assertThrows(.invalidArgument, "unique") {
            try SafeTensors([.init(name: "a", array: array), .init(name: "a", array: array)])
        }
        assertThrows(.invalidArgument, "__metadata__") { try SafeTensors([.init(name: "__metadata__", array: array)]) }
    }
}

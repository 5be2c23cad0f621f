import Foundation
import FrameSequencing
import TestSupport
import XCTest
@testable import FrameSequencingIO

extension IOTests {
    /// NPY bytes with `header` as the dict text: version `major`.0, the header
    /// length field `lengthOverride` or the true length, then `data`.
    func npyBytes(_ header: String, data: [UInt8] = [], major: UInt8 = 1, lengthOverride: Int? = nil) -> [UInt8] {
        var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [major, 0]
        let length = lengthOverride ?? header.utf8.count
        if major == 1 {
            appendLittleEndian(UInt16(length), to: &bytes)
        } else {
            appendLittleEndian(UInt32(length), to: &bytes)
        }
        return bytes + Array(header.utf8) + data
    }

    /// The little-endian bytes of `values`.
    func littleEndianBytes(_ values: [Float]) -> [UInt8] {
        values.flatMap { value -> [UInt8] in
            var bytes: [UInt8] = []
            appendLittleEndian(value.bitPattern, to: &bytes)
            return bytes
        }
    }

    func testNPYRoundTripsEveryDtypeScalarAndZeroSize() throws {
        let directory = try temporaryDirectory()
        for (name, array) in try sampleArrays() {
            let bytes = try NPY.encode(array)
            XCTAssertEqual(try NPY.decode(bytes), array, name)
            // The header ends in a newline at a multiple of 64 bytes, as numpy writes it.
            let headerEnd = 10 + Int(readLittleEndian(bytes, at: 8, width: 2))
            XCTAssertEqual(headerEnd % 64, 0, name)
            XCTAssertEqual(bytes[headerEnd - 1], 0x0A, name)
            XCTAssertEqual(bytes.count, headerEnd + array.data.byteCount, name)
            try NPY.write(array, to: "\(directory)/\(name).npy")
            XCTAssertEqual(try NPY.read(contentsOf: "\(directory)/\(name).npy"), array, name)
        }
    }

    func testNPYWriterSwitchesToVersion2ForHeadersAbove65535Bytes() throws {
        // 30,000 axes of size 1 need a 90 kB header (numpy reads the header but
        // refuses more than 64 axes; this only exercises the version switch).
        let array = try NumericArray(shape: Array(repeating: 1, count: 30_000), data: .uint8([7]))
        let bytes = try NPY.encode(array)
        XCTAssertEqual(Array(bytes[6 ..< 8]), [2, 0])
        XCTAssertEqual((12 + Int(readLittleEndian(bytes, at: 8, width: 4))) % 64, 0)
        XCTAssertEqual(try NPY.decode(bytes), array)
        XCTAssertEqual(Array(try NPY.encode(NumericArray(shape: [1], data: .uint8([7])))[6 ..< 8]), [1, 0])
    }

    func testNPYWriterProducesNumpysBytes() throws {
        let float32 = try NumericArray(shape: [2, 3], data: .float32([1.5, -2, 3.25, 0, 1e-3, -7]))
        XCTAssertEqual(try NPY.encode(float32), IOFixtures.numpyFloat32)
        XCTAssertEqual(try NPY.encode(NumericArray(shape: [], data: .float32([2.5]))), IOFixtures.numpyScalar)
        XCTAssertEqual(try NPY.encode(NumericArray(shape: [0, 3], data: .float64([]))), IOFixtures.numpyEmpty)
    }

    func testNPYReadsFilesWrittenByNumpy() throws {
        let float32 = try NumericArray(shape: [2, 3], data: .float32([1.5, -2, 3.25, 0, 1e-3, -7]))
        XCTAssertEqual(try NPY.decode(IOFixtures.numpyFloat32), float32)
        XCTAssertEqual(try NPY.decode(IOFixtures.numpyVersion2), float32)
        XCTAssertEqual(try NPY.decode(IOFixtures.numpyVersion3), float32)
        XCTAssertEqual(try NPY.decode(IOFixtures.numpyFloat64),
                       try NumericArray(shape: [3], data: .float64([.pi, -M_E, 1e300])))
        XCTAssertEqual(try NPY.decode(IOFixtures.numpyUInt8),
                       try NumericArray(shape: [1, 7], data: .uint8([0, 37, 74, 111, 148, 185, 222])))
        XCTAssertEqual(try NPY.decode(IOFixtures.numpyInt64),
                       try NumericArray(shape: [2, 2], data: .int64([-(1 << 62), 0, 5, 1 << 40])))
        XCTAssertEqual(try NPY.decode(IOFixtures.numpyScalar), try NumericArray(shape: [], data: .float32([2.5])))
        XCTAssertEqual(try NPY.decode(IOFixtures.numpyEmpty), try NumericArray(shape: [0, 3], data: .float64([])))
    }

    func testNPYDecodesVersion1And2And3HeadersInAnyLayout() throws {
        let data = littleEndianBytes([1, 2, 3])
        let expected = try NumericArray(shape: [3], data: .float32([1, 2, 3]))
        let headers = [
            "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }\n",
            "{\"shape\": (3, ), \"fortran_order\": False, \"descr\": \"<f4\"}",   // any order, double quotes, no padding
            "  {'fortran_order':False,'descr':'=f4','shape':(3,)}   \n",           // native mark, surrounding space
            "{'descr': 'f4', 'fortran_order': False, 'shape': (3L,), }\n",         // Python 2 long suffix
        ]
        for header in headers {
            for major: UInt8 in [1, 2, 3] {
                XCTAssertEqual(try NPY.decode(npyBytes(header, data: data, major: major)), expected, "\(major): \(header)")
            }
        }
        XCTAssertEqual(try NPY.decode(npyBytes("{'descr': '<u1', 'fortran_order': False, 'shape': ()}", data: [9])),
                       try NumericArray(shape: [], data: .uint8([9])))
        XCTAssertEqual(try NPY.decode(npyBytes("{'descr': '>u1', 'fortran_order': False, 'shape': (1, 0)}")),
                       try NumericArray(shape: [1, 0], data: .uint8([])))
    }

    func testNPYRefusesInconsistentSizes() throws {
        let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\n"
        // Truncated data: 5 of 6 elements.
        assertThrows(.truncated, "truncated") { try NPY.decode(npyBytes(header, data: littleEndianBytes([1, 2, 3, 4, 5]))) }
        // A shape that lies about the data: larger (truncated) or smaller (trailing bytes).
        let lying = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }\n"
        assertThrows(.malformed, "4 bytes follow") { try NPY.decode(npyBytes(lying, data: littleEndianBytes([1, 2, 3, 4, 5]))) }
        // Header length past the end of the file.
        assertThrows(.truncated) { try NPY.decode(npyBytes(header, lengthOverride: 5000)) }
        assertThrows(.truncated) { try NPY.decode(npyBytes(header, major: 2, lengthOverride: Int(UInt32.max))) }
        // Too short for the magic and version, or no magic at all.
        assertThrows(.truncated) { try NPY.decode([0x93, 0x4E, 0x55]) }
        assertThrows(.malformed, "magic") { try NPY.decode(Array("PK\u{3}\u{4} not npy".utf8)) }
        // Element count overflow: (2**62, 4) and a product past Int.max.
        assertThrows(.sizeOverflow) {
            try NPY.decode(npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4), }"))
        }
        // The element count fits but the byte count does not: 2**62 float32s.
        assertThrows(.sizeOverflow) {
            try NPY.decode(npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904,), }"))
        }
    }

    func testNPYRefusesUnsupportedFeatures() throws {
        func decode(_ descr: String, fortran: String = "False") throws -> NumericArray {
            try NPY.decode(npyBytes("{'descr': \(descr), 'fortran_order': \(fortran), 'shape': (1,), }", data: [0, 0, 0, 0]))
        }
        assertThrows(.unsupported, "Fortran") { try decode("'<f4'", fortran: "True") }
        assertThrows(.unsupported, "pickled") { try decode("'|O'") }
        assertThrows(.unsupported, "big-endian") { try decode("'>f4'") }
        assertThrows(.unsupported, "'<f2'") { try decode("'<f2'") }
        assertThrows(.unsupported, "'<i4'") { try decode("'<i4'") }
        assertThrows(.unsupported, "'|b1'") { try decode("'|b1'") }
        assertThrows(.unsupported, "structured") { try decode("[('a', '<f4')]") }
        assertThrows(.unsupported, "version 4.0") {
            try NPY.decode(npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (), }", major: 4))
        }
    }

    func testNPYRefusesMalformedHeaderDicts() throws {
        let invalid: [(String, String)] = [
            ("'descr': '<f4', 'fortran_order': False, 'shape': (1,)}", "expected '{'"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (1,)", "expected ',' or '}' but found the end"),
            ("{'descr': '<f4', 'fortran_order': False}", "no 'shape'"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'extra': 1}", "'extra'"),
            ("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}", "twice"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': [1]}", "not a tuple"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (1)}", "not a tuple"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (1.0,)}", "not an integer"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}", "negative"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}", "does not fit"),
            ("{'descr': '<f4', 'fortran_order': 0, 'shape': (1,)}", "not True or False"),
            ("{'descr': <f4, 'fortran_order': False, 'shape': (1,)}", "unexpected character"),
            ("{'descr': '<f4, 'fortran_order': False, 'shape': (1,)}", "not valid"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} x", "follows"),
            ("{'descr': '<f4', 'fortran_order': Maybe, 'shape': (1,)}", "not a literal"),
            ("{'descr': 5, 'fortran_order': False, 'shape': (1,)}", "not a dtype string"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': " + String(repeating: "(", count: 10_000) + "}", "nested"),
            ("", "end of the header"),
        ]
        for (header, reason) in invalid {
            assertThrows(.malformed, reason) { try NPY.decode(npyBytes(header, data: [0, 0, 0, 0])) }
        }
    }

    /// A range of the first axis read alone equals that slice of the whole file;
    /// the header alone describes the file; bad ranges throw.
    func testRowRangesAndDescriptions() throws {
        let folder = try TestData.temporaryDirectory("npy-rows")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let bytes = TestData.randomBytes(count: 7 * 3 * 2, seed: 11)
        try NPY.write(try NumericArray(shape: [7, 3, 2], data: .uint8(bytes)), to: folder + "/b.npy")
        let floats = (0 ..< 12).map { Float($0) / 4 }
        try NPY.write(try NumericArray(shape: [4, 3], data: .float32(floats)), to: folder + "/f.npy")

        XCTAssertEqual(try NPY.read(contentsOf: folder + "/b.npy", rows: 2 ..< 5),
                       try NumericArray(shape: [3, 3, 2], data: .uint8(Array(bytes[12 ..< 30]))))
        XCTAssertEqual(try NPY.read(contentsOf: folder + "/f.npy", rows: 3 ..< 4),
                       try NumericArray(shape: [1, 3], data: .float32(Array(floats[9...]))))
        XCTAssertEqual(try NPY.read(contentsOf: folder + "/f.npy", rows: 0 ..< 4), try NPY.read(contentsOf: folder + "/f.npy"))
        let description = try NPY.describe(contentsOf: folder + "/b.npy")
        XCTAssertEqual(description.shape, [7, 3, 2])
        XCTAssert(description.holdsBytes && !description.holdsFloats)
        XCTAssertEqual(try NPY.describe(contentsOf: folder + "/f.npy").elementByteCount, 4)
        XCTAssertThrowsError(try NPY.read(contentsOf: folder + "/b.npy", rows: 5 ..< 8))
        XCTAssertThrowsError(try NPY.read(contentsOf: folder + "/b.npy", rows: -1 ..< 2))
        XCTAssertThrowsError(try NPY.read(contentsOf: folder + "/b.npy", rows: 0 ..< 2,
                                          limits: FileReadLimits(maximumBytes: 11))) { XCTAssert("\($0)".contains("limit")) }
    }
}

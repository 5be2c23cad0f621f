import Foundation
import FrameSequencing
import XCTest
@testable import FrameSequencingIO

/// File I/O: `NumericArray`, NPY and safetensors readers and writers, read limits
/// and atomic writes. NPY cases are in `IOTests+NPY.swift`, safetensors cases in
/// `IOTests+SafeTensors.swift`, the reference bytes in `IOFixtures.swift`.
final class IOTests: XCTestCase {
    /// A fresh empty directory, removed after the test.
    func temporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "frameseq-io-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    /// One array of every dtype, plus a scalar and zero-size arrays.
    func sampleArrays() throws -> [(String, NumericArray)] {
        [
            ("f32", try NumericArray(shape: [2, 3], data: .float32([1.5, -2, .infinity, -.infinity, .leastNonzeroMagnitude, -0.0]))),
            ("f64", try NumericArray(shape: [3], data: .float64([.pi, -1e300, .greatestFiniteMagnitude]))),
            ("u8", try NumericArray(shape: [2, 2, 2], data: .uint8([0, 1, 2, 127, 128, 200, 254, 255]))),
            ("i64", try NumericArray(shape: [1, 3], data: .int64([.min, 0, .max]))),
            ("scalar", try NumericArray(shape: [], data: .float32([42]))),
            ("empty", try NumericArray(shape: [0, 3], data: .float64([]))),
            ("emptyInner", try NumericArray(shape: [3, 0, 2], data: .uint8([]))),
        ]
    }

    // MARK: NumericArray

    func testNumericArrayValidatesShape() throws {
        assertThrows(.elementCount) { try NumericArray(shape: [2, 3], data: .float32([1, 2, 3])) }
        assertThrows(.elementCount) { try NumericArray(shape: [], data: .int64([])) }
        assertThrows(.invalidArgument, "negative") { try NumericArray(shape: [-1, 2], data: .uint8([])) }
        assertThrows(.sizeOverflow) { try NumericArray(shape: [1 << 62, 4], data: .uint8([])) }
        let scalar = try NumericArray(shape: [], data: .float64([3]))
        XCTAssertEqual(scalar.elementCount, 1)
    }

    func testNumericArrayConvertsEveryTypeToFloat32() throws {
        let expected = try Tensor(shape: [2, 2], scalars: [Float]([1, 2, 255, 0]))
        XCTAssertEqual(try NumericArray(shape: [2, 2], data: .float32([1, 2, 255, 0])).tensor(), expected)
        XCTAssertEqual(try NumericArray(shape: [2, 2], data: .float64([1, 2, 255, 0])).tensor(), expected)
        XCTAssertEqual(try NumericArray(shape: [2, 2], data: .uint8([1, 2, 255, 0])).tensor(), expected)
        XCTAssertEqual(try NumericArray(shape: [2, 2], data: .int64([1, 2, 255, 0])).tensor(), expected)
        XCTAssertEqual(NumericArray(expected), try NumericArray(shape: [2, 2], data: .float32([1, 2, 255, 0])))
        XCTAssertEqual(try NumericArray(shape: [], data: .int64([7])).tensor().dimensions, [])
    }

    func testFrameStackKeepsBytesAndScalesEveryType() throws {
        // (frames 2, height 1, width 2): rank 3 reads as one channel.
        let bytes = try NumericArray(shape: [2, 1, 2], data: .uint8([0, 51, 102, 255]))
        let stack = try bytes.frameStack(scale: 1.0 / 255)
        XCTAssertEqual(stack.storage, .bytes([0, 51, 102, 255], scale: 1.0 / 255))
        XCTAssertEqual(stack.frameShape, try FrameShape(height: 1, width: 2, channels: 1))
        XCTAssertEqual(stack.count, 2)
        let doubles = try NumericArray(shape: [2, 1, 2, 1], data: .float64([0, 51, 102, 255]))
        XCTAssertEqual(try doubles.frameStack(scale: 1.0 / 255).tensor(), try stack.tensor())
        let floats = try NumericArray(shape: [1, 1, 1, 2], data: .float32([2, 4]))
        XCTAssertEqual(try floats.frameStack(scale: 0.5).storage, .float32([1, 2]))
        assertThrows(.invalidArgument) { try NumericArray(shape: [2, 2], data: .uint8([1, 2, 3, 4])).frameStack() }
        assertThrows(.invalidArgument) { try NumericArray(shape: [0, 2, 2], data: .uint8([])).frameStack() }
    }

    // MARK: Limits and file system

    func testReadersRefuseDataAboveTheMemoryLimit() throws {
        let directory = try temporaryDirectory()
        let array = try NumericArray(shape: [4, 4], data: .float32(Array(repeating: 1, count: 16)))   // 64 bytes
        try NPY.write(array, to: directory + "/a.npy")
        try SafeTensors([.init(name: "a", array: array)]).write(to: directory + "/a.safetensors")
        assertThrows(.memoryLimit, "FileReadLimits") {
            try NPY.read(contentsOf: directory + "/a.npy", limits: FileReadLimits(maximumBytes: 63))
        }
        assertThrows(.memoryLimit, "FileReadLimits") {
            try SafeTensors.read(contentsOf: directory + "/a.safetensors", limits: FileReadLimits(maximumBytes: 63))
        }
        // Exactly the data size is allowed (the safetensors header here is 56 bytes).
        XCTAssertEqual(try NPY.read(contentsOf: directory + "/a.npy", limits: FileReadLimits(maximumBytes: 64)), array)
        XCTAssertEqual(try SafeTensors.read(contentsOf: directory + "/a.safetensors",
                                            limits: FileReadLimits(maximumBytes: 64))["a"], array)
        XCTAssertGreaterThan(FileReadLimits.default.maximumBytes, 1 << 20)
    }

    func testReadingAMissingFileOrADirectoryThrowsFileSystem() throws {
        let directory = try temporaryDirectory()
        assertThrows(.fileSystem, "No such file") { try NPY.read(contentsOf: directory + "/missing.npy") }
        assertThrows(.fileSystem, "not a regular file") { try SafeTensors.read(contentsOf: directory) }
        let array = try NumericArray(shape: [1], data: .uint8([1]))
        assertThrows(.fileSystem) { try NPY.write(array, to: directory + "/no/such/dir/a.npy") }
    }

    // MARK: Atomic writes

    func testAtomicWriteReplacesTheFileAndLeavesNoTemporaryFile() throws {
        let directory = try temporaryDirectory()
        let path = directory + "/data.npy"
        let old = try NumericArray(shape: [2], data: .int64([1, 2]))
        let new = try NumericArray(shape: [3], data: .float32([3, 4, 5]))
        try NPY.write(old, to: path)
        try NPY.write(new, to: path)
        XCTAssertEqual(try NPY.read(contentsOf: path), new)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), ["data.npy"])
    }

    func testFailedAtomicWriteKeepsTheOldContentAndRemovesTheTemporaryFile() throws {
        let directory = try temporaryDirectory()
        let path = directory + "/data.bin"
        try writeAtomically(to: path, [1, 2, 3])
        struct Interrupted: Error {}
        XCTAssertThrowsError(try writeAtomically(to: path) { file in
            try file.write([9, 9, 9, 9, 9])
            throw Interrupted()
        }) { XCTAssertTrue($0 is Interrupted) }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), Data([1, 2, 3]))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), ["data.bin"])

        // A rename that fails (the destination is a non-empty directory) cleans up too.
        try FileManager.default.createDirectory(atPath: directory + "/taken/inner", withIntermediateDirectories: true)
        assertThrows(.fileSystem, "replace") { try NPY.write(NumericArray(shape: [1], data: .uint8([1])), to: directory + "/taken") }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory).sorted(), ["data.bin", "taken"])
    }

    func testConcurrentReadersSeeEitherTheOldOrTheNewFile() throws {
        let directory = try temporaryDirectory()
        let path = directory + "/data.bin"
        let first = [UInt8](repeating: 1, count: 1 << 18)
        let second = [UInt8](repeating: 2, count: 3 << 17)
        try writeAtomically(to: path, first)
        let writer = Thread {
            for round in 0 ..< 40 { try? writeAtomically(to: path, round % 2 == 0 ? second : first) }
        }
        writer.start()
        var seen = Set<Int>()
        for _ in 0 ..< 200 {
            let content = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
            XCTAssertTrue(content == first || content == second, "a reader saw \(content.count) bytes of mixed content")
            seen.insert(content.count)
        }
        while !writer.isFinished { usleep(1000) }
        XCTAssertFalse(seen.isEmpty)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), ["data.bin"])
    }

    // MARK: Hostile input

    /// Every prefix and many single-byte corruptions of valid files must throw or
    /// decode, never trap.
    func testCorruptedFilesNeverTrap() throws {
        var generator = SeededGenerator(seed: 7)
        let arrays = try sampleArrays()
        let files = try arrays.map { try NPY.encode($0.1) }
            + [try SafeTensors(arrays.map { .init(name: $0.0, array: $0.1) }, metadata: ["k": "v"]).encode()]
        for bytes in files {
            let decode: ([UInt8]) throws -> Void = bytes.starts(with: [0x93])
                ? { _ = try NPY.decode($0) } : { _ = try SafeTensors.decode($0) }
            for length in 0 ..< bytes.count { _ = try? decode(Array(bytes.prefix(length))) }
            for _ in 0 ..< 300 {
                var corrupt = bytes
                corrupt[generator.next(below: corrupt.count)] = UInt8(truncatingIfNeeded: generator.next())
                _ = try? decode(corrupt)
            }
        }
    }
}

import Foundation
import FrameSequencing
import XCTest

/// The memory ceiling (`FileReadLimits.default` and per-call `limits:`): every
/// reader and every materializing API refuses, before allocating, what would
/// exceed it, with the bytes it would take; sizes never overflow silently.
final class MemoryCeilingTests: XCTestCase {
    /// Runs `body` with the process-wide ceiling at `bytes`, restoring it after.
    func withCeiling(_ bytes: Int, _ body: () throws -> Void) rethrows {
        let saved = FileReadLimits.default
        FileReadLimits.default = FileReadLimits(maximumBytes: bytes)
        defer { FileReadLimits.default = saved }
        try body()
    }

    /// 10 frames of (4, 4, 1) Float32: 64 bytes a frame.
    func frames() throws -> FrameStack {
        try FrameStack(stacked: (0 ..< 160).map(Float.init), frameShape: FrameShape(height: 4, width: 4, channels: 1))
    }

    func testTheDefaultStartsAtPhysicalMemoryAndIsSettable() throws {
        XCTAssertEqual(FileReadLimits.default, FileReadLimits.physicalMemory)
        XCTAssertGreaterThan(FileReadLimits.physicalMemory.maximumBytes, 1 << 20)
        withCeiling(1000) { XCTAssertEqual(FileReadLimits.default.maximumBytes, 1000) }
        XCTAssertEqual(FileReadLimits.default, FileReadLimits.physicalMemory)
        XCTAssertEqual(FileReadLimits(maximumBytes: -5).maximumBytes, 0)
    }

    func testTensorsAboveTheProcessCeilingAreRefusedWithTheirSize() throws {
        try withCeiling(4000) {
            XCTAssertNoThrow(try Tensor(shape: [10, 100]))   // exactly 4000 bytes
            assertThrows(.memoryLimit, "needs 4004 bytes, more than the limit of 4000 bytes") { try Tensor(shape: [1001]) }
            assertThrows(.memoryLimit, "batches") { try Tensor(shape: [1001], repeating: 1) }
        }
        // Element counts and byte counts that do not fit in Int are overflow, never a wrapped size.
        assertThrows(.sizeOverflow) { try Tensor(shape: [1 << 31, 1 << 31, 1 << 2]) }
        assertThrows(.sizeOverflow) { try Tensor(shape: [1 << 61, 2]) }
    }

    func testMaterializingWindowsAboveTheCeilingPointsToLazyBatches() throws {
        let windows = try frames().windows(WindowParameters(sequenceLength: 3, target: .frameAfter(steps: 1)))
        XCTAssertEqual(windows.count, 7)
        // 7 windows x 3 timesteps x 16 features x 4 bytes.
        let inputBytes = 7 * 3 * 16 * 4
        let small = FileReadLimits(maximumBytes: inputBytes - 1)
        assertThrows(.memoryLimit, "needs \(inputBytes) bytes") { try windows.inputs(limits: small) }
        assertThrows(.memoryLimit, "windows.batches(size:)") { try windows.inputs(layout: .timeMajor, limits: small) }
        assertThrows(.memoryLimit, "needs \(7 * 16 * 4) bytes") { try windows.targets(limits: FileReadLimits(maximumBytes: 100)) }
        XCTAssertEqual(try windows.inputs(limits: FileReadLimits(maximumBytes: inputBytes)).dimensions, [7, 3, 16])

        // The process-wide ceiling applies when no limits are passed; a per-call
        // limit replaces it, and lazy batches still work under it.
        try withCeiling(inputBytes - 1) {
            assertThrows(.memoryLimit, "WindowBatches.fill") { try windows.inputs() }
            assertThrows(.memoryLimit, "\(inputBytes) bytes") { try windows.inputs(layout: .spatial) }
            XCTAssertEqual(try windows.inputs(limits: .unlimited).dimensions, [7, 3, 16])
            let batches = try windows.batches(size: 2)
            var buffer = try batches.makeBuffer()
            for index in batches.indices { try batches.fill(index, into: &buffer) }
            XCTAssertEqual(buffer.inputs.dimensions, [1, 3, 16])
        }
    }

    func testBatchBuffersAndRollingWindowsAboveTheCeilingAreRefused() throws {
        let windows = try frames().windows(WindowParameters(sequenceLength: 3, target: .frameAfter(steps: 1)))
        // A buffer of 4 windows: inputs (4, 3, 16) and targets (4, 16), 1024 bytes.
        try withCeiling(1023) {
            assertThrows(.memoryLimit, "needs 1024 bytes") { try windows.batches(size: 4).makeBuffer() }
            assertThrows(.memoryLimit, "smaller size") { try windows.batches(size: 4).batch(0) }
            XCTAssertNoThrow(try windows.batches(size: 3).makeBuffer())
        }
        let shape = try FrameShape(height: 4, width: 4, channels: 1)
        try withCeiling(1000) {
            // A ring of (10 - 1) * 2 + 1 = 19 frames of 16 values: 1216 bytes.
            assertThrows(.memoryLimit, "1216 bytes") { try RollingWindow(frameShape: shape, sequenceLength: 10, samplingRate: 2) }
            XCTAssertNoThrow(try RollingWindow(frameShape: shape, sequenceLength: 10))   // 640 bytes
        }
        // Sizes past Int are overflow, before any ceiling comparison.
        let huge = try FrameShape(height: 1 << 20, width: 1 << 20, channels: 1 << 10)
        assertThrows(.sizeOverflow) { try RollingWindow(frameShape: huge, sequenceLength: 1 << 20) }
        assertThrows(.sizeOverflow) { try RollingWindow(frameShape: huge, sequenceLength: 3, samplingRate: Int.max / 2) }
    }

    func testEveryReaderChecksTheProcessCeilingBeforeAllocating() throws {
        let array = try NumericArray(shape: [4, 100], data: .float32(Array(repeating: 1, count: 400)))   // 1600 bytes
        let npy = try NPY.encode(array)
        let safetensors = try SafeTensors([.init(name: "x", array: array)]).encode()
        let image = try ByteImage(shape: FrameShape(height: 40, width: 40, channels: 1), pixels: Array(repeating: 7, count: 1600))
        let png = try PNG.encode(image)
        let pnm = try PNM.encode(image)
        let directory = NSTemporaryDirectory() + "frameseq-ceiling-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try NPY.write(array, to: directory + "/a.npy")
        try SafeTensors([.init(name: "x", array: array)]).write(to: directory + "/a.safetensors")
        try PNG.write(image, to: directory + "/a.png")
        try PNM.write(image, to: directory + "/a.pgm")

        try withCeiling(1599) {
            assertThrows(.memoryLimit, "1600 bytes") { try NPY.decode(npy) }
            assertThrows(.memoryLimit, "1600 bytes") { try NPY.read(contentsOf: directory + "/a.npy") }
            assertThrows(.memoryLimit, "1600 bytes") { try SafeTensors.decode(safetensors) }
            assertThrows(.memoryLimit, "1600 bytes") { try SafeTensors.read(contentsOf: directory + "/a.safetensors") }
            assertThrows(.memoryLimit) { try PNG.decode(png) }
            assertThrows(.memoryLimit) { try PNG.read(contentsOf: directory + "/a.png") }
            assertThrows(.memoryLimit, "1600 bytes") { try PNM.decode(pnm) }
            assertThrows(.memoryLimit, "1613 bytes") { try PNM.read(contentsOf: directory + "/a.pgm") }   // the file (header and raster) is checked first
            assertThrows(.memoryLimit) { try ImageFolder.read(directory: directory) }
            // A per-call limit replaces the process-wide one.
            XCTAssertEqual(try NPY.decode(npy, limits: .unlimited), array)
            XCTAssertEqual(try SafeTensors.decode(safetensors, limits: .unlimited)["x"], array)
            XCTAssertEqual(try PNM.decode(pnm, limits: .unlimited), image)
        }
        XCTAssertEqual(try NPY.read(contentsOf: directory + "/a.npy"), array)
    }

    func testHeadersDeclaringHugeDataAreRefusedAgainstTheFileSize() throws {
        // Each header claims terabytes or more in a file of a few hundred bytes:
        // refused as truncated or overflow from the header alone, whatever the ceiling.
        let claim = try NPY.encode(try NumericArray(shape: [3], data: .float32([1, 2, 3])))
        func npy(shape: String) -> [UInt8] {
            var header = Array("{'descr': '<f4', 'fortran_order': False, 'shape': \(shape), }".utf8)
            header += [UInt8](repeating: 0x20, count: (64 - (10 + header.count + 1) % 64) % 64) + [0x0A]
            return Array(claim.prefix(8)) + [UInt8(header.count & 0xFF), UInt8(header.count >> 8)] + header + [0, 0, 0, 0]
        }
        assertThrows(.truncated, "describes 4398046511232 bytes") { try NPY.decode(npy(shape: "(1048576, 1048576)"), limits: .unlimited) }
        assertThrows(.sizeOverflow) { try NPY.decode(npy(shape: "(4611686018427387904, 2)"), limits: .unlimited) }
        assertThrows(.sizeOverflow) { try NPY.decode(npy(shape: "(2305843009213693952, 1)"), limits: .unlimited) }

        func safetensors(_ json: String) -> [UInt8] {
            var header = Array(json.utf8)
            header += [UInt8](repeating: 0x20, count: (8 - header.count % 8) % 8)
            var bytes = [UInt8]()
            for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: header.count >> shift)) }
            return bytes + header + [0, 0, 0, 0]
        }
        let terabytes = #"{"x":{"dtype":"F32","shape":[1048576,1048576],"data_offsets":[0,4398046511104]}}"#
        assertThrows(.truncated) { try SafeTensors.decode(safetensors(terabytes), limits: .unlimited) }
        let wrapped = #"{"x":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,0]}}"#
        assertThrows(.sizeOverflow) { try SafeTensors.decode(safetensors(wrapped), limits: .unlimited) }
        let pastEnd = #"{"x":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"y":{"dtype":"U8","shape":[9223372036854775807],"data_offsets":[1,9223372036854775807]}}"#
        XCTAssertThrowsError(try SafeTensors.decode(safetensors(pastEnd), limits: .unlimited))

        // PNM: a greymap claiming 2^31-1 squared pixels in a 20-byte file.
        assertThrows(.truncated) { try PNM.decode(Array("P5 2147483647 2147483647 255\n".utf8) + [1, 2, 3], limits: .unlimited) }
    }
}

import FrameSequencing
import TestSupport
import XCTest

/// Every subscript that traps outside its indices, as a `Collection`'s does, has a
/// throwing twin that returns the same value inside them and `indexOutOfRange`
/// outside.
final class ThrowingAccessorTests: XCTestCase {
    private func assertOutOfRange<T>(_ text: String, file: StaticString = #filePath, line: UInt = #line,
                                     _ body: () throws -> T) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            guard case FrameSequencingError.indexOutOfRange = error else {
                return XCTFail("expected indexOutOfRange, got \(error)", file: file, line: line)
            }
            XCTAssertTrue("\(error)".contains(text), "'\(error)' does not mention '\(text)'", file: file, line: line)
        }
    }

    func testWindowsAndBatches() throws {
        let frames = try TestData.labelledFrames(count: 20, height: 2, width: 2, channels: 1)
        let windows = try frames.windows(.overlapping(length: 4, overlap: 2))
        for index in windows.indices {
            XCTAssertEqual(try windows.window(at: index).frameIndices, windows[index].frameIndices)
        }
        let window = try windows.window(at: 1)
        XCTAssertEqual(try window.inputs().dimensions, [4, 4])
        XCTAssertEqual(try window.inputs(layout: .spatial).dimensions, [4, 2, 2, 1])
        XCTAssertEqual(try window.inputs(layout: .spatial).scalars, try window.inputs().scalars)
        assertOutOfRange("Window index -1 is out of range 0..<\(windows.count)") { try windows.window(at: -1) }
        assertOutOfRange("Window index \(windows.count) is out of range") { try windows.window(at: windows.count) }

        let batches = try windows.batches(size: 3, shuffleSeed: 5, keepShortLastBatch: true)
        for index in batches.indices {
            XCTAssertEqual(try batches.windowIndices(ofBatch: index), batches[index])
        }
        assertOutOfRange("Batch index \(batches.count) is out of range 0..<\(batches.count)") {
            try batches.windowIndices(ofBatch: batches.count)
        }
    }

    func testPaddedBatches() throws {
        let sequences = try [[Float(1)], [1, 2], [1, 2, 3], [4, 5, 6, 7], [8]].map { try Tensor(shape: [$0.count], scalars: $0) }
        let batches = try PaddedBatches(sequences, size: 2, padding: .post, truncating: .post, shuffleSeed: 3)
        for index in batches.indices {
            XCTAssertEqual(try batches.batch(at: index).values, batches[index].values)
            XCTAssertEqual(try batches.members(of: index).count, batches[index].lengths.count)
        }
        assertOutOfRange("Padded batch index 3 is out of range 0..<3") { try batches.batch(at: 3) }
        assertOutOfRange("Padded batch index -1") { try batches.members(of: -1) }
    }

    func testByteImageSamples() throws {
        let image = try ByteImage(shape: FrameShape(height: 2, width: 3, channels: 2), pixels: Array(0 ..< 12))
        for row in 0 ..< 2 {
            for column in 0 ..< 3 {
                for channel in 0 ..< 2 {
                    XCTAssertEqual(try image.sample(row: row, column: column, channel: channel), image[row, column, channel])
                }
            }
        }
        assertOutOfRange("Row of a") { try image.sample(row: 2, column: 0, channel: 0) }
        assertOutOfRange("Column of a") { try image.sample(row: 0, column: -1, channel: 0) }
        assertOutOfRange("Channel of a") { try image.sample(row: 1, column: 2, channel: 2) }
    }
}

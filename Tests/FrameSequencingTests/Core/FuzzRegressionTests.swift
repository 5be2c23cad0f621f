import FrameSequencing
import XCTest

/// Inputs the fuzz targets (Fuzz/) found crashing, each now refused with a
/// typed error. A test names the target and the artifact it reproduces; the
/// parameter targets' inputs are written out as the calls they decode to.
final class FuzzRegressionTests: XCTestCase {
    /// `windows` target, crash-79770e2e (`zzol\xedz\x03`): a RollingWindow whose
    /// ring buffer needs 2 TB trapped in the allocator instead of throwing.
    func testRollingWindowLargerThanMemoryThrowsBeforeAllocating() throws {
        let shape = try FrameShape(height: 3, width: 1, channels: 1)
        assertThrows(.memoryLimit, "sampling rate 57") {
            try RollingWindow(frameShape: shape, sequenceLength: 3_037_000_500, samplingRate: 57)
        }
        assertThrows(.memoryLimit, "shorter sequence length") { try RollingWindow(frameShape: shape, sequenceLength: 1 << 40) }
        // Still a size overflow when the byte count itself does not fit in Int.
        assertThrows(.sizeOverflow) { try RollingWindow(frameShape: shape, sequenceLength: 1 << 62) }
    }

    /// `windows` target, crash-5fb2a519: one-step windows at sampling rate
    /// `Int.max - 1` (valid: one step spans no frames) trapped in `frameIndices`,
    /// which computed a bound one step past the window; `.offset` targets in
    /// `targetFrameIndices` the same way.
    func testFrameIndicesOfOneStepWindowsAtAHugeSamplingRate() throws {
        let frames = try FrameStack(stacked: (0 ..< 16 * 12).map(Float.init), frameShape: FrameShape(height: 2, width: 2, channels: 3))
        let windows = try frames.windows(WindowParameters(sequenceLength: 1, sequenceStride: 2, samplingRate: Int.max - 1))
        XCTAssertEqual(windows.count, 8)
        XCTAssertEqual(windows.map(\.frameIndices), (0 ..< 8).map { [2 * $0] })
        let offset = try frames.windows(WindowParameters(sequenceLength: 1, sequenceStride: 5, samplingRate: Int.max,
                                                         target: .offset(3)))
        XCTAssertEqual(offset.map(\.frameIndices), [[0], [5], [10]])
        XCTAssertEqual(offset.map(\.targetFrameIndices), [[3], [8], [13]])
        XCTAssertEqual(try offset.targets()?.dimensions, [3, 12])
    }
}

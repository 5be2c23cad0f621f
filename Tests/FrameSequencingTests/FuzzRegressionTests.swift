import XCTest
import FrameSequencing

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
}

import FrameSequencing
import TestSupport
import XCTest

/// Space-to-depth beyond the TensorFlow fixtures (which need H and W divisible
/// by the block): the padding policy at the seeds' 785 x 785, byte frames,
/// sub-ranges of a patched stack, and the errors.
final class SpaceToDepthTests: XCTestCase {
    /// The reference: element (y, x, c) of a frame lands at patched
    /// (y / p, x / p, ((y % p) * p + x % p) * C + c); everything else is padding (0).
    private func reference(_ frame: [Float], _ shape: FrameShape, _ p: Int) -> [Float] {
        let (ph, pw, pc) = ((shape.height + p - 1) / p, (shape.width + p - 1) / p, p * p * shape.channels)
        var out = [Float](repeating: 0, count: ph * pw * pc)
        for y in 0 ..< shape.height {
            for x in 0 ..< shape.width {
                for c in 0 ..< shape.channels {
                    let k = ((y % p) * p + x % p) * shape.channels + c
                    out[((y / p) * pw + x / p) * pc + k] = frame[(y * shape.width + x) * shape.channels + c]
                }
            }
        }
        return out
    }

    func testSeedSizeFramesPadToTheNextMultipleAndCropBack() throws {
        let shape = try FrameShape(height: 785, width: 785, channels: 3)
        let bytes = TestData.randomBytes(count: shape.featureCount, seed: 7)
        let frames = try FrameStack(stacked: bytes, frameShape: shape, scale: 1.0 / 255)
        for p in [4, 5, 8] {
            let transform = try SpaceToDepth(blockSize: p)
            let patched = try frames.patched(transform)
            let expectedShape = try FrameShape(height: (785 + p - 1) / p, width: (785 + p - 1) / p, channels: p * p * 3)
            XCTAssertEqual(patched.frameShape, expectedShape, "p = \(p)")
            XCTAssertEqual(patched.storedFrameShape, shape)
            XCTAssertEqual(transform.padding(for: shape).bottom, (p - 785 % p) % p)
            let original = try frames.tensor()
            let read = try patched.tensor()
            XCTAssertEqual(read.scalars, reference(original.scalars, shape, p), "p = \(p): patched view")
            XCTAssertEqual(try transform.apply(to: original), read, "p = \(p): tensor transform")
            let back = try transform.invert(read, height: 785, width: 785)
            XCTAssertEqual(back, original, "p = \(p): cropped back")
        }
    }

    func testPatchedSubrangesAndWindowsReadTheRightFrames() throws {
        let frames = try TestData.labelledFrames(count: 14, height: 5, width: 7, channels: 2)
        let transform = try SpaceToDepth(blockSize: 3)
        let patched = try frames.frames(3 ..< 14).patched(transform)
        XCTAssertEqual(patched.count, 11)
        for index in [0, 4, 8] {
            XCTAssertEqual(try patched.frame(at: index).scalars,
                           reference(try frames.frame(at: index + 3).scalars, frames.frameShape, 3), "frame \(index)")
        }
        // A sub-range of the patched view is still patched.
        XCTAssertEqual(try patched.frames(2 ..< 5).frame(at: 1), try patched.frame(at: 3))
        let windows = try patched.windows(WindowParameters(sequenceLength: 4, sequenceStride: 2, target: .frameAfter(steps: 1)))
        let batch = try windows.batches(size: 2).batch(1, layout: .timeMajor)      // windows 2 and 3: frames 4... and 6...
        let f = patched.featureCount
        XCTAssertEqual(batch.inputs.dimensions, [4, 2, f])
        let step2Window3 = Array(batch.inputs.scalars[(2 * 2 + 1) * f ..< (2 * 2 + 2) * f])
        XCTAssertEqual(step2Window3, try patched.frame(at: 8).scalars)
        XCTAssertEqual(Array(batch.targets!.scalars[f ..< 2 * f]), try patched.frame(at: 10).scalars)
    }

    func testBadArgumentsThrow() throws {
        XCTAssertThrowsError(try SpaceToDepth(blockSize: 0))
        let transform = try SpaceToDepth(blockSize: 2)
        let frames = try TestData.labelledFrames(count: 2, height: 4, width: 4, channels: 1)
        XCTAssertThrowsError(try frames.patched(transform).patched(transform)) {
            XCTAssert("\($0)".contains("already"), "\($0)")
        }
        XCTAssertThrowsError(try transform.apply(to: try Tensor(shape: [4, 4])))
        let patched = try transform.apply(to: try frames.tensor())                 // (2, 2, 2, 4)
        XCTAssertThrowsError(try transform.invert(patched, height: 2, width: 4)) {  // 2 rows need 1 block, not 2
            XCTAssert("\($0)".contains("2 x 4"), "\($0)")
        }
        XCTAssertThrowsError(try SpaceToDepth(blockSize: 3).invert(patched))        // 4 channels are not 9k
        XCTAssertEqual(try transform.invert(patched, height: 3, width: 4).dimensions, [2, 3, 4, 1])
    }
}

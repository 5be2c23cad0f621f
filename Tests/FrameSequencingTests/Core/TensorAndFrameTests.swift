import FrameSequencing
import TestSupport
import XCTest

final class TensorAndFrameTests: XCTestCase {
    func testReshapeAndSliceShareStorageUntilWritten() throws {
        var base = try Tensor(shape: Shape([2, 3, 4], names: ["batch", "timesteps", "features"]), scalars: (0 ..< 24).map(Float.init))
        let flat = try base.reshaped(to: [6, 4])
        let second = try base.slice(1 ..< 2)
        XCTAssertEqual(second.dimensions, [1, 3, 4])
        XCTAssertEqual(second.scalars, (12 ..< 24).map(Float.init))
        XCTAssertEqual(try second.scalar(at: [0, 2, 3]), 23)
        XCTAssertEqual(base.shape.description, "(batch 2, timesteps 3, features 4)")
        // Writing the original leaves the reshaped copy and the view unchanged.
        base.withUnsafeMutableBufferPointer { $0[12] = -1 }
        XCTAssertEqual(try flat.scalar(at: [3, 0]), 12)
        XCTAssertEqual(try second.scalar(at: [0, 0, 0]), 12)
        XCTAssertEqual(try base.scalar(at: [1, 0, 0]), -1)
        // Writing a view gives it storage of its own holding just its elements.
        var view = second
        view.withUnsafeMutableBufferPointer { XCTAssertEqual($0.count, 12); $0[0] = 7 }
        XCTAssertEqual(view.scalars.first, 7)
    }

    func testTensorErrors() throws {
        XCTAssertThrowsError(try Tensor(shape: [2, -1]))
        XCTAssertThrowsError(try Tensor(shape: [1 << 40, 1 << 40])) { error in
            XCTAssertEqual(error as? FrameSequencingError, .sizeOverflow(shape: [1 << 40, 1 << 40]))
        }
        XCTAssertThrowsError(try Tensor(shape: [1 << 62, 2]))   // element count fits, bytes do not
        // Fits in Int but not in memory: refused before allocating, with the size it would take.
        XCTAssertThrowsError(try Tensor(shape: [1 << 20, 1 << 20, 1 << 10])) { error in
            guard case let .exceedsMemoryLimit(requested, _, hint)? = error as? FrameSequencingError else { return XCTFail("\(error)") }
            XCTAssertEqual(requested, 1 << 52)
            XCTAssertTrue(hint.contains("batches"))
        }
        XCTAssertThrowsError(try padSequences([[1, 2]], length: .fixed(1 << 45), padding: .pre, truncating: .pre))
        XCTAssertThrowsError(try Tensor(shape: [2, 3], scalars: [1, 2, 3]))
        let t = try Tensor(shape: [2, 3])
        XCTAssertThrowsError(try t.reshaped(to: [4, 2]))
        XCTAssertThrowsError(try t.slice(1 ..< 3))
        XCTAssertThrowsError(try t.slice(-1 ..< 1))
        XCTAssertThrowsError(try t.scalar(at: [2, 0]))
        XCTAssertThrowsError(try t.scalar(at: [0]))
        XCTAssertThrowsError(try Tensor(shape: []).slice(0 ..< 0))
    }

    func testFramesFromEveryElementType() throws {
        let shape = try FrameShape(height: 2, width: 2, channels: 1)
        let floats = try FrameStack(frames: [[1, 2, 3, 4], [5, 6, 7, 8]] as [[Float]], shape: shape)
        let doubles = try FrameStack(frames: [[1, 2, 3, 4], [5, 6, 7, 8]] as [[Double]], shape: shape)
        let bytes = try FrameStack(frames: [[255, 0, 51, 102], [1, 2, 3, 4]] as [[UInt8]], shape: shape, scale: 1.0 / 255)
        XCTAssertEqual(try floats.tensor(), try doubles.tensor())
        XCTAssertEqual(try bytes.frame(at: 0).scalars, [255, 0, 51, 102].map { Float($0) * (1.0 / 255) })
        XCTAssertEqual(try bytes.frame(at: 0).dimensions, [2, 2, 1])
        let stacked = try FrameStack(stacked: floats.tensor())
        XCTAssertEqual(stacked.count, 2)
        let tensors = try FrameStack(frames: [floats.frame(at: 0), floats.frame(at: 1)])
        XCTAssertEqual(try tensors.tensor(), try floats.tensor())
        XCTAssertEqual(try floats.frames(1 ..< 2).tensor().scalars, [5, 6, 7, 8])
    }

    func testMixedFrameShapesNameTheFirstOffender() throws {
        let a = try Tensor(shape: [4, 4, 1])
        let b = try Tensor(shape: [4, 5, 1])
        let four = try FrameShape(height: 4, width: 4, channels: 1)
        let five = try FrameShape(height: 4, width: 5, channels: 1)
        XCTAssertThrowsError(try FrameStack(frames: [a, a, b, a])) { error in
            guard case let .frameShapeMismatch(index, expected, actual)? = error as? FrameSequencingError else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(index, 2)
            XCTAssertEqual(expected, four)
            XCTAssertEqual(actual, five)
            XCTAssertTrue("\(error)".contains("Frame 2"))
        }
        let shape = try FrameShape(height: 2, width: 2, channels: 1)
        XCTAssertThrowsError(try FrameStack(frames: [[1, 2, 3, 4], [1, 2, 3]] as [[Float]], shape: shape)) { error in
            XCTAssertEqual(error as? FrameSequencingError,
                           .elementCountMismatch(name: "Frame 1 of shape (2, 2, 1)", expected: 4, actual: 3))
        }
        XCTAssertThrowsError(try FrameStack(frames: [] as [[Float]], shape: shape))
        XCTAssertThrowsError(try FrameStack(frames: [] as [Tensor]))
        XCTAssertThrowsError(try FrameStack(stacked: [1, 2, 3] as [Float], frameShape: shape))
        XCTAssertThrowsError(try FrameStack(stacked: Tensor(shape: [2, 2, 2])))
        XCTAssertThrowsError(try FrameStack(stacked: [1, 2, 3, 4] as [UInt8], frameShape: shape, scale: .nan))
        XCTAssertThrowsError(try FrameShape(height: 0, width: 1, channels: 1))
        XCTAssertThrowsError(try FrameShape(height: 1 << 32, width: 1 << 32, channels: 1 << 32))
        XCTAssertThrowsError(try FrameStack(frames: [a]).frames(0 ..< 2))
        XCTAssertThrowsError(try FrameStack(frames: [a]).frame(at: 1))
    }

    func testImageRowsAndColumnsAsSequences() throws {
        // 28x28x3 gives (28, 84) either way.
        let image = try Tensor(shape: [28, 28, 3], scalars: (0 ..< 2352).map(Float.init))
        XCTAssertEqual(try image.imageSequence(along: .rows).dimensions, [28, 84])
        XCTAssertEqual(try image.imageSequence(along: .columns).dimensions, [28, 84])
        // A 2x3x2 image: columns hold (row, channel) pairs top to bottom.
        let small = try Tensor(shape: [2, 3, 2], scalars: (0 ..< 12).map(Float.init))
        XCTAssertEqual(try small.imageSequence(along: .rows).scalars, (0 ..< 12).map(Float.init))
        XCTAssertEqual(try small.imageSequence(along: .columns).scalars, [0, 1, 6, 7, 2, 3, 8, 9, 4, 5, 10, 11])
        let batch = try Tensor(shape: [2, 2, 3, 2], scalars: (0 ..< 24).map(Float.init))
        let columns = try batch.imageSequence(along: .columns)
        XCTAssertEqual(columns.dimensions, [2, 3, 4])
        XCTAssertEqual(try columns.slice(1 ..< 2).scalars, [12, 13, 18, 19, 14, 15, 20, 21, 16, 17, 22, 23])
        let frames = try FrameStack(stacked: batch)
        XCTAssertEqual(try frames.imageSequences(along: .rows).dimensions, [2, 2, 6])
        XCTAssertThrowsError(try Tensor(shape: [4, 4]).imageSequence(along: .rows))
    }

    /// A stack says whether it holds bytes (and their scale) or floats; sub-ranges keep it.
    func testElementKind() throws {
        let shape = try FrameShape(height: 2, width: 2, channels: 1)
        let bytes = try FrameStack(frames: [[UInt8]](repeating: [1, 2, 3, 4], count: 3), shape: shape, scale: 0.5)
        XCTAssertEqual(bytes.elementKind, .bytes(scale: 0.5))
        XCTAssertEqual(try bytes.frames(1 ..< 3).elementKind, .bytes(scale: 0.5))
        let floats = try FrameStack(stacked: [Float](repeating: 1, count: 8), frameShape: shape)
        XCTAssertEqual(floats.elementKind, .float32)
    }
}

import FrameSequencing
import Recurrent
import TestSupport
import XCTest

/// SSIM's laws (identity, symmetry, batched equals per frame, scale with the
/// data range), the fast kernel against its scalar twin, the closed form on
/// constant frames, and every caller mistake as a typed error. Agreement with
/// scikit-image is the `ssim` fixture suite's job.
final class StructuralSimilarityTests: XCTestCase {
    /// A seeded frame of `shape` with values in [0, 1).
    func frame(_ shape: [Int], seed: UInt64) throws -> Tensor {
        var generator = SeededGenerator(seed: seed)
        let count = shape.reduce(1, *)
        return try Tensor(shape: Shape(shape), scalars: (0 ..< count).map { _ in generator.nextUnitFloat() })
    }

    /// `base` plus seeded noise of amplitude 0.2, clipped to [0, 1]: a frame that
    /// resembles `base`, so SSIM lands well inside (0, 1).
    func noisy(_ base: Tensor, seed: UInt64) throws -> Tensor {
        var generator = SeededGenerator(seed: seed)
        let values = base.scalars.map { min(max($0 + 0.4 * (generator.nextUnitFloat() - 0.5), 0), 1) }
        return try Tensor(shape: base.shape, scalars: values)
    }

    func testIdenticalFramesGiveExactlyOne() throws {
        let ssim = StructuralSimilarity()
        for (shape, seed) in [([11, 11, 1], 1), ([23, 19, 3], 2), ([12, 40, 2], 3)] as [([Int], UInt64)] {
            let a = try frame(shape, seed: seed)
            XCTAssertEqual(try ssim.evaluate(a, a), 1, "\(shape)")
        }
        let constant = try Tensor(shape: [13, 13, 2], repeating: 0.37)
        XCTAssertEqual(try ssim.evaluate(constant, constant), 1)
        let black = try Tensor(shape: [11, 12, 1])
        XCTAssertEqual(try ssim.evaluate(black, black), 1, "C1 C2 / (C1 C2) where every moment is 0")
    }

    func testSymmetricBitForBit() throws {
        let ssim = StructuralSimilarity()
        for (shape, seed) in [([11, 11, 1], 10), ([17, 13, 3], 11), ([30, 21, 4], 12)] as [([Int], UInt64)] {
            let a = try frame(shape, seed: seed)
            let b = try noisy(a, seed: seed + 100)
            let forward = try ssim.evaluate(a, b), backward = try ssim.evaluate(b, a)
            XCTAssertEqual(forward, backward, "\(shape)")
            XCTAssert(forward > 0.1 && forward < 0.99, "\(shape): \(forward) is not a middling similarity")
        }
    }

    func testBatchedEqualsPerFrame() throws {
        let ssim = StructuralSimilarity()
        let (frames, height, width, channels) = (4, 17, 13, 2)
        let a = try frame([frames, height, width, channels], seed: 20)
        let b = try noisy(a, seed: 21)
        let batched = try ssim.evaluateFrames(a, b)
        XCTAssertEqual(batched.count, frames)
        for n in 0 ..< frames {
            let single = try ssim.evaluate(a.slice(n ..< n + 1).reshaped(to: [height, width, channels]),
                                           b.slice(n ..< n + 1).reshaped(to: [height, width, channels]))
            XCTAssertEqual(batched[n], single, "frame \(n)")
        }
        XCTAssertEqual(Set(batched).count, frames, "each frame's own score, not one repeated")
        XCTAssertEqual(try ssim.evaluateFrames(Tensor(shape: [0, 11, 11, 1]), Tensor(shape: [0, 11, 11, 1])), [])
    }

    /// The separable, row-by-row kernel equals the direct 11 x 11 window on sizes
    /// at and past the window, odd and even, one to five channels.
    func testKernelEqualsScalarTwin() throws {
        let ssim = StructuralSimilarity()
        var worst = 0.0
        for (index, shape) in [[11, 11, 1], [11, 12, 3], [12, 11, 2], [13, 17, 3], [29, 14, 5], [20, 33, 1]].enumerated() {
            let a = try frame(shape, seed: 30 + UInt64(index))
            let b = try noisy(a, seed: 60 + UInt64(index))
            let fast = try ssim.evaluate(a, b)
            let reference = referenceSSIMMean(a: a.scalars, b: b.scalars, height: shape[0], width: shape[1],
                                              channels: shape[2])
            worst = max(worst, abs(fast - reference))
            XCTAssertEqual(fast, reference, accuracy: 1e-12, "\(shape)")
        }
        print("ssim kernel vs scalar twin: worst |difference| \(worst)")
    }

    /// Where every variance vanishes, SSIM is the luminance term
    /// (2 m_a m_b + C1) / (m_a^2 + m_b^2 + C1), C1 = (0.01 L)^2.
    func testConstantFramesGiveTheLuminanceTerm() throws {
        let (p, q): (Float, Float) = (0.2, 0.65)
        let a = try Tensor(shape: [14, 12, 2], repeating: p), b = try Tensor(shape: [14, 12, 2], repeating: q)
        let (mA, mB, c1) = (Double(p), Double(q), 1e-4)
        XCTAssertEqual(try StructuralSimilarity().evaluate(a, b), (2 * mA * mB + c1) / (mA * mA + mB * mB + c1),
                       accuracy: 1e-12)
        let white = try Tensor(shape: [11, 11, 1], repeating: 1)
        XCTAssertEqual(try StructuralSimilarity().evaluate(Tensor(shape: [11, 11, 1]), white), c1 / (1 + c1),
                       accuracy: 1e-15)
    }

    /// SSIM depends on values relative to the data range: frames scaled by 256
    /// with `dataRange: 256` score as the originals with range 1 (a power of 2,
    /// so the scaling itself rounds nothing).
    func testDataRangeScalesTheStabilizers() throws {
        let a = try frame([16, 15, 3], seed: 40)
        let b = try noisy(a, seed: 41)
        let scaled = { (t: Tensor) in try Tensor(shape: t.shape, scalars: t.scalars.map { $0 * 256 }) }
        let unit = try StructuralSimilarity().evaluate(a, b)
        XCTAssertEqual(try StructuralSimilarity(dataRange: 256).evaluate(scaled(a), scaled(b)), unit, accuracy: 1e-12)
        XCTAssertNotEqual(try StructuralSimilarity(dataRange: 2).evaluate(a, b), unit, "the range sets C1 and C2")
    }

    func testDocumentationExample() throws {
        let predictions = try frame([3, 16, 16, 1], seed: 50)
        let targets = try noisy(predictions, seed: 51)
        let (prediction, target) = (try predictions.slice(0 ..< 1).reshaped(to: [16, 16, 1]),
                                    try targets.slice(0 ..< 1).reshaped(to: [16, 16, 1]))
        let ssim = StructuralSimilarity()
        let score = try ssim.evaluate(prediction, target)            // (H, W, C) each
        let perFrame = try ssim.evaluateFrames(predictions, targets) // (N, H, W, C) each -> N scores
        XCTAssertEqual(perFrame.count, 3)
        XCTAssertEqual(perFrame[0], score)
    }

    func assertThrows<T>(_ expression: @autoclosure () throws -> T, _ expected: RecurrentError,
                         file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try expression(), file: file, line: line) { error in
            XCTAssertEqual(error as? RecurrentError, expected, "\(error)", file: file, line: line)
        }
    }

    func testCallerMistakesAreTypedErrors() throws {
        let ssim = StructuralSimilarity()
        let good = try Tensor(shape: [12, 12, 1])
        assertThrows(try ssim.evaluate(Tensor(shape: [12, 12]), good),
                     .invalidArgument(name: "SSIM first frame shape", expected: "3 axes (height, width, channels)",
                                      actual: "[12, 12]"))
        assertThrows(try ssim.evaluate(good, Tensor(shape: [1, 12, 12, 1])),
                     .invalidArgument(name: "SSIM second frame shape", expected: "3 axes (height, width, channels)",
                                      actual: "[1, 12, 12, 1]"))
        assertThrows(try ssim.evaluate(good, Tensor(shape: [12, 13, 1])),
                     .shapeMismatch(name: "The SSIM second frame (height, width, channels)", expected: [12, 12, 1],
                                    actual: [12, 13, 1]))
        assertThrows(try ssim.evaluateFrames(good, good),
                     .invalidArgument(name: "SSIM first frames shape", expected: "4 axes (frames, height, width, channels)",
                                      actual: "[12, 12, 1]"))
        assertThrows(try ssim.evaluateFrames(Tensor(shape: [2, 12, 12, 1]), Tensor(shape: [3, 12, 12, 1])),
                     .shapeMismatch(name: "The SSIM second frames (frames, height, width, channels)",
                                    expected: [2, 12, 12, 1], actual: [3, 12, 12, 1]))
        assertThrows(try ssim.evaluate(Tensor(shape: [12, 12, 0]), Tensor(shape: [12, 12, 0])),
                     .invalidArgument(name: "SSIM channel count", expected: "at least 1",
                                      actual: "0 in (height, width, channels) [12, 12, 0]"))
        // The window is 11 x 11: 10 rows or columns are too few, 11 are enough.
        let tooSmall = RecurrentError.invalidArgument(
            name: "SSIM frame size",
            expected: "a height and width of at least 11, the side of the Gaussian window "
                + "(skimage's gaussian_weights=True needs 11 x 11 too, though its message says 7x7)",
            actual: "10 x 40")
        assertThrows(try ssim.evaluate(Tensor(shape: [10, 40, 3]), Tensor(shape: [10, 40, 3])), tooSmall)
        XCTAssertThrowsError(try ssim.evaluateFrames(Tensor(shape: [2, 40, 10, 1]), Tensor(shape: [2, 40, 10, 1]))) {
            XCTAssert("\($0)".contains("40 x 10"), "\($0)")
        }
        XCTAssertNoThrow(try ssim.evaluate(Tensor(shape: [11, 40, 3]), Tensor(shape: [11, 40, 3])))

        var withNaN = try Tensor(shape: [12, 12, 1])
        withNaN.withUnsafeMutableBufferPointer { $0[7] = .nan }
        XCTAssertThrowsError(try ssim.evaluate(good, withNaN)) { error in
            guard case let .nonFinite(name, index, value) = error as? RecurrentError else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(name, "The SSIM second frame")
            XCTAssertEqual(index, 7)
            XCTAssert(value.isNaN)
        }
        var withInfinity = try Tensor(shape: [2, 12, 12, 1])
        withInfinity.withUnsafeMutableBufferPointer { $0[150] = -.infinity }
        assertThrows(try ssim.evaluateFrames(withInfinity, Tensor(shape: [2, 12, 12, 1])),
                     .nonFinite(name: "The SSIM first frames", index: 150, value: -.infinity))

        for range in [0, -1, .nan, .infinity] as [Double] {
            XCTAssertThrowsError(try StructuralSimilarity(dataRange: range)) { error in
                guard case let .invalidArgument(name, _, _) = error as? RecurrentError else { return XCTFail("\(error)") }
                XCTAssertEqual(name, "SSIM data range")
            }
        }
    }
}

import Foundation
import FrameSequencing
import Recurrent
import TestSupport
import XCTest

/// The SIMD sigmoid and tanh kernels against their Double reference twins.
///
/// Bound: 5e-7 absolute against the Double result (not the Float-rounded one),
/// on every input; the kernels' documented worst cases, from an exhaustive run
/// over all 2^32 Float bit patterns in a release build, are 1.5e-7 (tanh) and
/// 9.2e-8 (sigmoid); this sweep must find the same order, well inside the bound.
final class ActivationTests: XCTestCase {
    static let bound = 5e-7

    /// Every 1e-4 in [-20, 20], 2^17 random bit patterns (every exponent, NaN
    /// excluded), both signs of the special values, and the points where the
    /// kernels clamp or saturate.
    static let inputs: [Float] = {
        var values = (0 ... 400_000).map { Float(-20 + Double($0) * 1e-4) }
        var generator = SeededGenerator(seed: 2024)
        for _ in 0 ..< (1 << 17) {
            let x = Float(bitPattern: UInt32(truncatingIfNeeded: generator.next()))
            if !x.isNaN { values.append(x) }
        }
        let specials: [Float] = [
            0, 1e4, .greatestFiniteMagnitude, .infinity, .leastNonzeroMagnitude, .leastNormalMagnitude,
            Float.leastNormalMagnitude.nextDown, 1e-20, 8.491054, 10, 17.32868, 87.68312, 88, 100,
        ]
        return values + specials + specials.map { -$0 }
    }()

    /// `kernel(source, destination, count)` over `xs`, in a fresh array.
    static func mapped(
        _ xs: [Float], _ kernel: (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void
    ) -> [Float] {
        var result = [Float](repeating: .nan, count: xs.count)
        xs.withUnsafeBufferPointer { source in
            result.withUnsafeMutableBufferPointer { kernel(source.baseAddress!, $0.baseAddress!, xs.count) }
        }
        return result
    }

    static func tanh(_ xs: [Float]) -> [Float] { mapped(xs) { applyTanh(from: $0, to: $1, count: $2) } }
    static func sigmoid(_ xs: [Float]) -> [Float] { mapped(xs) { applySigmoid(from: $0, to: $1, count: $2) } }

    /// Fails unless every output is within `bound` of `reference` and inside
    /// `range`; prints the worst error and where it is.
    func checkAccuracy(_ name: String, outputs: [Float], reference: (Float) -> Double, range: ClosedRange<Float>) {
        var worst = (error: 0.0, input: Float(0), output: Float(0), expected: 0.0)
        for (x, y) in zip(Self.inputs, outputs) {
            let expected = reference(x)
            let error = y.isNaN ? .infinity : abs(Double(y) - expected)
            if error > worst.error { worst = (error, x, y, expected) }
            XCTAssert(range.contains(y), "\(name)(\(x)) = \(y) is outside \(range)")
        }
        print("\(name): worst error \(worst.error) at x = \(worst.input) (got \(worst.output), exact \(worst.expected))"
              + " over \(Self.inputs.count) inputs")
        XCTAssertLessThanOrEqual(worst.error, Self.bound,
                                 "\(name)(\(worst.input)) = \(worst.output), exact \(worst.expected)")
    }

    func testTanhWithinBoundOfDoubleReference() {
        checkAccuracy("tanh", outputs: Self.tanh(Self.inputs), reference: referenceTanh, range: -1 ... 1)
    }

    func testSigmoidWithinBoundOfDoubleReference() {
        checkAccuracy("sigmoid", outputs: Self.sigmoid(Self.inputs), reference: referenceSigmoid, range: 0 ... 1)
    }

    /// tanh(-x) == -tanh(x) bit for bit, including the sign of zero.
    func testTanhIsOdd() {
        let positive = Self.tanh(Self.inputs), negative = Self.tanh(Self.inputs.map { -$0 })
        for i in Self.inputs.indices where (-negative[i]).bitPattern != positive[i].bitPattern {
            XCTFail("tanh(\(Self.inputs[i])) = \(positive[i]) but tanh(-x) = \(negative[i])")
            return
        }
    }

    /// sigmoid(|x|) == 1 - sigmoid(-|x|) bit for bit (the kernel computes the
    /// lower half and reflects it; the other way round would round twice).
    func testSigmoidReflects() {
        let positive = Self.sigmoid(Self.inputs), negative = Self.sigmoid(Self.inputs.map { -$0 })
        for i in Self.inputs.indices
        where Self.inputs[i] >= 0 ? positive[i] != 1 - negative[i] : negative[i] != 1 - positive[i] {
            XCTFail("sigmoid(\(Self.inputs[i])) = \(positive[i]) but sigmoid(-x) = \(negative[i])")
            return
        }
    }

    func testEdgeValuesSaturateAndPropagateNaN() {
        let xs: [Float] = [.infinity, -.infinity, 1e4, -1e4, .greatestFiniteMagnitude, -.greatestFiniteMagnitude,
                           0, -0.0, .leastNonzeroMagnitude, -.leastNormalMagnitude, .nan, -.nan]
        let tanh = Self.tanh(xs), sigmoid = Self.sigmoid(xs)
        XCTAssertEqual(Array(tanh[0 ..< 6]), [1, -1, 1, -1, 1, -1])
        XCTAssertEqual(Array(sigmoid[0 ..< 6]), [1, 0, 1, 0, 1, 0])
        // tanh(x) = x near 0, sign of zero included; sigmoid is 0.5 there.
        XCTAssertEqual(tanh[6 ..< 10].map(\.bitPattern), xs[6 ..< 10].map(\.bitPattern))
        XCTAssertEqual(Array(sigmoid[6 ..< 10]), [0.5, 0.5, 0.5, 0.5])
        XCTAssert(tanh[10...].allSatisfy(\.isNaN) && sigmoid[10...].allSatisfy(\.isNaN), "\(tanh) \(sigmoid)")
    }

    /// The buffer functions, in place and out of place, equal the vector
    /// functions lane for lane on counts around the vector width, and write
    /// nothing past `count`.
    func testBuffersEqualVectorFunctionsOnTails() {
        var generator = SeededGenerator(seed: 7)
        let sentinel: Float = 12345
        for count in [0, 1, 7, 15, 16, 17, 33] {
            let xs = (0 ..< count).map { _ in 24 * generator.nextUnitFloat() - 12 }
            let kernels: [(String, (SIMD16<Float>) -> SIMD16<Float>,
                           (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void,
                           (UnsafeMutablePointer<Float>, Int) -> Void)] = [
                ("tanh", tanhApproximation, { applyTanh(from: $0, to: $1, count: $2) }, { applyTanh($0, count: $1) }),
                ("sigmoid", sigmoidApproximation, { applySigmoid(from: $0, to: $1, count: $2) },
                 { applySigmoid($0, count: $1) }),
            ]
            for (name, vector, outOfPlace, inPlace) in kernels {
                let expected = xs.map { vector(SIMD16(repeating: $0))[0] } + [sentinel]
                var copied = [Float](repeating: sentinel, count: count + 1)
                xs.withUnsafeBufferPointer { source in
                    copied.withUnsafeMutableBufferPointer { outOfPlace(source.baseAddress!, $0.baseAddress!, count) }
                }
                var overwritten = xs + [sentinel]
                overwritten.withUnsafeMutableBufferPointer { inPlace($0.baseAddress!, count) }
                for (label, actual) in [("out of place", copied), ("in place", overwritten)] {
                    let result = compare("\(name) \(label), count \(count)", actual: actual, expected: expected)
                    XCTAssert(result.passed, "\(result)")
                }
            }
        }
    }

    /// Backward kernels equal their Double twins on tails, and the twins'
    /// formulas agree with the exact derivative at x.
    func testBackwardMatchesReferenceAndExactDerivative() {
        var generator = SeededGenerator(seed: 11)
        for count in [0, 1, 7, 15, 16, 17, 33, 1000] {
            let xs = (0 ..< count).map { _ in 24 * generator.nextUnitFloat() - 12 }
            let upstream = (0 ..< count).map { _ in 2 * generator.nextUnitFloat() - 1 }
            let cases: [(String, [Float], (UnsafeMutablePointer<Float>, UnsafePointer<Float>, Int) -> Void,
                         (Float, Float) -> Double, (Double) -> Double)] = [
                ("tanh", Self.tanh(xs), { applyTanhBackward($0, output: $1, count: $2) }, referenceTanhBackward,
                 { 1 - Foundation.tanh($0) * Foundation.tanh($0) }),
                ("sigmoid", Self.sigmoid(xs), { applySigmoidBackward($0, output: $1, count: $2) },
                 referenceSigmoidBackward, { x in let s = 1 / (1 + exp(-x)); return s * (1 - s) }),
            ]
            for (name, outputs, backward, twin, derivative) in cases {
                var gradient = upstream
                gradient.withUnsafeMutableBufferPointer { g in
                    outputs.withUnsafeBufferPointer { backward(g.baseAddress!, $0.baseAddress!, count) }
                }
                let fromTwin = (0 ..< count).map { Float(twin(upstream[$0], outputs[$0])) }
                let exact = (0 ..< count).map { Float(Double(upstream[$0]) * derivative(Double(xs[$0]))) }
                // One or two Float roundings of a value at most 1: 1e-7 absolute.
                let twinResult = compare("\(name) backward vs twin, count \(count)", actual: gradient,
                                         expected: fromTwin, atol: 1e-7, rtol: 1e-6)
                XCTAssert(twinResult.passed, "\(twinResult)")
                // d(1 - y^2) = 2|y| dy and d(y(1 - y)) = |1 - 2y| dy, dy <= 5e-7: 1e-6 absolute.
                let exactResult = compare("\(name) backward vs exact derivative, count \(count)", actual: gradient,
                                          expected: exact, atol: 1e-6, rtol: 1e-6)
                XCTAssert(exactResult.passed, "\(exactResult)")
            }
        }
    }
}

import FrameSequencing
import Recurrent
import TestSupport
import XCTest

/// Gradient clipping: the global norm against a direct computation, the clip
/// coefficient, MATLAB's per-tensor and absolute-value methods, and non-finite input.
final class TrainingClippingTests: XCTestCase {
    private func gradients(scale: Float) throws -> [Tensor] {
        try [[3, 4], [7], [2, 2, 3]].enumerated().map { try randomTensor($1, seed: 40 + UInt64($0), scale: scale) }
    }

    /// sqrt(sum of squares) of every element, in Float64.
    private func directNorm(_ tensors: [Tensor]) -> Double {
        tensors.flatMap(\.scalars).reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
    }

    func testGlobalNormEqualsDirectComputation() throws {
        let tensors = try gradients(scale: 3)
        let norm = try GradientClipping.l2Norm(of: tensors)
        XCTAssertEqual(Double(norm), directNorm(tensors), accuracy: 1e-6 * directNorm(tensors))
        XCTAssertEqual(try GradientClipping.l2Norm(of: []), 0)
        XCTAssertEqual(try GradientClipping.l2Norm(of: [try Tensor(shape: [1], scalars: [-3]), try Tensor(shape: [1], scalars: [4])]), 5)
    }

    func testGlobalNormClipsWithPyTorchsCoefficient() throws {
        var tensors = try gradients(scale: 3)
        let original = tensors
        let total = Float(directNorm(original))
        let maxNorm: Float = 2
        XCTAssertGreaterThan(total, maxNorm)
        let returned = try GradientClipping.globalNorm(maxNorm: maxNorm).apply(to: &tensors)
        XCTAssertEqual(returned, total, "returns the norm before clipping, as clip_grad_norm_")
        // clip_coef = max_norm / (total + 1e-6), as PyTorch evaluates it in Float32.
        let coefficient = (1 / (total + 1e-6)) * maxNorm
        for (clipped, before) in zip(tensors, original) {
            XCTAssertEqual(clipped.scalars, before.scalars.map { $0 * coefficient })
        }
        XCTAssertEqual(Double(try GradientClipping.l2Norm(of: tensors)), Double(maxNorm), accuracy: 1e-5)

        // Below the threshold the coefficient clamps to 1: nothing changes, bit for bit.
        var small = try gradients(scale: 0.01)
        let untouched = small
        let smallNorm = try GradientClipping.globalNorm(maxNorm: maxNorm).apply(to: &small)
        XCTAssertEqual(small, untouched)
        XCTAssertEqual(Double(smallNorm), directNorm(untouched), accuracy: 1e-6)
        // +inf never clips.
        XCTAssertNoThrow(try GradientClipping.globalNorm(maxNorm: .infinity).apply(to: &tensors))
    }

    func testPerTensorNormScalesOnlyTensorsAboveTheThreshold() throws {
        var tensors = try gradients(scale: 1)
        let norms = tensors.map { directNorm([$0]) }
        let sorted = norms.sorted()
        let threshold = Float((sorted[1] + sorted[2]) / 2)   // only the largest is above
        let original = tensors
        try GradientClipping.perTensorNorm(threshold: threshold).apply(to: &tensors)
        for (i, norm) in norms.enumerated() {
            if norm > Double(threshold) {
                XCTAssertEqual(directNorm([tensors[i]]), Double(threshold), accuracy: 1e-5, "tensor \(i) scaled to the threshold")
                let factor = Double(threshold) / norm
                XCTAssertEqual(tensors[i].scalars, original[i].scalars.map { Float(Double($0) * factor) })
            } else {
                XCTAssertEqual(tensors[i], original[i], "tensor \(i) is not above the threshold")
            }
        }
        XCTAssertEqual(norms.filter { $0 > Double(threshold) }.count, 1)
    }

    func testAbsoluteValueClampsEachElementKeepingItsSign() throws {
        var tensors = [try Tensor(shape: [2, 3], scalars: [0.5, -0.5, 2, -3, 1, -1])]
        let norm = try GradientClipping.absoluteValue(threshold: 1).apply(to: &tensors)
        XCTAssertEqual(tensors[0].scalars, [0.5, -0.5, 1, -1, 1, -1])
        XCTAssertEqual(Double(norm), (0.25 + 0.25 + 4 + 9 + 1 + 1).squareRoot(), accuracy: 1e-6)
    }

    func testNonFiniteGradientsThrowNamingTheFirstAndChangeNothing() throws {
        for (bad, clipping) in [(Float.nan, GradientClipping.globalNorm(maxNorm: 1)), (.infinity, .perTensorNorm(threshold: 1)),
                                (-.infinity, .absoluteValue(threshold: 1))] {
            var tensors = try gradients(scale: 3)
            tensors[1].withUnsafeMutableBufferPointer { $0[4] = bad }
            tensors[2].withUnsafeMutableBufferPointer { $0[0] = .nan }
            let before = tensors
            XCTAssertThrowsError(try clipping.apply(to: &tensors)) { error in
                guard case let .nonFinite(name, index, value)? = error as? RecurrentError else { return XCTFail("\(error)") }
                XCTAssertEqual(name, "gradient 1 of 3")
                XCTAssertEqual(index, 4)
                XCTAssert(value.isNaN ? bad.isNaN : value == bad)
                print("\(clipping): \(error)")
            }
            XCTAssertEqual(tensors.map { $0.scalars.map(\.bitPattern) }, before.map { $0.scalars.map(\.bitPattern) })
        }
        XCTAssertThrowsError(try GradientClipping.l2Norm(of: [try Tensor(shape: [1], scalars: [.nan])]))
        // Finite elements whose squares overflow Float32 are not an error (Float64 sums).
        let huge = [try Tensor(shape: [2], scalars: [3e38, 3e38])]
        XCTAssertEqual(try GradientClipping.l2Norm(of: huge), .infinity, "the norm itself exceeds Float32")
        var clipped = huge
        try GradientClipping.globalNorm(maxNorm: 1).apply(to: &clipped)
        XCTAssertEqual(Double(try GradientClipping.l2Norm(of: clipped)), 1, accuracy: 1e-6)
    }

    func testInvalidThresholdsThrow() throws {
        var tensors = try gradients(scale: 1)
        for clipping in [GradientClipping.globalNorm(maxNorm: 0), .perTensorNorm(threshold: -1), .absoluteValue(threshold: .nan)] {
            XCTAssertThrowsError(try clipping.apply(to: &tensors), "\(clipping)") { XCTAssert($0 is RecurrentError) }
        }
    }
}

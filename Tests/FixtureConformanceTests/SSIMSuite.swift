import FrameSequencing
import Recurrent
import TestSupport

/// Suite `ssim`: `skimage.metrics.structural_similarity(a, b, gaussian_weights=True,
/// sigma=1.5, use_sample_covariance=False, data_range=1.0, channel_axis=-1)`, to
/// 1e-4 absolute as the contract says. The frame pair is checked through both
/// ``StructuralSimilarity/evaluate(_:_:)`` and, as a batch of one,
/// ``StructuralSimilarity/evaluateFrames(_:_:)``.
enum SSIMSuite {
    static let tolerance: (atol: Float, rtol: Float) = (1e-4, 0)

    static func check(_ fixture: FixtureCase) throws -> [Comparison] {
        let a = try fixture.tensor("a"), b = try fixture.tensor("b")
        let expected = try fixture.tensor("ssim")
        guard a.dimensions.count == 3 else {
            throw FixtureError.badMetadata(fixture.path, "a", "shape \(a.dimensions) is not (H, W, C)")
        }
        try requireSameShape(fixture, "b", expected: a, actual: b)
        guard expected.dimensions == [1] else {
            throw FixtureError.wrongShape(fixture.path, "ssim", expected: [1], actual: expected.dimensions)
        }
        let ssim = StructuralSimilarity()
        let single = try ssim.evaluate(a, b)
        let batched = try ssim.evaluateFrames(a.reshaped(to: Shape([1] + a.dimensions)),
                                              b.reshaped(to: Shape([1] + b.dimensions)))
        return [
            compare("ssim", actual: [Float(single)], expected: expected.scalars,
                    atol: tolerance.atol, rtol: tolerance.rtol),
            compare("ssim (batch of one)", actual: batched.map { Float($0) }, expected: expected.scalars,
                    atol: tolerance.atol, rtol: tolerance.rtol),
        ]
    }
}

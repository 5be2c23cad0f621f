import FrameSequencing

/// The structural similarity index (SSIM, Wang et al. 2004) of frames, as
/// scikit-image computes it with
/// `skimage.metrics.structural_similarity(a, b, gaussian_weights=True, sigma=1.5,
/// use_sample_covariance=False, data_range=dataRange, channel_axis=-1)`: an
/// 11 x 11 Gaussian window (sigma 1.5, truncated at 3.5 sigma), K1 0.01, K2 0.03,
/// population (co)variances.
///
/// Frames are (height, width, channels), channels last. Each channel's SSIM map is
/// made at every pixel whose window lies inside the frame, the (H - 10) x (W - 10)
/// pixels left after skimage crops the window's radius from every side; the map's
/// mean is taken per channel and the channels' means are averaged. 1 means
/// identical frames; values fall towards 0 (and below, down to -1, for inverted
/// structure) as the frames differ.
///
/// ```swift
/// let ssim = StructuralSimilarity()
/// let score = try ssim.evaluate(prediction, target)            // (H, W, C) each
/// let perFrame = try ssim.evaluateFrames(predictions, targets) // (N, H, W, C) each -> N scores
/// ```
///
/// Edge behaviour: SSIM is symmetric, and `evaluate(a, a)` is exactly 1, both
/// bit for bit. Where a window's variances vanish (constant regions) the
/// stabilizers `C1 = (0.01 L)^2`, `C2 = (0.03 L)^2` (L the data range) keep the
/// index finite: two equal constants give 1, two different constants
/// `(2 m_a m_b + C1) / (m_a^2 + m_b^2 + C1)`. Values are meant to lie in
/// `0 ... dataRange`; others are computed by the same formula, as skimage does
/// (far beyond it, the variances lose digits to cancellation, as in skimage).
/// The computation runs in Float64 from the Float32 inputs; on the `ssim`
/// fixtures it matches skimage run in float64 to about 1e-14.
public struct StructuralSimilarity: Sendable, Hashable {
    /// The side of the square window: 11 pixels. Frames must be at least this
    /// high and wide (skimage raises "win_size exceeds image extent" below it).
    public static let windowSize = 2 * ssimRadius + 1
    /// The standard deviation of the Gaussian window, in pixels: 1.5.
    public static let windowSigma = ssimSigma

    /// The span of the pixel values, L in `C1 = (0.01 L)^2` and `C2 = (0.03 L)^2`:
    /// 1 for frames in `0 ... 1`, 255 for byte values.
    public let dataRange: Double

    /// SSIM for frames with values in `0 ... 1` (skimage's `data_range=1`).
    public init() {
        self.dataRange = 1
    }

    /// SSIM for frames with values in `0 ... dataRange`.
    ///
    /// - Throws: `invalidArgument` unless `dataRange` is positive and finite.
    public init(dataRange: Double) throws {
        guard dataRange > 0, dataRange.isFinite else {
            throw RecurrentError.invalidArgument(name: "SSIM data range", expected: "a positive finite number",
                                                 actual: "\(dataRange)")
        }
        self.dataRange = dataRange
    }

    /// The mean SSIM of two frames.
    ///
    /// `first`, `second`: (height, width, channels), the same shape, height and
    /// width at least ``windowSize`` (11), at least one channel.
    ///
    /// - Throws: `invalidArgument` for a rank other than 3, no channels, or a
    ///   frame smaller than 11 x 11; `shapeMismatch` when the shapes differ;
    ///   `nonFinite` for a NaN or infinite value (skimage would return NaN).
    /// - Complexity: `O(H * W * C)` time (two 11-tap passes of a separable
    ///   filter), `O(W * C)` extra space.
    public func evaluate(_ first: Tensor, _ second: Tensor) throws -> Double {
        try validate(first, second, frameAxes: 0 ..< 3, names: ("first frame", "second frame"))
        return scores(first, second, frames: 1)[0]
    }

    /// The mean SSIM of each pair of frames `first[n]`, `second[n]`, in order.
    ///
    /// `first`, `second`: (frames, height, width, channels), the same shape,
    /// frame requirements as ``evaluate(_:_:)``. Returns `frames` values; zero
    /// frames give an empty array.
    ///
    /// - Throws: as ``evaluate(_:_:)``, for rank 4; `nonFinite` names the flat
    ///   index of the value in its batch.
    /// - Complexity: `O(N * H * W * C)` time, `O(W * C)` extra space.
    public func evaluateFrames(_ first: Tensor, _ second: Tensor) throws -> [Double] {
        try validate(first, second, frameAxes: 1 ..< 4, names: ("first frames", "second frames"))
        return scores(first, second, frames: first.dimensions[0])
    }

    private func validate(_ first: Tensor, _ second: Tensor, frameAxes: Range<Int>,
                          names: (first: String, second: String)) throws {
        let rank = frameAxes.upperBound
        let axes = rank == 3 ? "(height, width, channels)" : "(frames, height, width, channels)"
        for (tensor, name) in [(first, names.first), (second, names.second)] where tensor.dimensions.count != rank {
            throw RecurrentError.invalidArgument(name: "SSIM \(name) shape", expected: "\(rank) axes \(axes)",
                                                 actual: "\(tensor.dimensions)")
        }
        guard first.dimensions == second.dimensions else {
            throw RecurrentError.shapeMismatch(name: "The SSIM \(names.second) \(axes)", expected: ShapeRequirement(exactly: first.dimensions),
                                               actual: second.dimensions)
        }
        let height = first.dimensions[frameAxes.lowerBound], width = first.dimensions[frameAxes.lowerBound + 1]
        let channels = first.dimensions[frameAxes.lowerBound + 2]
        guard channels >= 1 else {
            throw RecurrentError.invalidArgument(name: "SSIM channel count", expected: "at least 1",
                                                 actual: "\(channels) in \(axes) \(first.dimensions)")
        }
        guard height >= Self.windowSize, width >= Self.windowSize else {
            throw RecurrentError.invalidArgument(
                name: "SSIM frame size",
                expected: "a height and width of at least \(Self.windowSize), the side of the Gaussian window "
                    + "(skimage's gaussian_weights=True needs 11 x 11 too, though its message says 7x7)",
                actual: "\(height) x \(width)")
        }
        try requireFinite(first) { _ in "The SSIM \(names.first)" }
        try requireFinite(second) { _ in "The SSIM \(names.second)" }
    }
}

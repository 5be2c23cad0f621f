/// An invertible affine normalization of frame values, fitted on training frames
/// and applied to any frames or tensors of the same channel count.
///
/// Each value `x` of channel `c` maps to `(x - center[c]) * factor[c] + lower`, and
/// back with ``invert(_:)``, so predictions can be mapped back to pixel values.
///
/// ```swift
/// let split = try frames.split(trainCount: 350)
/// let norm = try Normalization.fit(split.train, method: .zScore, perChannel: true)
/// let train = try norm.apply(to: split.train)
/// let pixels = try norm.invert(prediction)
/// ```
public struct Normalization: Sendable, Equatable {
    /// How values are scaled.
    public enum Method: Sendable, Hashable {
        /// Map the fitted minimum and maximum to `lower` and `upper`.
        case minMax(lower: Float = 0, upper: Float = 1)
        /// Subtract the mean and divide by the population standard deviation (as
        /// scikit-learn's `StandardScaler` and Keras's `Normalization` do).
        case zScore
    }

    /// The method fitted.
    public let method: Method
    /// The value subtracted per channel (the fitted minimum or mean); one entry when
    /// fitted globally, else one per channel.
    public let center: [Float]
    /// The multiplier per channel after subtracting `center` (`(upper - lower) /
    /// range` or `1 / deviation`); same count as `center`.
    public let factor: [Float]
    /// The value the fitted minimum maps to (0 for z-score).
    public let lower: Float

    /// Fits statistics on `frames`, over all values (`perChannel: false`) or for each
    /// channel separately. A constant channel (zero range or deviation) gets factor
    /// 1, as scikit-learn does, instead of dividing by zero.
    ///
    /// - Throws: `nonFinite` naming the first NaN or infinity (statistics over it
    ///   would be meaningless); `invalidArgument` for `lower >= upper`.
    /// - Complexity: O(frames * features), two passes for z-score.
    public static func fit(_ frames: FrameStack, method: Method, perChannel: Bool = false) throws -> Normalization {
        let channels = perChannel ? frames.frameShape.channels : 1
        let f = frames.featureCount
        var scratch = [Float](repeating: 0, count: f)
        // Visits every value with its channel, frame by frame (bytes converted on the way).
        func forEachValue(_ body: (Int, Float, Int) throws -> Void) throws {
            try frames.withUnsafeSource { source in
                try scratch.withUnsafeMutableBufferPointer { buffer in
                    for frame in 0 ..< frames.count {
                        source.copyFrames(from: frame, count: 1, to: buffer.baseAddress!)
                        for i in 0 ..< f { try body(i % channels, buffer[i], frame * f + i) }
                    }
                }
            }
        }
        var center = [Double](repeating: 0, count: channels)
        var factor = [Double](repeating: 1, count: channels)
        var lower: Float = 0
        switch method {
        case .minMax(let low, let high):
            guard low < high, low.isFinite, high.isFinite else {
                throw FrameSequencingError.invalidArgument(
                    name: "min-max range", expected: "finite lower < upper", actual: "\(low)...\(high)")
            }
            var minimum = [Double](repeating: .infinity, count: channels)
            var maximum = [Double](repeating: -.infinity, count: channels)
            try forEachValue { c, x, index in
                guard x.isFinite else { throw FrameSequencingError.nonFinite(name: "Frames to normalize", index: index, value: x) }
                minimum[c] = Swift.min(minimum[c], Double(x))
                maximum[c] = Swift.max(maximum[c], Double(x))
            }
            for c in 0 ..< channels {
                center[c] = minimum[c]
                let range = maximum[c] - minimum[c]
                factor[c] = range > 0 ? Double(high - low) / range : 1
            }
            lower = low
        case .zScore:
            var sum = [Double](repeating: 0, count: channels)
            var n = [Double](repeating: 0, count: channels)
            try forEachValue { c, x, index in
                guard x.isFinite else { throw FrameSequencingError.nonFinite(name: "Frames to normalize", index: index, value: x) }
                sum[c] += Double(x)
                n[c] += 1
            }
            for c in 0 ..< channels { center[c] = sum[c] / n[c] }
            var squares = [Double](repeating: 0, count: channels)
            try forEachValue { c, x, _ in
                let d = Double(x) - center[c]
                squares[c] += d * d
            }
            for c in 0 ..< channels {
                let deviation = (squares[c] / n[c]).squareRoot()
                factor[c] = deviation > 0 ? 1 / deviation : 1
            }
        }
        return Normalization(method: method, center: center.map { Float($0) }, factor: factor.map { Float($0) }, lower: lower)
    }

    /// The map that leaves every value as it is: center 0, factor 1, lower 0.
    public static let identity = Normalization(method: .minMax(lower: 0, upper: 1), center: [0], factor: [1], lower: 0)

    /// Whether every value maps to itself (``identity``, or statistics that equal it).
    public var isIdentity: Bool { lower == 0 && center.allSatisfy { $0 == 0 } && factor.allSatisfy { $0 == 1 } }

    /// A normalization of known statistics (saved with a model, for example):
    /// `x` of channel `c` maps to `(x - center[c]) * factor[c] + lower`.
    ///
    /// - Throws: `invalidArgument` for empty or unequal `center` and `factor`,
    ///   a non-finite value, or a zero factor (the map could not be inverted).
    public init(center: [Float], factor: [Float], lower: Float = 0, method: Method = .minMax()) throws {
        guard !center.isEmpty, center.count == factor.count else {
            throw FrameSequencingError.invalidArgument(name: "normalization statistics", expected: "one center and one factor per channel",
                                                       actual: "\(center.count) centers and \(factor.count) factors")
        }
        guard (center + factor + [lower]).allSatisfy(\.isFinite), !factor.contains(0) else {
            throw FrameSequencingError.invalidArgument(name: "normalization statistics", expected: "finite values and non-zero factors",
                                                       actual: "center \(center), factor \(factor), lower \(lower)")
        }
        self.init(method: method, center: center, factor: factor, lower: lower)
    }

    private init(method: Method, center: [Float], factor: [Float], lower: Float) {
        self.method = method
        self.center = center
        self.factor = factor
        self.lower = lower
    }

    /// The number of channels the statistics were fitted for (1 when global).
    public var channels: Int { center.count }

    /// `frames` normalized, as Float32 frames; with the ``identity``, `frames`
    /// as they are (byte frames stay bytes, a quarter of the memory).
    ///
    /// - Throws: `shapeMismatch` when per-channel statistics do not match the frames' channels.
    public func apply(to frames: FrameStack) throws -> FrameStack {
        if isIdentity {
            try requireChannels(elementCount: frames.featureCount)
            return frames
        }
        return try FrameStack(stacked: apply(to: frames.tensor()))
    }

    /// `tensor` normalized. The tensor's innermost axis must be channels, or its
    /// elements must cycle through channels (flattened (H * W * C) features do).
    ///
    /// - Throws: `shapeMismatch` unless the element count is a multiple of the channel count.
    public func apply(to tensor: Tensor) throws -> Tensor {
        try transform(tensor) { x, c in (x - center[c]) * factor[c] + lower }
    }

    /// The inverse of `apply(to:)`: maps normalized values back to the original scale.
    public func invert(_ tensor: Tensor) throws -> Tensor {
        try transform(tensor) { y, c in (y - lower) / factor[c] + center[c] }
    }

    /// Throws `shapeMismatch` unless `elementCount` is a multiple of the channel count.
    private func requireChannels(elementCount: Int) throws {
        guard elementCount % channels == 0 else {
            throw FrameSequencingError.shapeMismatch(
                name: "A tensor normalized with \(channels)-channel statistics (its element count)",
                expected: [.multiple(of: channels, "elements")], actual: [elementCount])
        }
    }

    private func transform(_ tensor: Tensor, _ map: (Float, Int) -> Float) throws -> Tensor {
        let channels = self.channels
        try requireChannels(elementCount: tensor.count)
        var result = tensor
        result.withUnsafeMutableBufferPointer { values in
            for i in values.indices { values[i] = map(values[i], i % channels) }
        }
        return result
    }
}

import FrameSequencing

/// Applies one ``Sequential`` stack to every timestep of a sequence with one set
/// of weights, Keras's `TimeDistributed`: (B, T, sample...) to (B, T, output...),
/// or (T, B, ...) to (T, B, ...) for time-major sequences.
///
/// ```swift
/// let perFrame = try TimeDistributed(Sequential([
///     .conv2D(Conv2D(inputChannels: 1, filters: 8, kernelSize: (3, 3), activation: .relu, seed: 1)),
///     .maxPool2D(MaxPool2D(poolSize: (2, 2))),
///     .flatten,
/// ]))
/// let features = try perFrame.forward(frames)     // (B, T, 1352) for (B, T, 28, 28, 1)
/// ```
///
/// The first two axes are folded into one batch of `B * T` samples (a reshape,
/// no copy), so the stack runs once over all frames with large, efficient
/// matrix products; backward therefore sums each parameter's gradient over
/// every timestep and sequence, exactly as a loop over timesteps sharing the
/// weights would. PyTorch users write this fold by hand.
public struct TimeDistributed: Sendable {
    /// The stack applied to each timestep.
    public var model: Sequential

    /// Wraps `model`.
    public init(_ model: Sequential) {
        self.model = model
    }

    /// What backward needs: the stack's cache over the folded batch.
    public struct Cache: Sendable {
        let inner: Sequential.Cache
        let leading: [Int]
    }

    /// (B, T, output...) for (B, T, sample...) input.
    public func outputDimensions(forInput dimensions: [Int]) throws -> [Int] {
        let (leading, folded) = try fold(dimensions)
        let inner = try model.outputDimensions(forInput: folded)
        return leading + inner.dropFirst()
    }

    /// The stack applied to every timestep.
    ///
    /// - Throws: `shapeMismatch` for an input of rank below 3; what the stack
    ///   throws for a sample shape it cannot take.
    public func forward(_ input: Tensor) throws -> Tensor {
        let (leading, folded) = try fold(input.dimensions)
        let output = try model.forward(input.reshaped(to: Shape(folded)))
        return try output.reshaped(to: Shape(leading + output.dimensions.dropFirst()))
    }

    /// ``forward(_:)`` keeping what backward needs.
    public func trainingForward(_ input: Tensor) throws -> (output: Tensor, cache: Cache) {
        let (leading, folded) = try fold(input.dimensions)
        let (output, inner) = try model.trainingForward(input.reshaped(to: Shape(folded)))
        return (try output.reshaped(to: Shape(leading + output.dimensions.dropFirst())), Cache(inner: inner, leading: leading))
    }

    /// Backward of `L = sum(output * outputGradient)`: adds each parameter's
    /// gradient, summed over every timestep, into `gradients` and returns
    /// dL/dinput (the input's shape).
    ///
    /// - Throws: `shapeMismatch` for an output gradient of the wrong shape;
    ///   `cacheMismatch` for a cache or gradients of another stack.
    public func backward(outputGradient: Tensor, cache: Cache,
                         into gradients: inout Sequential.Gradients) throws -> Tensor {
        let expected = cache.leading + cache.inner.outputShape.dropFirst()
        try RecurrentError.requireShape(outputGradient, expected, "TimeDistributed output gradient")
        let folded = try outputGradient.reshaped(to: Shape(cache.inner.outputShape))
        let inputGradient = try model.backward(outputGradient: folded, cache: cache.inner, into: &gradients)
        return try inputGradient.reshaped(to: Shape(cache.leading + cache.inner.inputShape.dropFirst()))
    }

    /// Zero gradients for the stack.
    public func zeroGradients() -> Sequential.Gradients { model.zeroGradients() }

    /// The first two axes and the dimensions with them folded into one.
    private func fold(_ dimensions: [Int]) throws -> (leading: [Int], folded: [Int]) {
        guard dimensions.count >= 3 else {
            throw RecurrentError.shapeMismatch(name: "TimeDistributed input (batch, timesteps, sample...)",
                                               expected: [.any("batch"), .any("timesteps"), .any("sample...")], actual: dimensions)
        }
        let (product, overflow) = dimensions[0].multipliedReportingOverflow(by: dimensions[1])
        guard !overflow else {
            throw RecurrentError.invalidArgument(name: "TimeDistributed input", expected: "batch x timesteps that fits in Int",
                                                 actual: "shape \(dimensions)")
        }
        return (Array(dimensions[0 ..< 2]), [product] + dimensions[2...])
    }
}

import FrameSequencing

// What the feed-forward layers keep for backward and hold in flight, for the
// memory planner (see ActivationFootprint). Each figure follows the layer's
// code: the training forward returns a new output and caches it with its
// input; backward returns a new input gradient, working through the image in
// chunks of at most a few hundred kilobytes (not counted).

extension Dense: FootprintEstimating {
    /// The footprint for an input of `inputDimensions` (..., I).
    public func activationFootprint(inputDimensions: [Int]) throws -> ActivationFootprint {
        guard inputDimensions.last == inputSize, inputDimensions.count >= 1 else {
            throw RecurrentError.shapeMismatch(name: "Dense input", expected: [.any("batch..."), .size(inputSize)], actual: inputDimensions)
        }
        return Self.estimatedFootprint(inputSize: inputSize, outputSize: outputSize, inputDimensions: inputDimensions)
    }

    /// ``activationFootprint(inputDimensions:)`` of a Dense of these sizes,
    /// without making one (its weights are `outputSize * (inputSize + 1)` floats).
    ///
    /// Training keeps the output (y, for the activation's derivative); backward
    /// holds a copy of the output gradient (scaled by the activation's
    /// derivative in place) and the input gradient.
    public static func estimatedFootprint(inputSize: Int, outputSize: Int, inputDimensions: [Int]) -> ActivationFootprint {
        let output = Array(inputDimensions.dropLast()) + [outputSize]
        let rows = inputDimensions.dropLast().reduce(1, *)
        return ActivationFootprint(
            outputDimensions: output, retainedBytes: floatBytes(output),
            backwardPeakBytes: floatBytes(output) + floatBytes(inputDimensions), inferencePeakBytes: floatBytes(output),
            forwardFlops: 2 * Double(rows) * Double(inputSize) * Double(outputSize))
    }

    /// Weights and biases of a Dense of these sizes.
    public static func parameterCount(inputSize: Int, outputSize: Int) -> Int { outputSize * (inputSize + 1) }
}

extension Conv2D: FootprintEstimating {
    /// The footprint for (B, H, W, C): the output is kept; backward returns the input gradient.
    public func activationFootprint(inputDimensions: [Int]) throws -> ActivationFootprint {
        let output = try outputDimensions(forInput: inputDimensions)
        return ActivationFootprint(outputDimensions: output, retainedBytes: floatBytes(output),
                                   backwardPeakBytes: floatBytes(inputDimensions), inferencePeakBytes: floatBytes(output),
                                   forwardFlops: convolutionFlops(output, kernelSize, inputChannels))
    }

    /// The footprint of this convolution fused with the `pool` after it (as
    /// ``Sequential`` runs the pair): only the pooled output and its winning
    /// positions (Int32) are kept, never the full-resolution convolution.
    func pooledFootprint(inputDimensions: [Int], pool: MaxPool2D) throws -> ActivationFootprint {
        let convolved = try outputDimensions(forInput: inputDimensions)
        let pooled = try pool.outputDimensions(forInput: convolved)
        return ActivationFootprint(outputDimensions: pooled, retainedBytes: 2 * floatBytes(pooled),
                                   backwardPeakBytes: floatBytes(inputDimensions), inferencePeakBytes: floatBytes(pooled),
                                   forwardFlops: convolutionFlops(convolved, kernelSize, inputChannels))
    }
}

extension Conv2DTranspose: FootprintEstimating {
    /// The footprint for (B, H, W, C): the output is kept; backward returns the input gradient.
    public func activationFootprint(inputDimensions: [Int]) throws -> ActivationFootprint {
        let output = try outputDimensions(forInput: inputDimensions)
        return ActivationFootprint(outputDimensions: output, retainedBytes: floatBytes(output),
                                   backwardPeakBytes: floatBytes(inputDimensions), inferencePeakBytes: floatBytes(output),
                                   forwardFlops: convolutionFlops(inputDimensions.dropLast() + [filters], kernelSize,
                                                                  inputChannels))
    }
}

extension MaxPool2D: FootprintEstimating {
    /// The footprint for (B, H, W, C): the output and its winning positions (Int32) are kept.
    public func activationFootprint(inputDimensions: [Int]) throws -> ActivationFootprint {
        let output = try outputDimensions(forInput: inputDimensions)
        return ActivationFootprint(outputDimensions: output, retainedBytes: 2 * floatBytes(output),
                                   backwardPeakBytes: floatBytes(inputDimensions), inferencePeakBytes: floatBytes(output),
                                   forwardFlops: Double(inputDimensions.reduce(1, *)))
    }
}

/// Multiply-adds of a convolution producing `output` (B, OH, OW, F) with a
/// `kernel` over `channels` input channels, as flops.
func convolutionFlops(_ output: [Int], _ kernel: (height: Int, width: Int), _ channels: Int) -> Double {
    2 * Double(output.reduce(1, *)) * Double(kernel.height * kernel.width * channels)
}

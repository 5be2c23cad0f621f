import FrameSequencing

// What the layer keeps for backward and holds in flight, for the memory planner
// (see ActivationFootprint); the figures follow the layer's code.

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

/// Multiply-adds of a convolution producing `output` (B, OH, OW, F) with a
/// `kernel` over `channels` input channels, as flops.
func convolutionFlops(_ output: [Int], _ kernel: (height: Int, width: Int), _ channels: Int) -> Double {
    2 * Double(output.reduce(1, *)) * Double(kernel.height * kernel.width * channels)
}

import FrameSequencing

// What the layer keeps for backward and holds in flight, for the memory planner
// (see ActivationFootprint); the figures follow the layer's code.

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

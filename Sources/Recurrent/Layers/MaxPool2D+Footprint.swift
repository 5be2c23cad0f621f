import FrameSequencing

// What the layer keeps for backward and holds in flight, for the memory planner
// (see ActivationFootprint); the figures follow the layer's code.

extension MaxPool2D: FootprintEstimating {
    /// The footprint for (B, H, W, C): the output and its winning positions (Int32) are kept.
    public func activationFootprint(inputDimensions: [Int]) throws -> ActivationFootprint {
        let output = try outputDimensions(forInput: inputDimensions)
        return ActivationFootprint(outputDimensions: output, retainedBytes: 2 * floatBytes(output),
                                   backwardPeakBytes: floatBytes(inputDimensions), inferencePeakBytes: floatBytes(output),
                                   forwardFlops: Double(inputDimensions.reduce(1, *)))
    }
}

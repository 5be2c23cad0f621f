import FrameSequencing

// What the layer keeps for backward and holds in flight, for the memory planner
// (see ActivationFootprint); the figures follow the layer's code.

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

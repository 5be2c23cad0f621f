import FrameSequencing

// The model's footprint for the memory planner, composed from its layers'
// (see ActivationFootprint) the way its passes run.

extension TimeDistributed: FootprintEstimating {
    /// The stack's footprint over (B * T, sample...), with the output unfolded to (B, T, ...).
    public func activationFootprint(inputDimensions: [Int]) throws -> ActivationFootprint {
        guard inputDimensions.count >= 3 else {
            throw RecurrentError.shapeMismatch(name: "TimeDistributed input (batch, timesteps, sample...)",
                                               expected: [.any("batch"), .any("timesteps"), .any("sample...")], actual: inputDimensions)
        }
        let leading = Array(inputDimensions.prefix(2))
        var inner = try model.activationFootprint(inputDimensions: [leading[0] * leading[1]] + inputDimensions.dropFirst(2))
        inner.outputDimensions = leading + inner.outputDimensions.dropFirst()
        return inner
    }
}

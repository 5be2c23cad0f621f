import FrameSequencing

// The model's footprint for the memory planner, composed from its layers'
// (see ActivationFootprint) the way its passes run.

extension CNNGRUForecaster: FootprintEstimating {
    /// Encoder, GRU (every step), decoder: for (B, T, H, W, C).
    public func activationFootprint(inputDimensions: [Int]) throws -> ActivationFootprint {
        let codes = try encoder.activationFootprint(inputDimensions: inputDimensions)
        let recurrence = try gru.activationFootprint(inputDimensions: codes.outputDimensions, returnSequences: true)
        return codes.then(recurrence).then(try decoder.activationFootprint(inputDimensions: recurrence.outputDimensions))
    }
}

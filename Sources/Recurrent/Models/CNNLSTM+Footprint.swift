import FrameSequencing

// The model's footprint for the memory planner, composed from its layers'
// (see ActivationFootprint) the way its passes run.

extension CNNLSTM: FootprintEstimating {
    /// Per-frame features, the LSTM (its last step unless ``returnSequences``), the head: for (B, T, H, W, C).
    public func activationFootprint(inputDimensions: [Int]) throws -> ActivationFootprint {
        let codes = try features.activationFootprint(inputDimensions: inputDimensions)
        let recurrence = try lstm.activationFootprint(inputDimensions: codes.outputDimensions)
        return codes.then(recurrence).then(try head.activationFootprint(inputDimensions: recurrence.outputDimensions))
    }
}

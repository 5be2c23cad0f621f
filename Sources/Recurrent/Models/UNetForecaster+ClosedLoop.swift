import FrameSequencing

/// Each step is the sequence pass over one frame from the carried bottleneck
/// state; the state gradient flows through the bottleneck alone (the skips
/// see one frame).
extension UNetForecaster: ClosedLoopTrainable {
    public func trainingStep(_ frame: Tensor, from state: ConvLSTMState, context: LayerContext) throws
        -> (prediction: Tensor, state: ConvLSTMState, cache: Cache) {
        let step = try trainingForward(try Self.oneFrame(frame), from: state, context: context)
        return (try step.output.reshaped(to: frame.shape), step.finalState, step.cache)
    }

    public func backwardStep(predictionGradient: Tensor, stateGradient: ConvLSTMState?, cache: Cache,
                             into gradients: inout Gradients) throws -> (frame: Tensor, state: ConvLSTMState) {
        let step = try backward(outputGradient: try Self.oneFrame(predictionGradient), finalStateGradient: stateGradient,
                                cache: cache, into: &gradients)
        return (try step.input.reshaped(to: predictionGradient.shape), step.initialState)
    }
}

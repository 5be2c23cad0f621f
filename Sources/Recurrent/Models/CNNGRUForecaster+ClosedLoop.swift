import FrameSequencing

/// Each step encodes a frame, advances the GRU one step and decodes its
/// output; the state carried is the GRU's hidden state.
extension CNNGRUForecaster: ClosedLoopTrainable {
    public func trainingStep(_ frame: Tensor, from state: Tensor, context: LayerContext) throws
        -> (prediction: Tensor, state: Tensor, cache: ForecastStepCache) {
        try steppedForward(frame, recurrence: 1, as: GRU.self, from: state, context: context)
    }

    public func backwardStep(predictionGradient: Tensor, stateGradient: Tensor?, cache: ForecastStepCache,
                             into gradients: inout Sequential.Gradients) throws -> (frame: Tensor, state: Tensor) {
        try steppedBackward(predictionGradient: predictionGradient, stateGradient: stateGradient, cache: cache,
                            recurrence: 1, as: GRU.self, into: &gradients)
    }
}

import FrameSequencing

/// Each step encodes a frame, advances the LSTM one step and decodes its
/// output; the state carried is the LSTM's.
extension CNNLSTMForecaster: ClosedLoopTrainable {
    public func trainingStep(_ frame: Tensor, from state: LSTMState, context: LayerContext) throws
        -> (prediction: Tensor, state: LSTMState, cache: ForecastStepCache) {
        try steppedForward(frame, recurrence: 1, as: LSTM.self, from: state, context: context)
    }

    public func backwardStep(predictionGradient: Tensor, stateGradient: LSTMState?, cache: ForecastStepCache,
                             into gradients: inout Sequential.Gradients) throws -> (frame: Tensor, state: LSTMState) {
        try steppedBackward(predictionGradient: predictionGradient, stateGradient: stateGradient, cache: cache,
                            recurrence: 1, as: LSTM.self, into: &gradients)
    }
}

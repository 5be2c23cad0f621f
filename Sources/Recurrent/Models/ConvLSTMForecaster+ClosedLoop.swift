import FrameSequencing

/// Each step reads a frame into the encoder and forecasts one step from the
/// encoder's new state; the state carried is the encoder's.
extension ConvLSTMForecaster: ClosedLoopTrainable {
    private typealias Recurrence = EncoderForecaster<RecurrentStack<ConvLSTM2D>>

    public func trainingStep(_ frame: Tensor, from state: [ConvLSTMState]?, context: LayerContext) throws
        -> (prediction: Tensor, state: [ConvLSTMState]?, cache: ForecastStepCache) {
        let step = try steppedForward(frame, recurrence: body.layers.count - 2, as: Recurrence.self, from: state, context: context)
        return (step.prediction, step.state, step.cache)
    }

    public func backwardStep(predictionGradient: Tensor, stateGradient: [ConvLSTMState]??, cache: ForecastStepCache,
                             into gradients: inout Sequential.Gradients) throws -> (frame: Tensor, state: [ConvLSTMState]?) {
        let step = try steppedBackward(predictionGradient: predictionGradient, stateGradient: stateGradient ?? nil, cache: cache,
                                       recurrence: body.layers.count - 2, as: Recurrence.self, into: &gradients)
        return (step.frame, step.state)
    }
}

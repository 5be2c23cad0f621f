import FrameSequencing

extension CNNLSTMForecaster: NextFrameForecaster {
    public func zeroState(batch: Int) throws -> LSTMState { try LSTMState.zeros(for: lstm, batch: batch) }

    public func step(_ frame: Tensor, from state: LSTMState) throws -> (prediction: Tensor, state: LSTMState) {
        let (frames, next) = try forward(try oneStep(frame), initialState: state)
        return (try frames.reshaped(to: Shape(frame.dimensions)), next)
    }
}

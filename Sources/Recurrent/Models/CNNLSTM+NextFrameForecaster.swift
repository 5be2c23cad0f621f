import FrameSequencing

/// A ``CNNLSTM`` whose head predicts a whole frame (outputs = H * W * C, for
/// example an FC-LSTM on flattened frames) forecasts frames too.
extension CNNLSTM: NextFrameForecaster {
    public func zeroState(batch: Int) throws -> LSTMState { try LSTMState.zeros(for: lstm, batch: batch) }

    /// - Throws: `shapeMismatch` when the head's outputs are not the frame's size.
    public func step(_ frame: Tensor, from state: LSTMState) throws -> (prediction: Tensor, state: LSTMState) {
        guard head.outputSize == frame.count / max(frame.dimensions.first ?? 1, 1) else {
            throw RecurrentError.shapeMismatch(name: "CNNLSTM head outputs for forecasting (one per frame value)",
                                               expected: [.size(frame.count / max(frame.dimensions.first ?? 1, 1))],
                                               actual: [head.outputSize])
        }
        let codes = try features.forward(try oneStep(frame))
        let result = try lstm.forward(codes, initialState: state, returnSequences: false)
        return (try head.forward(result.output).reshaped(to: Shape(frame.dimensions)), result.finalState)
    }
}

import FrameSequencing

/// The state carried from frame to frame is the GRU's hidden state, (L * D, B, H).
extension CNNGRUForecaster: NextFrameForecaster {
    public func zeroState(batch: Int) throws -> Tensor { try gru.zeroState(batch: batch) }

    public func step(_ frame: Tensor, from state: Tensor) throws -> (prediction: Tensor, state: Tensor) {
        let (frames, next) = try forward(try oneStep(frame), initialState: state)
        return (try frames.reshaped(to: Shape(frame.dimensions)), next)
    }
}

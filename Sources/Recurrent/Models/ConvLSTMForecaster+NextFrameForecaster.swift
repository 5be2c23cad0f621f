import FrameSequencing

extension ConvLSTMForecaster: NextFrameForecaster {
    /// Each encoder layer's (h, c); nil before the first frame (zeros).
    public func zeroState(batch: Int) throws -> [ConvLSTMState]? { nil }

    /// Reads `frame` into the encoder and predicts the next frame: the first of
    /// the ``horizon`` frames the forecaster produces from the encoder's states.
    public func step(_ frame: Tensor, from state: [ConvLSTMState]?) throws
        -> (prediction: Tensor, state: [ConvLSTMState]?) {
        guard frame.shape.rank == 4 else {
            throw RecurrentError.shapeMismatch(name: "Frame (batch, height, width, channels)",
                expected: [.any("batch"), .any("height"), .any("width"), .any("channels")],
                                               actual: frame.dimensions)
        }
        let states = try encode(try frame.reshaped(to: Shape([frame.dimensions[0], 1] + frame.dimensions.dropFirst())),
                                from: state)
        let frames = try forecast(from: states)
        return (try timestep(frames, 0), states)
    }
}

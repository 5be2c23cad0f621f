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

extension ConvLSTMForecaster {
    /// The `steps` frames after each sequence of `context` (B, T, H, W, C),
    /// ``horizon`` at a time, as the model was trained: the forecaster's
    /// frames from the encoder's states; past the horizon the encoder reads
    /// the frames just forecast and the forecaster runs again. With a horizon
    /// of 1 this is ``NextFrameForecaster/forecastClosedLoop(context:steps:)``;
    /// with `steps <= horizon`, the first `steps` frames of ``forward(_:)``.
    ///
    /// ```swift
    /// let model = try ConvLSTMForecaster(frameHeight: 16, frameWidth: 16, channels: 1, filters: [8], horizon: 10)
    /// let future = try model.forecast(context: frames, steps: 20)    // (B, 20, 16, 16, 1): two passes of 10
    /// ```
    ///
    /// - Throws: `invalidArgument` for `steps` below 1; the errors of ``forward(_:)``.
    public func forecast(context: Tensor, steps: Int) throws -> Tensor {
        try RecurrentError.requirePositive(steps, "forecast steps")
        var states = try encode(context)
        var frames: [Tensor] = []
        while true {
            let chunk = try forecast(from: states)
            let count = min(horizon, steps - frames.count)
            frames += try (0 ..< count).map { try timestep(chunk, $0) }
            if frames.count == steps { return try stackTimesteps(frames) }
            states = try encode(chunk, from: states)
        }
    }
}

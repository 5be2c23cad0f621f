import FrameSequencing

extension UNetForecaster: NextFrameForecaster {
    /// The bottleneck's (h, c) before the first frame: zeros, each (B, H_L, W_L, F).
    public func zeroState(batch: Int) throws -> ConvLSTMState {
        try RecurrentError.requirePositive(batch, "UNetForecaster batch")
        let grid = bottleneckGrid
        return try ConvLSTMState.zeros(batch: batch, height: grid.height, width: grid.width, filters: bottleneck.filters)
    }

    /// Reads `frame` (B, H, W, C) after `state` and predicts the next frame (B, H, W, C).
    public func step(_ frame: Tensor, from state: ConvLSTMState) throws -> (prediction: Tensor, state: ConvLSTMState) {
        let (prediction, next) = try forward(try Self.oneFrame(frame), from: state)
        return (try prediction.reshaped(to: frame.shape), next)
    }

    /// `frame` (B, H, W, C) as a one-step sequence (B, 1, H, W, C), or
    /// `shapeMismatch` for a tensor that is not rank 4.
    static func oneFrame(_ frame: Tensor) throws -> Tensor {
        guard frame.shape.rank == 4 else {
            throw RecurrentError.shapeMismatch(name: "UNetForecaster frame (batch, height, width, channels)",
                                               expected: [.any("batch"), .any("height"), .any("width"), .any("channels")],
                                               actual: frame.dimensions)
        }
        return try oneStep(frame)
    }
}

import FrameSequencing

// The names streams and forecasters had before one verb set (`step`, `advance`,
// `reset`) served every stream. Removed in 0.3.0.

extension NextFrameForecaster {
    /// ``NextFrameForecaster/zeroState(batch:)``.
    @available(*, deprecated, renamed: "zeroState(batch:)")
    public func initialForecastState(batch: Int) throws -> ForecastState { try zeroState(batch: batch) }

    /// ``NextFrameForecaster/step(_:from:)``.
    @available(*, deprecated, renamed: "step(_:from:)")
    public func forecastStep(_ frame: Tensor, state: ForecastState) throws -> (prediction: Tensor, state: ForecastState) {
        try step(frame, from: state)
    }
}

extension ForecastStream {
    /// ``ForecastStream/step(_:)``.
    @available(*, deprecated, renamed: "step(_:)")
    public mutating func predictAndUpdate(_ frame: Tensor) throws -> Tensor { try step(frame) }
}

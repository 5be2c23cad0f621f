import FrameSequencing

/// A model that predicts the next frame one step at a time from a carried
/// state: the basis of stateful prediction and of open- and closed-loop
/// multi-step forecasts (MATLAB's `predictAndUpdateState`, as an API).
///
/// ```swift
/// let context = try window.slice(0 ..< 1)                        // (1, T, H, W, C): frames seen so far
/// let future = try model.forecastClosedLoop(context: context, steps: 10)   // (1, 10, H, W, C), fed back
/// var stream = try ForecastStream(model, batch: 1)
/// let next = try stream.step(frame)                              // (1, H, W, C); stream.reset() starts over
/// ```
public protocol NextFrameForecaster: Sendable {
    /// What carries over from one step to the next (an LSTM's (h, c)).
    associatedtype ForecastState: Sendable

    /// The state before the first frame of `batch` sequences.
    func zeroState(batch: Int) throws -> ForecastState

    /// Reads `frame` (B, H, W, C) after `state` and predicts the frame after it
    /// (B, H, W, C), returning the updated state.
    func step(_ frame: Tensor, from state: ForecastState) throws -> (prediction: Tensor, state: ForecastState)
}

extension NextFrameForecaster {
    /// Runs over every frame of `context` (B, T, H, W, C) from `state` (the
    /// initial state when nil): the prediction after the last frame and the
    /// state there.
    public func warmUp(_ context: Tensor, state: ForecastState? = nil) throws -> (prediction: Tensor, state: ForecastState) {
        guard context.shape.rank == 5, context.dimensions[1] > 0 else {
            throw RecurrentError.shapeMismatch(name: "Forecast context (batch, timesteps >= 1, height, width, channels)",
                                               expected: [.any("batch"), .any("timesteps >= 1"), .any("height"), .any("width"), .any("channels")],
                                               actual: context.dimensions)
        }
        var current = try state ?? zeroState(batch: context.dimensions[0])
        var prediction: Tensor?
        for t in 0 ..< context.dimensions[1] {
            (prediction, current) = try step(try timestep(context, t), from: current)
        }
        return (prediction!, current)
    }

    /// Open loop: after `context`, each of `actual`'s frames (B, K, H, W, C) is
    /// read in turn; returns the K predictions (B, K, H, W, C), prediction k
    /// being of the frame after `actual` frame k - 1 (the first is after the context).
    public func forecastOpenLoop(context: Tensor, actual: Tensor) throws -> Tensor {
        var (prediction, state) = try warmUp(context)
        var predictions = [prediction]
        for k in 0 ..< max(actual.dimensions.count == 5 ? actual.dimensions[1] - 1 : 0, 0) {
            (prediction, state) = try step(try timestep(actual, k), from: state)
            predictions.append(prediction)
        }
        return try stackTimesteps(predictions)
    }

    /// Closed loop: after `context`, each prediction is fed back as the next
    /// input; returns `steps` predicted frames (B, steps, H, W, C).
    ///
    /// - Throws: `invalidArgument` for `steps` below 1; `shapeMismatch` when a
    ///   prediction does not have the input frame's shape (it could not be fed back).
    public func forecastClosedLoop(context: Tensor, steps: Int) throws -> Tensor {
        try RecurrentError.requirePositive(steps, "forecast steps")
        var (prediction, state) = try warmUp(context)
        let frame = Array(context.dimensions.dropFirst(2))
        var predictions = [prediction]
        for _ in 1 ..< steps {
            try RecurrentError.requireShape(prediction, [context.dimensions[0]] + frame, "Fed-back prediction")
            (prediction, state) = try step(prediction, from: state)
            predictions.append(prediction)
        }
        return try stackTimesteps(predictions)
    }
}

/// Stateful next-frame prediction over a stream of frames, with reset.
public struct ForecastStream<Model: NextFrameForecaster>: Sendable {
    /// The model.
    public let model: Model
    /// Sequences predicted side by side.
    public let batch: Int
    /// The carried state.
    public private(set) var state: Model.ForecastState
    // The state a new sequence starts from, made once.
    private let initialState: Model.ForecastState

    /// A stream at the model's initial state.
    public init(_ model: Model, batch: Int) throws {
        self.model = model
        self.batch = batch
        self.initialState = try model.zeroState(batch: batch)
        self.state = initialState
    }

    /// Reads `frame` (B, H, W, C) and returns the prediction of the next one.
    public mutating func step(_ frame: Tensor) throws -> Tensor {
        let (prediction, next) = try model.step(frame, from: state)
        state = next
        return prediction
    }

    /// Reads every frame of `chunk` (B, T, H, W, C) in turn and returns the
    /// prediction after each (B, T, H, W, C): T calls of ``step(_:)``, as
    /// ``LSTMStream/advance(_:)`` is for an LSTM.
    ///
    /// - Throws: `shapeMismatch` for a chunk that is not (B, T >= 1, H, W, C)
    ///   of this stream's batch; the model's errors for frames it cannot read.
    public mutating func advance(_ chunk: Tensor) throws -> Tensor {
        guard chunk.shape.rank == 5, chunk.dimensions[0] == batch, chunk.dimensions[1] > 0 else {
            throw RecurrentError.shapeMismatch(name: "ForecastStream chunk (batch, timesteps, height, width, channels)",
                                               expected: [.size(batch), .any("timesteps >= 1"), .any("height"), .any("width"), .any("channels")],
                                               actual: chunk.dimensions)
        }
        var predictions: [Tensor] = []
        for t in 0 ..< chunk.dimensions[1] { predictions.append(try step(try timestep(chunk, t))) }
        return try stackTimesteps(predictions)
    }

    /// Back to the initial state (a new sequence starts).
    public mutating func reset() {
        state = initialState
    }
}

/// `frame` (B, ...) as a one-step sequence (B, 1, ...).
func oneStep(_ frame: Tensor) throws -> Tensor {
    guard let batch = frame.dimensions.first else {
        throw RecurrentError.shapeMismatch(name: "Frame (batch, height, width, channels)",
            expected: [.any("batch"), .any("height"), .any("width"), .any("channels")], actual: [])
    }
    return try frame.reshaped(to: Shape([batch, 1] + frame.dimensions.dropFirst()))
}

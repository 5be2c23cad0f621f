import FrameSequencing

/// Stateful prediction: feeds an LSTM one timestep (or one chunk) at a time,
/// carrying (h, c) across calls, so online or closed-loop prediction gives the
/// same numbers as one run over the whole sequence.
///
/// ```swift
/// var stream = try LSTMStream(lstm, batch: 1)
/// for frame in frames {
///     let h = try stream.step(frame)       // (1, hidden)
/// }
/// stream.reset()                           // back to the zero (or given) state
/// ```
///
/// Bidirectional LSTMs cannot be streamed (their reverse direction needs the
/// future) and are refused.
public struct LSTMStream: Sendable {
    /// The LSTM being fed.
    public let lstm: LSTM
    /// The state carried into the next call: (L*D, B, H) each.
    public private(set) var state: LSTMState
    private let initialState: LSTMState

    /// A stream for `batch` sequences starting from `initialState` (zeros when `nil`).
    ///
    /// - Throws: `invalidArgument` for a bidirectional LSTM or a batch below 1 (a
    ///   stream carries the state of live sequences; unlike ``LSTM/forward(_:initialState:lengths:layout:returnSequences:)``
    ///   it takes no empty batch); `shapeMismatch` for a state of the wrong shape.
    public init(_ lstm: LSTM, batch: Int, initialState: LSTMState? = nil) throws {
        guard !lstm.isBidirectional else {
            throw RecurrentError.invalidArgument(name: "LSTM to stream", expected: "a unidirectional LSTM",
                                                 actual: "a bidirectional one")
        }
        try RecurrentError.requirePositive(batch, "batch")
        let state = try initialState ?? LSTMState.zeros(for: lstm, batch: batch)
        try RecurrentError.requireShape(state.hidden, [lstm.layerCount, batch, lstm.hiddenStateSize], "Initial hidden state")
        try RecurrentError.requireShape(state.cell, [lstm.layerCount, batch, lstm.hiddenSize], "Initial cell state")
        self.lstm = lstm
        self.state = state
        self.initialState = state
    }

    /// Advances one timestep: `input` (B, I) gives the top layer's output (B, H).
    public mutating func step(_ input: Tensor) throws -> Tensor {
        guard input.shape.rank == 2 else {
            throw RecurrentError.shapeMismatch(name: "Streamed input", expected: [.size(state.hidden.dimensions[1]), .size(lstm.inputSize)],
                                               actual: input.dimensions)
        }
        let chunk = try input.reshaped(to: [input.dimensions[0], 1, input.dimensions[1]])
        return try advance(chunk).reshaped(to: [input.dimensions[0], lstm.hiddenStateSize])
    }

    /// Advances over a chunk (B, T, I), returning (B, T, H).
    public mutating func advance(_ chunk: Tensor) throws -> Tensor {
        let result = try lstm.forward(chunk, initialState: state)
        state = result.finalState
        return result.output
    }

    /// Returns to the state the stream started from.
    public mutating func reset() {
        state = initialState
    }
}

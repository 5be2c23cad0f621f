import FrameSequencing

/// Stateful prediction: feeds a GRU one timestep (or one chunk) at a time,
/// carrying h across calls, so online or closed-loop prediction gives the
/// same numbers as one run over the whole sequence.
///
/// ```swift
/// var stream = try GRUStream(gru, batch: 1)
/// for frame in frames {
///     let h = try stream.step(frame)       // (1, hidden)
/// }
/// stream.reset()                           // back to the zero (or given) state
/// ```
///
/// Bidirectional GRUs and GRUs with ``GRU/goBackwards`` cannot be streamed
/// (both need the future: a chunk at a time would reverse each chunk alone)
/// and are refused. Each call reuses the weights the GRU packed for
/// inference on its first call.
public struct GRUStream: Sendable {
    /// The GRU being fed.
    public let gru: GRU
    /// h carried into the next call: (L, B, H).
    public private(set) var state: Tensor
    private let initialState: Tensor

    /// A stream for `batch` sequences starting from `initialState` (zeros when `nil`).
    ///
    /// - Throws: `invalidArgument` for a bidirectional GRU, one with
    ///   ``GRU/goBackwards``, or a batch below 1 (a stream carries the state of
    ///   live sequences; unlike ``GRU/forward(_:initialHidden:lengths:layout:returnSequences:)``
    ///   it takes no empty batch); `shapeMismatch` for a state other than (L, B, H).
    public init(_ gru: GRU, batch: Int, initialState: Tensor? = nil) throws {
        guard !gru.isBidirectional else {
            throw RecurrentError.invalidArgument(name: "GRU to stream", expected: "a unidirectional GRU",
                                                 actual: "a bidirectional one")
        }
        guard !gru.goBackwards else {
            throw RecurrentError.invalidArgument(name: "GRU to stream", expected: "a GRU reading forward in time",
                                                 actual: "goBackwards (it needs the whole sequence)")
        }
        try RecurrentError.requirePositive(batch, "batch")
        let state = try initialState ?? gru.zeroState(batch: batch)
        try RecurrentError.requireShape(state, [gru.layerCount, batch, gru.hiddenSize], "Initial hidden state")
        self.gru = gru
        self.state = state
        self.initialState = state
    }

    /// Advances one timestep: `input` (B, I) gives the top layer's output (B, H).
    ///
    /// - Throws: `shapeMismatch` for an input other than (B, I).
    public mutating func step(_ input: Tensor) throws -> Tensor {
        let batch = state.dimensions[1]
        guard input.shape.rank == 2 else {
            throw RecurrentError.shapeMismatch(name: "Streamed input", expected: [.size(batch), .size(gru.inputSize)],
                                               actual: input.dimensions)
        }
        let chunk = try input.reshaped(to: [input.dimensions[0], 1, input.dimensions[1]])
        return try advance(chunk).reshaped(to: [input.dimensions[0], gru.hiddenSize])
    }

    /// Advances over a chunk (B, T, I), returning (B, T, H).
    ///
    /// - Throws: what ``GRU/forward(_:initialHidden:lengths:layout:returnSequences:)``
    ///   throws for a chunk of another batch or feature count.
    public mutating func advance(_ chunk: Tensor) throws -> Tensor {
        let result = try gru.forward(chunk, initialHidden: state)
        state = result.finalHidden
        return result.output
    }

    /// Returns to the state the stream started from.
    public mutating func reset() {
        state = initialState
    }
}

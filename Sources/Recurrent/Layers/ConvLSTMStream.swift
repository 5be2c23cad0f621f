import FrameSequencing

/// Stateful prediction with a ``ConvLSTM2D``: feeds it one frame (or one chunk
/// of frames) at a time, carrying (h, c) across calls, so online or
/// closed-loop prediction gives the same numbers as one run over the whole
/// sequence.
///
/// ```swift
/// var stream = try ConvLSTMStream(layer, batch: 1, frameSize: (64, 64))
/// for frame in frames {
///     let h = try stream.step(frame)       // (1, 64, 64, filters) for a (1, 64, 64, C) frame
/// }
/// stream.reset()                           // back to the zero (or given) state
/// ```
///
/// Reversed layers cannot be streamed (they start from the last frame) and are refused.
public struct ConvLSTMStream: Sendable {
    /// The layer being fed.
    public let layer: ConvLSTM2D
    /// The state carried into the next call: (B, H', W', F) each.
    public private(set) var state: ConvLSTMState
    private let initialState: ConvLSTMState
    private let frameSize: (height: Int, width: Int)

    /// A stream for `batch` sequences of frames of `frameSize` (H, W), starting
    /// from `initialState` (zeros when `nil`).
    ///
    /// - Throws: `invalidArgument` for a reversed layer, a batch below 1 or a frame
    ///   the kernel does not fit; `shapeMismatch` for a state of the wrong shape.
    public init(_ layer: ConvLSTM2D, batch: Int, frameSize: (height: Int, width: Int),
                initialState: ConvLSTMState? = nil) throws {
        guard !layer.isReversed else {
            throw RecurrentError.invalidArgument(name: "ConvLSTM2D to stream", expected: "a layer running forward in time",
                                                 actual: "a reversed (go_backwards) layer")
        }
        try RecurrentError.requirePositive(batch, "ConvLSTMStream batch")
        let grid = try layer.stateDimensions(forFrame: frameSize)
        let state = try initialState
            ?? ConvLSTMState.zeros(batch: batch, height: grid.height, width: grid.width, filters: layer.filters)
        let shape = [batch, grid.height, grid.width, layer.filters]
        try RecurrentError.requireShape(state.hidden, shape, "ConvLSTMStream initial hidden state")
        try RecurrentError.requireShape(state.cell, shape, "ConvLSTMStream initial cell state")
        self.layer = layer
        self.state = state
        self.initialState = state
        self.frameSize = frameSize
    }

    /// Advances one timestep: a frame (B, H, W, C) gives h_t (B, H', W', F).
    ///
    /// - Throws: `shapeMismatch` for a frame of another batch, size or channel count.
    public mutating func step(_ frame: Tensor) throws -> Tensor {
        let expected = [state.hidden.dimensions[0], frameSize.height, frameSize.width, layer.inputChannels]
        try RecurrentError.requireShape(frame, expected, "ConvLSTMStream frame (batch, height, width, channels)")
        let chunk = try frame.reshaped(to: Shape([expected[0], 1] + expected.dropFirst()))
        let output = try advance(chunk)
        return try output.reshaped(to: Shape([expected[0]] + output.dimensions.dropFirst(2)))
    }

    /// Advances over a chunk (B, T, H, W, C), returning every h_t (B, T, H', W', F).
    ///
    /// - Throws: `shapeMismatch` for a chunk of another batch, frame size or channel count.
    public mutating func advance(_ chunk: Tensor) throws -> Tensor {
        let d = chunk.dimensions
        guard d.count == 5, d[0] == state.hidden.dimensions[0], d[2] == frameSize.height, d[3] == frameSize.width else {
            throw RecurrentError.shapeMismatch(
                name: "ConvLSTMStream chunk (batch, timesteps, height, width, channels)",
                expected: [.size(state.hidden.dimensions[0]), .any("timesteps"), .size(frameSize.height), .size(frameSize.width),
                           .size(layer.inputChannels)],
                actual: d)
        }
        let result = try layer.forward(chunk, initialState: state)
        state = result.finalState
        return result.output
    }

    /// Returns to the state the stream started from.
    public mutating func reset() {
        state = initialState
    }
}

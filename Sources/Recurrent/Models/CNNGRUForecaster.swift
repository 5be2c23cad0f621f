import FrameSequencing

/// Predicts the next frame from each prefix of a frame sequence with a GRU: a
/// per-frame encoder, a ``GRU`` over the codes, and a per-frame decoder back to
/// the frame. The GRU twin of ``CNNLSTMForecaster``; with a flatten as the
/// encoder and a Dense (sigmoid) and reshape as the decoder it is an FC-GRU.
///
/// ```swift
/// let model = CNNGRUForecaster(
///     encoder: TimeDistributed(try Sequential([.flatten])),                  // (B, T, 64 * 64)
///     gru: try GRU(inputSize: 64 * 64, hiddenSize: 256, seed: 1),
///     decoder: TimeDistributed(try Sequential([
///         .dense(try Dense(inputSize: 256, outputSize: 64 * 64, activation: .sigmoid, seed: 2)),
///         .reshape([64, 64, 1]),
///     ])))
/// let predicted = try model.forward(frames).frames   // (B, T, 64, 64, 1): step t predicts frame t + 1
/// ```
///
/// Train it on windows whose target is the window shifted by one frame
/// (`WindowTarget.shifted`), or on closed-loop rollouts (``ClosedLoopTrainable``).
public struct CNNGRUForecaster: Composite {
    /// The model's layers: `encoder`, `gru` and `decoder`, run by every pass.
    public private(set) var body: Sequential

    /// Frame to code, per timestep (output flat, `gru.inputSize` values).
    public var encoder: TimeDistributed { get { body.part(0) } set { body.layers[0] = newValue } }
    /// The recurrence over the codes, every timestep returned.
    public var gru: GRU { get { body.part(1) } set { body.layers[1] = Self.everyStep(newValue) } }
    /// GRU output to the predicted frame, per timestep.
    public var decoder: TimeDistributed { get { body.part(2) } set { body.layers[2] = newValue } }

    /// A model of the given parts; `decoder` must map `gru.outputSize` values to
    /// a frame. The GRU returns every timestep (its ``GRU/returnSequences`` is set).
    public init(encoder: TimeDistributed, gru: GRU, decoder: TimeDistributed) {
        body = Sequential(composing: ["encoder": encoder, "gru": Self.everyStep(gru), "decoder": decoder])
    }

    /// `gru` returning every timestep, as the decoder reads them.
    private static func everyStep(_ gru: GRU) -> GRU {
        var copy = gru
        copy.returnSequences = true
        return copy
    }

    public mutating func visitParameters(_ visit: (Int, inout Tensor) throws -> Void) rethrows { try body.visitParameters(visit) }

    /// For `frames` (B, T, H, W, C), the prediction of frame `t + 1` from frames
    /// `0...t`, for every `t`: (B, T, H, W, C).
    ///
    /// - Parameters:
    ///   - frames: (B, T, H, W, C).
    ///   - initialState: the GRU's hidden state before the first frame,
    ///     (L * D, B, H) (zeros when nil), for continuing a sequence; the
    ///     returned final state continues it.
    public func forward(_ frames: Tensor, initialState: Tensor? = nil) throws -> (frames: Tensor, finalState: Tensor) {
        let codes = try encoder.forward(frames)
        let result = try gru.forward(codes, initialHidden: initialState)
        return (try decoder.forward(result.output), result.finalHidden)
    }

    /// ``forward(_:initialState:)`` keeping what backward needs; `dropoutSeed`
    /// draws the GRU's dropout masks between layers.
    public func trainingForward(_ frames: Tensor, dropoutSeed: UInt64 = 0) throws -> (output: Tensor, cache: Cache) {
        try body.trainingForward(frames, context: LayerContext(dropoutSeed: dropoutSeed))
    }
}

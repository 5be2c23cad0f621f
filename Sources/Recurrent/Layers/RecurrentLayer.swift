import FrameSequencing

/// A layer that carries a state across timesteps (``LSTM``, ``ConvLSTM2D``, a
/// ``RecurrentStack`` of them): as a ``Layer`` it starts from zeros and returns
/// its output; these start from a given state, return the final one, and carry
/// gradients into and out of states, so that one recurrence can start from
/// another's final state (``EncoderForecaster``) or a long sequence trains in chunks.
public protocol RecurrentLayer: Layer {
    /// What carries over from one timestep to the next (an LSTM's (h, c)).
    associatedtype State: Sendable

    /// The output for `input` from `state` and the final state.
    ///
    /// - Parameters:
    ///   - input: the sequence, in the layer's input layout.
    ///   - state: where the recurrence starts; zeros when nil.
    ///   - returnSequences: every timestep, or the last one alone.
    ///   - context: lengths of padded sequences, the dropout seed.
    func forward(_ input: Tensor, from state: State?, returnSequences: Bool, context: LayerContext) throws
        -> (output: Tensor, finalState: State)

    /// ``forward(_:from:returnSequences:context:)`` keeping what backward needs.
    func trainingForward(_ input: Tensor, from state: State?, returnSequences: Bool, context: LayerContext) throws
        -> (output: Tensor, finalState: State, cache: Cache)

    /// Backward of `L = sum(output * outputGradient) + <finalState, finalStateGradient>`:
    /// adds every parameter's gradient into `gradients` and returns dL/dinput and
    /// dL/dinitialState.
    func backward(outputGradient: Tensor, finalStateGradient: State?, cache: Cache, into gradients: inout Gradients) throws
        -> (input: Tensor, initialState: State)

    /// The input a recurrence reads when nothing is fed to it: zeros of
    /// `timesteps` steps for the batch and grid of `state`, as the forecaster of
    /// Shi et al. (2015) reads.
    func zeroInput(timesteps: Int, after state: State) throws -> Tensor

    /// Features per timestep of the input (its last axis): an LSTM's
    /// ``LSTM/inputSize``, a ConvLSTM2D's ``ConvLSTM2D/inputChannels``.
    var inputFeatures: Int { get }
}

extension LSTM: RecurrentLayer {
    public func forward(_ input: Tensor, from state: LSTMState?, returnSequences: Bool, context: LayerContext) throws
        -> (output: Tensor, finalState: LSTMState) {
        let result = try forward(input, initialState: state, lengths: context.lengths, returnSequences: returnSequences)
        return (result.output, result.finalState)
    }

    public func trainingForward(_ input: Tensor, from state: LSTMState?, returnSequences: Bool, context: LayerContext) throws
        -> (output: Tensor, finalState: LSTMState, cache: LSTMCache) {
        let (result, cache) = try trainingForward(input, initialState: state, lengths: context.lengths,
                                                  returnSequences: returnSequences, dropoutSeed: context.dropoutSeed)
        return (result.output, result.finalState, cache)
    }

    public var inputFeatures: Int { inputSize }

    /// Zeros (B, timesteps, I), B the state's batch.
    public func zeroInput(timesteps: Int, after state: LSTMState) throws -> Tensor {
        try Tensor(shape: Shape([state.hidden.dimensions[1], timesteps, inputSize], names: ["batch", "timesteps", "features"]))
    }
}

extension ConvLSTM2D: RecurrentLayer {
    public func forward(_ input: Tensor, from state: ConvLSTMState?, returnSequences: Bool, context: LayerContext) throws
        -> (output: Tensor, finalState: ConvLSTMState) {
        let result = try forward(input, initialState: state, lengths: context.lengths, returnSequences: returnSequences)
        return (result.output, result.finalState)
    }

    public func trainingForward(_ input: Tensor, from state: ConvLSTMState?, returnSequences: Bool, context: LayerContext) throws
        -> (output: Tensor, finalState: ConvLSTMState, cache: Cache) {
        let (result, cache) = try trainingForward(input, initialState: state, lengths: context.lengths, returnSequences: returnSequences)
        return (result.output, result.finalState, cache)
    }

    public var inputFeatures: Int { inputChannels }

    /// Zeros (B, timesteps, H', W', C) on the state's (B, H', W') grid: the input
    /// grid for padding same and stride 1.
    public func zeroInput(timesteps: Int, after state: ConvLSTMState) throws -> Tensor {
        let d = state.hidden.dimensions
        guard d.count == 4 else {
            throw RecurrentError.shapeMismatch(name: "ConvLSTM2D state (batch, height, width, filters)",
                                               expected: [.any("batch"), .any("height"), .any("width"), .size(filters)], actual: d)
        }
        return try Tensor(shape: Shape([d[0], timesteps, d[1], d[2], inputChannels], names: ["batch", "timesteps", "height", "width", "channels"]))
    }
}

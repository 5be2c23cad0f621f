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

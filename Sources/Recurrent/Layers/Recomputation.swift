/// How the training forward pass of a recurrent layer (``LSTM``, ``ConvLSTM2D``)
/// keeps what its backward pass needs: every timestep's record, or, trading
/// time for memory, only the state every `k` steps (gradient checkpointing).
///
/// ```swift
/// var layer = try ConvLSTM2D(inputChannels: 3, filters: 16, kernelSize: (3, 3), padding: .same, seed: 1)
/// layer.recomputation = .keepStatesEvery(4)
/// let (result, cache) = try layer.trainingForward(frames)   // keeps (h, c) before steps 4, 8, ...
/// var gradients = layer.zeroGradients()
/// let inputGradients = try layer.backward(outputGradient: g, cache: cache, into: &gradients)
/// ```
///
/// With ``keepStatesEvery(_:)`` the training forward keeps the state (h, c) at
/// the start of every segment of `k` processing steps; backward, latest segment
/// first, reruns each segment's forward from its state to rebuild that
/// segment's record, then backpropagates through it. Outputs, final states and
/// every gradient are bit for bit those of ``none``: the recomputed values come
/// from the same kernels in the same order, and sums over time are taken in
/// the same order. The cost is one more forward pass in backward (measured in
/// the README's "Measured" section); the memory saved is given as a formula
/// for each layer at ``LSTM/recomputation`` and ``ConvLSTM2D/recomputation``.
///
/// `k` trades two memories against each other: the kept states grow as T / k
/// (for every layer at once, since all layers' records wait for backward), the
/// segment being recomputed as k (one layer at a time). With L such layers the
/// sum is smallest near k = sqrt(L T / 5) for ConvLSTM2D layers (2F per state
/// against 10F per segment step) and sqrt(2 L T / 7) for LSTM layers (2H
/// against 7H). Time barely depends on k: every step is recomputed once
/// whatever the segments. Any `k` of at least T keeps no state but the initial
/// one and recomputes the whole sequence as one segment.
public enum Recomputation: Sendable, Hashable {
    /// Keep every timestep's record (the default, and the fastest).
    case none
    /// Keep the state every `k` timesteps (`k >= 1`) and recompute the rest in backward.
    case keepStatesEvery(Int)

    /// The segments of a `timesteps`-step loop, or nil for ``none``.
    ///
    /// - Throws: `invalidArgument` for a `k` below 1.
    func segments(timesteps: Int) throws -> TimeSegments? {
        guard case .keepStatesEvery(let k) = self else { return nil }
        try validate()
        return TimeSegments(timesteps: timesteps, interval: k)
    }

    /// Throws `invalidArgument` for ``keepStatesEvery(_:)`` with `k` below 1.
    func validate() throws {
        if case .keepStatesEvery(let k) = self, k < 1 {
            throw RecurrentError.invalidArgument(
                name: "recomputation", expected: "keepStatesEvery(k) with k >= 1 timesteps", actual: "keepStatesEvery(\(k))")
        }
    }
}

import FrameSequencing

// ConvLSTM2D's recomputation (``Recomputation``): the memory a training step
// keeps with and without it, and the forward pass that keeps checkpoints
// (the kernels are in Kernels/ConvLSTM/ConvLSTMRecomputation.swift).

extension ConvLSTM2D {
    /// Bytes one layer's training forward keeps for backward beyond its input,
    /// initial state and output: every row's gates, c_t and h_t, or
    /// (S - 1) states (h, c) with ``Recomputation/keepStatesEvery(_:)``. The
    /// formula of ``recomputation``, for a memory plan.
    ///
    /// - Parameters: `pixels` is P = H' * W', the state grid's pixels.
    static func recordBytes(batch: Int, timesteps: Int, pixels: Int, filters: Int, recomputation: Recomputation) -> Int {
        let floats: Int
        switch recomputation {
        case .none:
            floats = batch * timesteps * pixels * 6 * filters
        case .keepStatesEvery(let k):
            let segments = TimeSegments(timesteps: timesteps, interval: max(1, k))
            floats = (segments.count - 1) * batch * pixels * 2 * filters
        }
        return floats * MemoryLayout<Float>.stride
    }

    /// Bytes of the largest buffers one layer's time loops hold while its
    /// backward runs, on top of ``recordBytes(batch:timesteps:pixels:filters:recomputation:)``:
    /// dz of every row, or one segment's record and dz with
    /// ``Recomputation/keepStatesEvery(_:)`` (which a recomputing training
    /// forward holds too, without the dz). The formula of ``recomputation``.
    static func timeLoopBytes(batch: Int, timesteps: Int, pixels: Int, filters: Int, recomputation: Recomputation) -> Int {
        let floats: Int
        switch recomputation {
        case .none:
            floats = batch * timesteps * pixels * 4 * filters
        case .keepStatesEvery(let k):
            floats = batch * TimeSegments(timesteps: timesteps, interval: max(1, k)).longest * pixels * 10 * filters
        }
        return floats * MemoryLayout<Float>.stride
    }
}

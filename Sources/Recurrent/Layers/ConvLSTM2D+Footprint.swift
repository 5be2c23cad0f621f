import FrameSequencing

// What the layer keeps for backward and holds in flight, for the memory planner
// (see ActivationFootprint): its record dominates a training step.

extension ConvLSTM2D: FootprintEstimating {
    /// The footprint for (B, T, H, W, C), every timestep returned.
    public func activationFootprint(inputDimensions: [Int]) throws -> ActivationFootprint {
        try activationFootprint(inputDimensions: inputDimensions, returnSequences: true)
    }

    /// The footprint for (B, T, H, W, C).
    ///
    /// With R = B * T * P rows (P pixels of the state grid) and F filters, a
    /// training pass keeps a record of R * 6F floats (gates, c_t, h_t; with
    /// ``recomputation``, the states every k steps), the output (R * F, or
    /// B * P * F for the last step only) and the final state; backward holds the
    /// gate gradients of every row (R * 4F; one segment's record and gradients
    /// when recomputing), the input gradient and four state-sized buffers.
    public func activationFootprint(inputDimensions: [Int], returnSequences: Bool) throws -> ActivationFootprint {
        let g = try geometry(inputDimensions)
        let (rows, stateCount, f) = (g.rowCount, g.batch * g.stateLength, filters)
        let output = try outputDimensions(forInput: inputDimensions, returnSequences: returnSequences)
        let sequence = returnSequences ? rows * f : 0
        let record = Self.recordBytes(batch: g.batch, timesteps: g.timesteps, pixels: g.pixels, filters: f,
                                      recomputation: recomputation)
        let loop = Self.timeLoopBytes(batch: g.batch, timesteps: g.timesteps, pixels: g.pixels, filters: f,
                                      recomputation: recomputation)
        let retained = record + floatBytes(count: sequence + 2 * stateCount)
        let backward = loop + floatBytes(count: 4 * stateCount) + floatBytes(inputDimensions)
        let inference = sequence + 4 * stateCount
        let taps = Double(kernelSize.height * kernelSize.width)
        return ActivationFootprint(
            outputDimensions: output, retainedBytes: retained,
            forwardPeakBytes: retained + (recomputation == .none ? 0 : loop), backwardPeakBytes: backward,
            inferencePeakBytes: floatBytes(count: inference),
            forwardFlops: 2 * Double(rows) * (taps * Double(inputChannels + f) + 1) * Double(4 * f))
    }
}

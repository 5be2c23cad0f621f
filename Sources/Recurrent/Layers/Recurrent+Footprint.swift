import FrameSequencing

// What the recurrent layers keep for backward and hold in flight, for the
// memory planner (see ActivationFootprint). Their records dominate a training
// step: per (b, t) row the LSTM saves its gates, c_t, c_{t-1} and h_{t-1}, and
// the ConvLSTM2D its gates, c_t and h_t at every pixel of the state grid.

extension LSTM: FootprintEstimating {
    /// The footprint for (B, T, I) as a ``Layer`` runs it (``returnSequences``).
    public func activationFootprint(inputDimensions: [Int]) throws -> ActivationFootprint {
        try activationFootprint(inputDimensions: inputDimensions, returnSequences: returnSequences)
    }

    /// The footprint for (B, T, I) (batch-major; time-major has the same sizes)
    /// when the output is every timestep or the last one alone.
    public func activationFootprint(inputDimensions: [Int], returnSequences: Bool) throws -> ActivationFootprint {
        guard inputDimensions.count == 3, inputDimensions[2] == inputSize else {
            throw RecurrentError.shapeMismatch(name: "LSTM input",
                expected: [.any("batch"), .any("timesteps"), .size(inputSize)], actual: inputDimensions)
        }
        return Self.estimatedFootprint(inputSize: inputSize, hiddenSize: hiddenSize, layerCount: layerCount,
                                       bidirectional: isBidirectional, dropout: dropout > 0,
                                       inputDimensions: inputDimensions, returnSequences: returnSequences,
                                       recomputation: recomputation)
    }

    /// ``activationFootprint(inputDimensions:returnSequences:)`` of an LSTM of
    /// these sizes, without making one.
    ///
    /// With R = B * T rows, D directions and H units, a training pass keeps per
    /// layer and direction a record of R * 7H floats (gates, c_t, c_{t-1},
    /// h_{t-1}; with `recomputation`, the states every k steps) and per layer
    /// its output, R * D * H (with dropout also the masked input and its mask);
    /// backward holds the input gradient, the incoming gradient of the layer
    /// below the top and the time loop's workspace (R * 4H, or one segment's
    /// record on top of it when recomputing).
    public static func estimatedFootprint(inputSize: Int, hiddenSize: Int, layerCount: Int = 1, bidirectional: Bool = false,
                                          dropout: Bool = false, inputDimensions: [Int], returnSequences: Bool = true,
                                          recomputation: Recomputation = .none) -> ActivationFootprint {
        // An empty shape holds no rows: an empty footprint, not a trap.
        let (batch, steps) = (inputDimensions.first ?? 0, inputDimensions.count > 1 ? inputDimensions[1] : 1)
        let rows = batch * steps
        let directions = bidirectional ? 2 : 1
        let (h, layerOutput) = (hiddenSize, rows * directions * hiddenSize)
        let states = 2 * layerCount * directions * batch * h
        let record = recordBytes(batch: batch, timesteps: steps, hiddenSize: h, recomputation: recomputation) / 4
        let workspace = timeLoopBytes(batch: batch, timesteps: steps, hiddenSize: h, recomputation: recomputation) / 4
        var retained = states, backward = 0, flops = 0.0
        for layer in 0 ..< layerCount {
            let width = layer == 0 ? inputSize : directions * h
            retained += directions * record
            retained += (layer < layerCount - 1 || returnSequences) ? layerOutput : 0
            if dropout && layer > 0 { retained += 2 * rows * width }
            backward = max(backward, (layer < layerCount - 1 ? layerOutput : 0) + rows * width)
            flops += Double(directions) * 2 * Double(rows) * Double(width + h) * Double(4 * h)
        }
        let output = returnSequences ? [batch, steps, directions * h] : [batch, directions * h]
        if !returnSequences { retained += batch * directions * h }
        // Backward: the top layer's output gradient spread over every step when
        // only the last was returned, the per-layer buffers above, the
        // workspace, and the state gradients.
        backward += (returnSequences ? 0 : layerOutput) + workspace + 2 * states
        // Inference: a gate buffer, two layers' outputs at a time and the states.
        let inference = rows * 4 * h + min(layerCount, 2) * layerOutput + states + (returnSequences ? 0 : batch * directions * h)
        return ActivationFootprint(
            outputDimensions: output, retainedBytes: floatBytes(count: retained),
            forwardPeakBytes: floatBytes(count: retained + (returnSequences ? 0 : layerOutput)
                                            + (recomputation == .none ? 0 : rows * 4 * h)),
            backwardPeakBytes: floatBytes(count: backward), inferencePeakBytes: floatBytes(count: inference),
            forwardFlops: flops)
    }

    /// Weights and biases of an LSTM of these sizes (PyTorch's layout: two biases per layer and direction).
    public static func parameterCount(inputSize: Int, hiddenSize: Int, layerCount: Int = 1, bidirectional: Bool = false) -> Int {
        let directions = bidirectional ? 2 : 1
        return (0 ..< layerCount).reduce(0) { total, layer in
            let width = layer == 0 ? inputSize : directions * hiddenSize
            return total + directions * 4 * hiddenSize * (width + hiddenSize + 2)
        }
    }
}

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

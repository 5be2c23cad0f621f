import FrameSequencing

// What the layer keeps for backward and holds in flight, for the memory planner
// (see ActivationFootprint): its record dominates a training step.

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

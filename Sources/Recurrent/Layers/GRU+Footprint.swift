import FrameSequencing

// What the layer keeps for backward and holds in flight, for the memory planner
// (see ActivationFootprint): its record dominates a training step. The sizes
// follow GRUForwardKernel.swift and GRUBackwardKernel.swift buffer by buffer.

extension GRU: FootprintEstimating {
    /// The footprint for (B, T, I) as a ``Layer`` runs it (``returnSequences``).
    public func activationFootprint(inputDimensions: [Int]) throws -> ActivationFootprint {
        try activationFootprint(inputDimensions: inputDimensions, returnSequences: returnSequences)
    }

    /// The footprint for (B, T, I) (batch-major; time-major has the same sizes)
    /// when the output is every timestep or the last one alone.
    ///
    /// - Throws: `shapeMismatch` unless the input has rank 3 and I features.
    public func activationFootprint(inputDimensions: [Int], returnSequences: Bool) throws -> ActivationFootprint {
        guard inputDimensions.count == 3, inputDimensions[2] == inputSize else {
            throw RecurrentError.shapeMismatch(name: "GRU input",
                expected: [.any("batch"), .any("timesteps"), .size(inputSize)], actual: inputDimensions)
        }
        return Self.estimatedFootprint(inputSize: inputSize, hiddenSize: hiddenSize, layerCount: layerCount,
                                       bidirectional: isBidirectional, dropout: dropout > 0,
                                       inputDimensions: inputDimensions, returnSequences: returnSequences)
    }

    /// ``activationFootprint(inputDimensions:returnSequences:)`` of a GRU of
    /// these sizes, without making one.
    ///
    /// With R = B * T rows, D directions and H units, a training pass keeps per
    /// layer and direction a record of R * 5H floats (gates r, z, n, the new
    /// gate's operand m and h_{t-1}) and per layer its output, R * D * H (with
    /// dropout also the mask of the layer's input); the first layer's input is the
    /// caller's buffer, shared, not copied. Backward holds the input gradient,
    /// the incoming gradient of the layer below the top, the time loop's
    /// workspace (R * 6H + 3BH) and the state gradients. Inference holds a
    /// gate buffer (R * 3H), two layers' outputs and the states, and the
    /// weights packed for reuse (G * (I + H) per layer and direction): those
    /// are parameter-sized, which counts where the input is a whole frame.
    /// The GRU has no recomputation: its record is always every step's.
    public static func estimatedFootprint(inputSize: Int, hiddenSize: Int, layerCount: Int = 1, bidirectional: Bool = false,
                                          dropout: Bool = false, inputDimensions: [Int],
                                          returnSequences: Bool = true) -> ActivationFootprint {
        // An empty shape holds no rows: an empty footprint, not a trap.
        let (batch, steps) = (inputDimensions.first ?? 0, inputDimensions.count > 1 ? inputDimensions[1] : 1)
        let rows = batch * steps
        let directions = bidirectional ? 2 : 1
        let (h, layerOutput) = (hiddenSize, rows * directions * hiddenSize)
        let states = layerCount * directions * batch * h
        let workspace = 2 * rows * 3 * h + 3 * batch * h
        // The final state is retained; the zero initial one made when none is
        // given is held through forward (and inference).
        var retained = states, backward = 0, flops = 0.0, packed = 0
        for layer in 0 ..< layerCount {
            let width = layer == 0 ? inputSize : directions * h
            retained += directions * rows * 5 * h
            retained += (layer < layerCount - 1 || returnSequences) ? layerOutput : 0
            // The mask; the layer below's output is masked in place (no other reference holds it).
            if dropout && layer > 0 { retained += rows * width }
            backward = max(backward, (layer < layerCount - 1 ? layerOutput : 0) + rows * width)
            flops += Double(directions) * 2 * Double(rows) * Double(width + h) * Double(3 * h)
            packed += directions * 3 * h * (width + h)
        }
        let output = returnSequences ? [batch, steps, directions * h] : [batch, directions * h]
        if !returnSequences { retained += batch * directions * h }
        // Backward: the top layer's output gradient spread over every step when
        // only the last was returned, the per-layer buffers above, the
        // workspace, and the final and initial state gradients.
        backward += (returnSequences ? 0 : layerOutput) + workspace + 2 * states
        let inference = rows * 3 * h + min(layerCount, 2) * layerOutput + 2 * states + packed
            + (returnSequences ? 0 : batch * directions * h)
        return ActivationFootprint(
            outputDimensions: output, retainedBytes: floatBytes(count: retained),
            forwardPeakBytes: floatBytes(count: retained + states + (returnSequences ? 0 : layerOutput)),
            backwardPeakBytes: floatBytes(count: backward), inferencePeakBytes: floatBytes(count: inference),
            forwardFlops: flops)
    }

    /// Weights and biases of a GRU of these sizes (PyTorch's layout: two biases
    /// per layer and direction; none without `bias`).
    public static func parameterCount(inputSize: Int, hiddenSize: Int, layerCount: Int = 1, bidirectional: Bool = false,
                                      bias: Bool = true) -> Int {
        let directions = bidirectional ? 2 : 1
        return (0 ..< layerCount).reduce(0) { total, layer in
            let width = layer == 0 ? inputSize : directions * hiddenSize
            return total + directions * 3 * hiddenSize * (width + hiddenSize + (bias ? 2 : 0))
        }
    }
}

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
        return Self.estimatedFootprint(inputSize: inputSize, hiddenSize: hiddenSize, projectionSize: projectionSize,
                                       layerCount: layerCount, bidirectional: isBidirectional, dropout: dropout > 0,
                                       recurrentDropout: recurrentDropout > 0, inputDimensions: inputDimensions,
                                       returnSequences: returnSequences, recomputation: recomputation)
    }

    /// ``activationFootprint(inputDimensions:returnSequences:)`` of an LSTM of
    /// these sizes, without making one.
    ///
    /// With R = B * T rows, D directions, H cell units and P units of h (the
    /// `projectionSize`, or H), a training pass keeps per layer and direction a
    /// record of R * 7H floats (gates, c_t, c_{t-1}, h_{t-1}; with
    /// `recomputation`, the states every k steps) and per layer its output,
    /// R * D * P (with dropout also the masked input and its mask). With
    /// projections or `recurrentDropout` training runs the plain route: a record
    /// of R * (7H + P) whatever `recomputation` says (m_t kept too), and with
    /// recurrent dropout four (B, P) masks per layer and direction. Backward
    /// holds the input gradient, the incoming gradient of the layer below the
    /// top and the time loop's workspace (R * 4H, or one segment's record on top
    /// of it when recomputing; on the plain route R * 4H and a few (B, H) rows,
    /// plus R * P for the masked h_{t-1} with recurrent dropout).
    public static func estimatedFootprint(inputSize: Int, hiddenSize: Int, projectionSize: Int = 0, layerCount: Int = 1,
                                          bidirectional: Bool = false, dropout: Bool = false, recurrentDropout: Bool = false,
                                          inputDimensions: [Int], returnSequences: Bool = true,
                                          recomputation: Recomputation = .none) -> ActivationFootprint {
        // An empty shape holds no rows: an empty footprint, not a trap.
        let (batch, steps) = (inputDimensions.first ?? 0, inputDimensions.count > 1 ? inputDimensions[1] : 1)
        let rows = batch * steps
        let directions = bidirectional ? 2 : 1
        let h = hiddenSize
        let p = projectionSize > 0 ? projectionSize : hiddenSize   // units of h
        let layerOutput = rows * directions * p
        let plain = projectionSize > 0 || recurrentDropout
        let states = layerCount * directions * batch * (h + p)
        let record = plain ? rows * (7 * h + p) + (recurrentDropout ? 4 * batch * p : 0)
            : recordBytes(batch: batch, timesteps: steps, hiddenSize: h, recomputation: recomputation) / 4
        let workspace = plain ? rows * 4 * h + batch * (h + 3 * p) + (recurrentDropout ? rows * p : 0)
            : timeLoopBytes(batch: batch, timesteps: steps, hiddenSize: h, recomputation: recomputation) / 4
        var retained = states, backward = 0, flops = 0.0
        for layer in 0 ..< layerCount {
            let width = layer == 0 ? inputSize : directions * p
            retained += directions * record
            retained += (layer < layerCount - 1 || returnSequences) ? layerOutput : 0
            if dropout && layer > 0 { retained += 2 * rows * width }
            backward = max(backward, (layer < layerCount - 1 ? layerOutput : 0) + rows * width)
            flops += Double(directions) * 2 * Double(rows) * (Double(width + p) * Double(4 * h)
                                                              + (projectionSize > 0 ? Double(h * p) : 0))
        }
        let output = returnSequences ? [batch, steps, directions * p] : [batch, directions * p]
        if !returnSequences { retained += batch * directions * p }
        // Backward: the top layer's output gradient spread over every step when
        // only the last was returned, the per-layer buffers above, the
        // workspace, and the state gradients.
        backward += (returnSequences ? 0 : layerOutput) + workspace + 2 * states
        // Inference: a gate buffer, two layers' outputs at a time and the states.
        let inference = rows * 4 * h + min(layerCount, 2) * layerOutput + states + (returnSequences ? 0 : batch * directions * p)
        return ActivationFootprint(
            outputDimensions: output, retainedBytes: floatBytes(count: retained),
            forwardPeakBytes: floatBytes(count: retained + (returnSequences ? 0 : layerOutput)
                                            + (plain || recomputation == .none ? 0 : rows * 4 * h)),
            backwardPeakBytes: floatBytes(count: backward), inferencePeakBytes: floatBytes(count: inference),
            forwardFlops: flops)
    }

    /// Weights and biases of an LSTM of these sizes, as ``namedParameters``
    /// holds them: per layer and direction W_ih (4H, input), W_hh (4H, P), two
    /// biases of 4H unless `bias` is false (PyTorch's layout) and W_hr (P, H)
    /// with projections (P the `projectionSize`, or H without).
    public static func parameterCount(inputSize: Int, hiddenSize: Int, projectionSize: Int = 0, layerCount: Int = 1,
                                      bidirectional: Bool = false, bias: Bool = true) -> Int {
        let directions = bidirectional ? 2 : 1
        let state = projectionSize > 0 ? projectionSize : hiddenSize
        return (0 ..< layerCount).reduce(0) { total, layer in
            let width = layer == 0 ? inputSize : directions * state
            let perDirection = 4 * hiddenSize * (width + state) + (bias ? 8 * hiddenSize : 0)
                + (projectionSize > 0 ? projectionSize * hiddenSize : 0)
            return total + directions * perDirection
        }
    }
}

import FrameSequencing

// The model's footprint for the memory planner, composed from its layers'
// (see ActivationFootprint) the way its passes run.

extension ConvLSTMForecaster: FootprintEstimating {
    /// For (B, T, H, W, C): the encoder's layers (the last keeping only its
    /// final state), the forecaster's on a zero input of `horizon` steps, each
    /// keeping its sequence, their outputs side by side along channels for the
    /// head, and the head. Backward splits the head's input gradient per layer
    /// and carries state gradients from the forecaster back to the encoder.
    public func activationFootprint(inputDimensions: [Int]) throws -> ActivationFootprint {
        try validateParts()
        var parts: [ActivationFootprint] = []
        var current = inputDimensions
        if let embedding {
            parts.append(try TimeDistributed(try Sequential([.conv2D(embedding)])).activationFootprint(inputDimensions: current))
            current = parts[0].outputDimensions
        }
        for (index, layer) in encoder.enumerated() {
            let part = try layer.activationFootprint(inputDimensions: current, returnSequences: index < encoder.count - 1)
            parts.append(part)
            current = part.outputDimensions
        }
        let batch = inputDimensions[0]
        let grid = Array(current.suffix(3).prefix(2))                       // (H', W') of the state
        let zeros = [batch, horizon] + grid + [forecaster[0].inputChannels]
        var forecast: [ActivationFootprint] = []
        current = zeros
        for layer in forecaster {
            let part = try layer.activationFootprint(inputDimensions: current, returnSequences: true)
            forecast.append(part)
            current = part.outputDimensions
        }
        let stacked = [batch * horizon] + grid + [forecaster.map(\.filters).reduce(0, +)]
        let projection = try head.activationFootprint(inputDimensions: stacked)
        let stateBytes = encoder.reduce(0) { $0 + floatBytes([batch] + grid + [$1.filters]) }
        let encoderPart = ActivationFootprint.chain(parts, input: inputDimensions)
        // The forecaster runs as a chain from the zero input (kept) and hands its
        // outputs to the head, all of them at once.
        let forecastPart = ActivationFootprint.chain(forecast, input: zeros)
        let retained = encoderPart.retainedBytes + floatBytes(zeros) + forecastPart.retainedBytes
            + floatBytes(stacked) + projection.retainedBytes
        // Backward: the head's input gradient and its split per layer stay while
        // the forecaster's layers run; then the state gradients of every layer
        // while the encoder's run.
        let split = 2 * floatBytes(stacked)
        let forecastBackward = split + forecastPart.backwardPeakBytes
        let encoderBackward = 2 * stateBytes + floatBytes([batch] + grid + [encoder.last!.filters]) + encoderPart.backwardPeakBytes
        let flops = encoderPart.forwardFlops + forecastPart.forwardFlops + projection.forwardFlops
        return ActivationFootprint(
            outputDimensions: [batch, horizon] + projection.outputDimensions.dropFirst(),
            retainedBytes: retained,
            forwardPeakBytes: max(encoderPart.forwardPeakBytes,
                                  encoderPart.retainedBytes + floatBytes(zeros) + forecastPart.forwardPeakBytes),
            backwardPeakBytes: max(projection.backwardPeakBytes, forecastBackward, encoderBackward),
            inferencePeakBytes: max(encoderPart.inferencePeakBytes,
                                    stateBytes * 2 + floatBytes(zeros) + forecastPart.inferencePeakBytes
                                        + forecast.reduce(0) { $0 + $1.outputBytes } + floatBytes(stacked)
                                        + projection.inferencePeakBytes),
            forwardFlops: flops)
    }
}

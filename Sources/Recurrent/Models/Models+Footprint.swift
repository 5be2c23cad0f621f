import FrameSequencing

// The models' footprints for the memory planner, composed from their layers'
// (see ActivationFootprint) the way their forward and backward passes run.

extension Sequential: FootprintEstimating {
    /// The stack's layers in order; a Conv2D followed by a MaxPool2D counts as
    /// the fused pair it runs as.
    ///
    /// - Throws: what the first layer that cannot take its input throws;
    ///   `invalidArgument` for a layer that does not estimate its footprint.
    public func activationFootprint(inputDimensions: [Int]) throws -> ActivationFootprint {
        var parts: [ActivationFootprint] = []
        var current = inputDimensions
        var index = 0
        while index < layers.count {
            let layer = layers[index]
            let part: ActivationFootprint
            do {
                if let conv = layer as? Conv2D, index + 1 < layers.count, let pool = layers[index + 1] as? MaxPool2D {
                    part = try conv.pooledFootprint(inputDimensions: current, pool: pool)
                    index += 1
                } else if let estimating = layer as? any FootprintEstimating {
                    part = try estimating.activationFootprint(inputDimensions: current)
                } else {
                    throw RecurrentError.invalidArgument(
                        name: "memory estimate", expected: "a layer conforming to FootprintEstimating",
                        actual: "\(type(of: layer)), which does not")
                }
            } catch let error as RecurrentError {
                throw error.inLayer(index, layerName(layer))
            }
            parts.append(part)
            current = part.outputDimensions
            index += 1
        }
        return .chain(parts, input: inputDimensions)
    }
}

extension TimeDistributed: FootprintEstimating {
    /// The stack's footprint over (B * T, sample...), with the output unfolded to (B, T, ...).
    public func activationFootprint(inputDimensions: [Int]) throws -> ActivationFootprint {
        guard inputDimensions.count >= 3 else {
            throw RecurrentError.shapeMismatch(name: "TimeDistributed input (batch, timesteps, sample...)",
                                               expected: [.any("batch"), .any("timesteps"), .any("sample...")], actual: inputDimensions)
        }
        let leading = Array(inputDimensions.prefix(2))
        var inner = try model.activationFootprint(inputDimensions: [leading[0] * leading[1]] + inputDimensions.dropFirst(2))
        inner.outputDimensions = leading + inner.outputDimensions.dropFirst()
        return inner
    }
}

extension CNNLSTM: FootprintEstimating {
    /// Per-frame features, the LSTM (its last step unless ``returnSequences``), the head: for (B, T, H, W, C).
    public func activationFootprint(inputDimensions: [Int]) throws -> ActivationFootprint {
        let codes = try features.activationFootprint(inputDimensions: inputDimensions)
        let recurrence = try lstm.activationFootprint(inputDimensions: codes.outputDimensions)
        return codes.then(recurrence).then(try head.activationFootprint(inputDimensions: recurrence.outputDimensions))
    }
}

extension CNNLSTMForecaster: FootprintEstimating {
    /// Encoder, LSTM (every step), decoder: for (B, T, H, W, C).
    public func activationFootprint(inputDimensions: [Int]) throws -> ActivationFootprint {
        let codes = try encoder.activationFootprint(inputDimensions: inputDimensions)
        let recurrence = try lstm.activationFootprint(inputDimensions: codes.outputDimensions, returnSequences: true)
        return codes.then(recurrence).then(try decoder.activationFootprint(inputDimensions: recurrence.outputDimensions))
    }
}

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

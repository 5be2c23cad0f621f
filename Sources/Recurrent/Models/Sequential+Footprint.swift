import FrameSequencing

// The model's footprint for the memory planner, composed from its layers'
// (see ActivationFootprint) the way its passes run.

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

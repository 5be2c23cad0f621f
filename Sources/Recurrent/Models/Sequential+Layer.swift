import FrameSequencing

extension Sequential: Layer {}

extension Sequential: Trainable {
    /// Each layer's parameters under its name, by default its position:
    /// `0.kernel`, `3.weight`, ...
    public var namedParameters: [(name: String, tensor: Tensor)] {
        zip(names, layers).flatMap { name, layer in prefixed(name, layer.namedParameters) }
    }

    public mutating func visitParameters(_ body: (Int, inout Tensor) throws -> Void) rethrows {
        var offset = 0
        for index in layers.indices {
            offset += try visitLayerParameters(of: &layers[index], from: offset, body)
        }
    }
}

/// Visits `layer`'s parameters in place with indices from `offset`; returns how many there are.

private func visitLayerParameters<L: Layer>(of layer: inout L, from offset: Int, _ body: (Int, inout Tensor) throws -> Void) rethrows -> Int {
    var count = 0
    try layer.visitParameters { index, parameter in
        try body(offset + index, &parameter)
        count += 1
    }
    return count
}

extension Sequential.Gradients: GradientSet {
    public var tensors: [Tensor] { layers.flatMap(\.tensors) }
}

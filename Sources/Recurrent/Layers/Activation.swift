import FrameSequencing

/// An elementwise activation applied after a layer's affine map.
public enum Activation: String, Sendable, Hashable, CaseIterable {
    case linear, relu, tanh, sigmoid

    /// The derivative at a point where the activation's output is `output`.
    @inline(__always)
    func derivative(output: Float) -> Float {
        switch self {
        case .linear: 1
        case .relu: output <= 0 ? 0 : 1
        case .tanh: 1 - output * output
        case .sigmoid: output * (1 - output)
        }
    }
}

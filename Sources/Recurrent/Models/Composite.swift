import FrameSequencing

/// A model that is a named stack of layers: its ``body``, a ``Sequential`` of
/// named parts, runs every pass, names every parameter and holds every
/// gradient, so the model writes no forward or backward arithmetic of its own,
/// only typed access to its parts (and, where it has them, checks that its
/// parts still fit together, ``validateComposition()``). The body cannot be
/// replaced from outside: parts are replaced through the model's typed
/// properties, parameters through ``Trainable/visitParameters(_:)``, which a
/// model implements by visiting its body's.
///
/// ```swift
/// let model = try CNNLSTM(frameHeight: 64, frameWidth: 64, channels: 1, filters: [32], hiddenSize: 64, outputs: 1)
/// model.body.names                      // ["features", "lstm", "head"]
/// var gradients = model.zeroGradients() // the body's: one entry per part
/// let lstmGradients = gradients.layers[1] as? LSTMGradients
/// ```
public protocol Composite: Layer where Cache == Sequential.Cache, Gradients == Sequential.Gradients {
    /// The model's layers, in order and named.
    var body: Sequential { get }
    /// Throws unless the parts still fit together as the model requires, beyond
    /// what each part checks itself; every pass calls it first. None by default.
    func validateComposition() throws
}

extension Composite {
    public func validateComposition() throws {}

    public func outputDimensions(forInput dimensions: [Int]) throws -> [Int] {
        try validateComposition()
        return try body.outputDimensions(forInput: dimensions)
    }

    public func forward(_ input: Tensor, context: LayerContext) throws -> Tensor {
        try validateComposition()
        return try body.forward(input, context: context)
    }

    public func trainingForward(_ input: Tensor, context: LayerContext) throws -> (output: Tensor, cache: Sequential.Cache) {
        try validateComposition()
        return try body.trainingForward(input, context: context)
    }

    /// Backward of `L = sum(output * outputGradient)`: accumulates every part's
    /// parameter gradients into `gradients` and returns dL/dinput.
    public func backward(outputGradient: Tensor, cache: Sequential.Cache, into gradients: inout Sequential.Gradients) throws -> Tensor {
        try validateComposition()
        try RecurrentError.requireShape(outputGradient, cache.outputShape, "\(Self.self) output gradient")
        return try body.backward(outputGradient: outputGradient, cache: cache, into: &gradients)
    }

    /// Every part's parameters under the part's name: `features.0.kernel`, `lstm.weight_ih_l0`, ...
    public var namedParameters: [(name: String, tensor: Tensor)] { body.namedParameters }

    /// Zero gradients of every part, one entry per part.
    public func zeroGradients() -> Sequential.Gradients { body.zeroGradients() }
}

extension Sequential {
    /// Layer `index` as the type a composite put there. Only the composite's own
    /// initializers and typed setters write its private body's entries (with
    /// values of those types), so the cast holds by construction.
    func part<L: Layer>(_ index: Int, as type: L.Type = L.self) -> L {
        layers[index] as! L
    }
}

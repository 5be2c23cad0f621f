import FrameSequencing

/// What a layer may read besides its input, as in Keras's `call(inputs, training, mask)`.
public struct LayerContext: Sendable {
    /// Valid timesteps per sequence (B) for a padded batch; nil when every step is valid.
    public var lengths: [Int]?
    /// The seed of a training pass's dropout masks (layers without dropout ignore it).
    public var dropoutSeed: UInt64
    /// Keras's `mask`: (B, T), 0 at padded steps, for a batch whose padding is
    /// not (only) after the data (`pad_sequences(padding="pre")`); give it or
    /// `lengths`, not both. The recurrent layers read it; others ignore it.
    public var mask: Tensor?

    public init(lengths: [Int]? = nil, dropoutSeed: UInt64 = 0, mask: Tensor? = nil) {
        self.lengths = lengths
        self.dropoutSeed = dropoutSeed
        self.mask = mask
    }
}

/// A map from a batch to a batch (axis 0 the batch, as Keras's and PyTorch's
/// layers) with a training forward that keeps what backward needs, and a
/// backward that returns dL/dinput and adds the parameters' gradients.
///
/// Every layer of the package conforms, the recurrent ones included (as a layer,
/// ``LSTM`` reads (B, T, I) batch-major and returns every timestep from zero
/// initial states; its own methods take states, layouts and more). Your own
/// layer conforms by implementing the four requirements and ``Trainable``'s
/// (a layer without parameters declares `Gradients = NoGradients` and gets them):
///
/// ```swift
/// struct Scale: Layer {
///     var factor: Tensor                                        // (1)
///     typealias Gradients = ScaleGradients                      // a GradientSet holding d factor
///     func outputDimensions(forInput dimensions: [Int]) -> [Int] { dimensions }
///     func forward(_ x: Tensor, context: LayerContext) throws -> Tensor { ... }
///     func trainingForward(_ x: Tensor, context: LayerContext) throws -> (output: Tensor, cache: Tensor) { ... }
///     func backward(outputGradient: Tensor, cache: Tensor, into gradients: inout ScaleGradients) throws -> Tensor { ... }
///     ...
/// }
/// ```
public protocol Layer: Trainable {
    /// What ``trainingForward(_:context:)`` keeps for backward.
    associatedtype Cache: Sendable

    /// The output's dimensions for an input of `dimensions`, or the error a
    /// forward pass on such an input would throw.
    func outputDimensions(forInput dimensions: [Int]) throws -> [Int]

    /// The output for `input`, for inference.
    func forward(_ input: Tensor, context: LayerContext) throws -> Tensor

    /// The output for `input` and what ``backward(outputGradient:cache:into:)`` needs.
    func trainingForward(_ input: Tensor, context: LayerContext) throws -> (output: Tensor, cache: Cache)

    /// Backward of `L = sum(output * outputGradient)`: adds every parameter's
    /// gradient into `gradients` and returns dL/dinput, the input's shape.
    func backward(outputGradient: Tensor, cache: Cache, into gradients: inout Gradients) throws -> Tensor
}

/// The gradients of a layer without parameters.
public struct NoGradients: GradientSet, Equatable {
    public init() {}
    public var tensors: [Tensor] { [] }
    public mutating func zero() {}
}

extension Trainable where Gradients == NoGradients {
    /// No parameters.
    public var namedParameters: [(name: String, tensor: Tensor)] { [] }
    /// No parameters to visit.
    public mutating func visitParameters(_ body: (_ index: Int, _ parameter: inout Tensor) throws -> Void) rethrows {}
    /// No gradients.
    public func zeroGradients() -> NoGradients { NoGradients() }
}

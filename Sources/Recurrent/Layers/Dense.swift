import FrameSequencing

/// A fully connected layer `y = activation(x W^T + b)` over the last axis, so it
/// applies per timestep to (B, T, F) as Keras's `Dense` and PyTorch's `Linear` do.
///
/// ```swift
/// var dense = try Dense(inputSize: 64, outputSize: 1, seed: 3)
/// let (y, cache) = try dense.trainingForward(features)       // (B, 1)
/// var gradients = dense.zeroGradients()
/// let dx = try dense.backward(outputGradient: dy, cache: cache, into: &gradients)
/// ```
///
/// `weight` and `bias` can be replaced with tensors of the same shapes; every
/// forward and backward pass checks them first and throws `shapeMismatch`
/// naming the one that changed (a Keras-layout (input, output) kernel included).
public struct Dense: Sendable {
    /// (output, input): PyTorch `Linear.weight`; Keras's kernel is its transpose.
    public var weight: Tensor
    /// (output).
    public var bias: Tensor
    public var activation: Activation

    /// Features each input row has (I), fixed when the layer is made.
    public let inputSize: Int
    /// Features each output row has (O), fixed when the layer is made.
    public let outputSize: Int

    /// A layer with PyTorch's default initialization: weight and bias uniform in
    /// ±1/sqrt(input), seeded.
    public init(inputSize: Int, outputSize: Int, activation: Activation = .linear, seed: UInt64 = 0) throws {
        try RecurrentError.requirePositive(inputSize, "inputSize")
        try RecurrentError.requirePositive(outputSize, "outputSize")
        var generator = SeededGenerator(seed: seed)
        let bound = 1 / Float(inputSize).squareRoot()
        let draw = { (count: Int) in (0 ..< count).map { _ in (2 * generator.nextUnitFloat() - 1) * bound } }
        self.weight = try Tensor(shape: [outputSize, inputSize], scalars: draw(outputSize * inputSize))
        self.bias = try Tensor(shape: [outputSize], scalars: draw(outputSize))
        self.activation = activation
        self.inputSize = inputSize
        self.outputSize = outputSize
    }

    /// A layer with the given weight (output, input) and bias (output).
    public init(weight: Tensor, bias: Tensor, activation: Activation = .linear) throws {
        guard weight.shape.rank == 2 else {
            throw RecurrentError.invalidArgument(name: "Dense weight", expected: "(output, input)", actual: "shape \(weight.dimensions)")
        }
        try RecurrentError.requireShape(bias, [weight.dimensions[0]], "Dense bias")
        self.weight = weight
        self.bias = bias
        self.activation = activation
        self.outputSize = weight.dimensions[0]
        self.inputSize = weight.dimensions[1]
    }

    /// Throws `shapeMismatch` naming the first parameter that is no longer
    /// (output, input) or (output): the kernels read `outputSize * inputSize`
    /// weights and `outputSize` biases.
    func validateParameters() throws {
        try RecurrentError.requireShape(weight, [outputSize, inputSize], "Dense weight (output, input)")
        try RecurrentError.requireShape(bias, [outputSize], "Dense bias")
    }

    /// Cached input and output of a training forward pass (saved for backward).
    public struct Cache: Sendable {
        let input: Tensor
        let output: Tensor
    }

    /// Gradients of `weight` and `bias`, accumulated by backward.
    public struct Gradients: Sendable, Equatable {
        public var weight: Tensor
        public var bias: Tensor
        public mutating func zero() {
            weight.fill(with: 0)
            bias.fill(with: 0)
        }
    }

    /// Zero gradients of this layer's shapes.
    public func zeroGradients() -> Gradients {
        Gradients(weight: try! Tensor(shape: [outputSize, inputSize]), bias: try! Tensor(shape: [outputSize]))
    }

    /// `activation(x W^T + b)` for `input` (..., input) giving (..., output).
    /// An input of no rows ((0, input), (B, 0, input)) gives an empty output of
    /// its shape, as PyTorch's `nn.Linear`, without a kernel call.
    ///
    /// - Throws: `shapeMismatch` for an input whose last axis is not `inputSize`,
    ///   or a `weight` or `bias` replaced with a tensor of another shape.
    public func forward(_ input: Tensor) throws -> Tensor {
        try validateParameters()
        guard let last = input.dimensions.last, input.shape.rank >= 1, last == inputSize else {
            throw RecurrentError.shapeMismatch(name: "Dense input", expected: [.any("batch..."), .size(inputSize)], actual: input.dimensions)
        }
        if input.count == 0 { return try Tensor(shape: Shape(input.dimensions.dropLast() + [outputSize])) }
        return try denseForwardKernel(input)
    }

    /// ``forward(_:)`` keeping what backward needs.
    public func trainingForward(_ input: Tensor) throws -> (output: Tensor, cache: Cache) {
        let output = try forward(input)
        return (output, Cache(input: input, output: output))
    }

    /// Backward of `L = sum(output * outputGradient)`: accumulates dL/dW and dL/db
    /// into `gradients` and returns dL/dinput.
    ///
    /// - Throws: `shapeMismatch` for an output gradient, a parameter or a
    ///   gradient of another shape (nothing is written then); `cacheMismatch`
    ///   for a cache made by a Dense of other sizes.
    public func backward(outputGradient: Tensor, cache: Cache, into gradients: inout Gradients) throws -> Tensor {
        try validateParameters()
        guard cache.input.dimensions.last == inputSize,
              cache.output.dimensions == Array(cache.input.dimensions.dropLast()) + [outputSize] else {
            throw RecurrentError.cacheMismatch(
                reason: "it maps \(cache.input.dimensions) to \(cache.output.dimensions), this Dense \(inputSize) to \(outputSize) features")
        }
        try RecurrentError.requireShape(outputGradient, cache.output.dimensions, "Dense output gradient")
        try RecurrentError.requireShape(gradients.weight, [outputSize, inputSize], "Dense weight gradient")
        try RecurrentError.requireShape(gradients.bias, [outputSize], "Dense bias gradient")
        // No rows: nothing flows and no parameter gradient changes (PyTorch's empty batch).
        if cache.input.count == 0 { return try Tensor(shape: cache.input.shape) }
        return try denseBackwardKernel(outputGradient: outputGradient, cache: cache, into: &gradients)
    }
}

import FrameSequencing

/// Keras's `Concatenate`: two or more tensors of one rank, equal on every axis
/// but `axis`, side by side along `axis`. A U-Net's skip connection joins a
/// (B, H, W, C1) encoder feature map and a (B, H, W, C2) upsampled one into
/// (B, H, W, C1 + C2) along the channels (the default, the last axis); the same
/// holds for (B, T, H, W, C) sequences.
///
/// ```swift
/// let merge = Concatenate()                                    // axis -1: the channels
/// let joined = try merge.forward([skip, upsampled])           // (2, 4, 5, 3) and (2, 4, 5, 7): (2, 4, 5, 10)
/// let pieces = try merge.backward(outputGradient: dJoined,    // (2, 4, 5, 10)
///                                 inputDimensions: [skip.dimensions, upsampled.dimensions])
/// // pieces[0] (2, 4, 5, 3) and pieces[1] (2, 4, 5, 7): dJoined cut back along the channels
/// ```
///
/// It takes several inputs, so it does not adopt ``Layer`` (one input to one
/// output) and a ``Sequential`` cannot hold it: a model calls it between its
/// layers. It has no parameters, and its backward needs only the inputs'
/// dimensions.
///
/// Where it differs from Keras 3 (`keras.layers.Concatenate`), it refuses what
/// Keras lets through: a single input (Keras 3 returns it unchanged; here it is
/// taken for a wiring mistake) and axis 0 (Keras joins batches; here axis 0 is
/// the batch, which every layer of the package keeps as it is).
public struct Concatenate: Sendable {
    /// The axis the inputs are joined along; negative counts from the end as in
    /// Keras (-1 is the last axis). Never 0, the batch.
    public var axis: Int

    /// The layer; `axis` is checked against the inputs' rank when it is used.
    public init(axis: Int = -1) { self.axis = axis }

    /// The output's dimensions for inputs of `dimensions`: those of the first
    /// with the inputs' sizes on `axis` summed, or the error ``forward(_:)``
    /// would throw for such inputs.
    ///
    /// - Throws: `invalidArgument` for fewer than 2 inputs, an `axis` that is 0
    ///   (or counts back to 0) or outside the rank, a negative size, or sizes on
    ///   `axis` whose sum does not fit in `Int`; `shapeMismatch` for a first input
    ///   of rank below 2, or an input whose rank, or size on an axis other than
    ///   `axis`, is not the first input's.
    public func outputDimensions(forInputs dimensions: [[Int]]) throws -> [Int] {
        try validated(dimensions).output
    }

    /// The inputs side by side along `axis`: (..., sum of the inputs' sizes on
    /// `axis`, ...), a new tensor.
    ///
    /// - Throws: what ``outputDimensions(forInputs:)`` throws for the inputs'
    ///   dimensions.
    /// - Complexity: O(n) for n output elements, one contiguous copy per input
    ///   and index of the axes before `axis` (per pixel along the channels).
    public func forward(_ inputs: [Tensor]) throws -> Tensor {
        let (axis, _) = try validated(inputs.map(\.dimensions))
        return try concatenated(inputs, along: axis)
    }

    /// Backward of `L = sum(output * outputGradient)`: `outputGradient` cut
    /// along `axis` into one gradient per input, each of that input's
    /// dimensions (the concatenation's gradient is the split; there are no
    /// parameters).
    ///
    /// - Parameters:
    ///   - outputGradient: dL/doutput, of ``outputDimensions(forInputs:)`` for
    ///     `inputDimensions`.
    ///   - inputDimensions: the dimensions of the inputs of the forward pass, in
    ///     their order.
    /// - Throws: what ``outputDimensions(forInputs:)`` throws for
    ///   `inputDimensions`; `shapeMismatch` when `outputGradient` does not have
    ///   the output's dimensions.
    /// - Complexity: O(n) for n output elements.
    public func backward(outputGradient: Tensor, inputDimensions: [[Int]]) throws -> [Tensor] {
        let (axis, output) = try validated(inputDimensions)
        try RecurrentError.requireShape(outputGradient, output, "Concatenate output gradient")
        return try split(outputGradient, along: axis, sizes: inputDimensions.map { $0[axis] })
    }

    /// The axis counted from 0 and the output's dimensions, or the error for
    /// inputs of `dimensions`: every check the kernels rely on.
    func validated(_ dimensions: [[Int]]) throws -> (axis: Int, output: [Int]) {
        guard dimensions.count >= 2, let first = dimensions.first else {
            throw RecurrentError.invalidArgument(
                name: "Concatenate inputs", expected: "at least 2 tensors to join (one tensor needs no Concatenate)",
                actual: "\(dimensions.count) tensor\(dimensions.count == 1 ? "" : "s")")
        }
        guard first.count >= 2 else {
            throw RecurrentError.shapeMismatch(name: "Concatenate input 0 (a batch axis and at least one more)",
                                               expected: [.any("batch"), .any("...")], actual: first)
        }
        let axis = try resolvedAxis(rank: first.count)
        // Any size on `axis`, the first input's on the others.
        var required = ShapeRequirement(exactly: first)
        required.axes[axis] = .any("any")
        for (index, input) in dimensions.enumerated() {
            if let negative = input.first(where: { $0 < 0 }) {
                throw RecurrentError.invalidArgument(name: "Concatenate input \(index) dimensions", expected: "sizes of at least 0",
                                                     actual: "\(negative) in \(input)")
            }
            guard required.isSatisfied(by: input) else {
                throw RecurrentError.shapeMismatch(name: "Concatenate input \(index) (input 0's shape but for axis \(axis))",
                                                   expected: required, actual: input)
            }
        }
        var output = first
        output[axis] = 0
        for input in dimensions {
            let (sum, overflow) = output[axis].addingReportingOverflow(input[axis])
            guard !overflow else {
                throw RecurrentError.invalidArgument(name: "Concatenate output size on axis \(axis)", expected: "a sum that fits in Int",
                                                     actual: "the sizes \(dimensions.map { $0[axis] })")
            }
            output[axis] = sum
        }
        return (axis, output)
    }

    /// `axis` counted from 0 for inputs of `rank` (at least 2), or
    /// `invalidArgument` when it is the batch or outside the rank.
    func resolvedAxis(rank: Int) throws -> Int {
        let resolved = axis < 0 ? axis + rank : axis
        guard resolved >= 1, resolved < rank else {
            throw RecurrentError.invalidArgument(
                name: "Concatenate axis",
                expected: "an axis of the rank-\(rank) inputs other than the batch: 1 to \(rank - 1), or -\(rank - 1) to -1 from the end",
                actual: resolved == 0 ? "\(axis), the batch axis" : "\(axis)")
        }
        return resolved
    }
}

import FrameSequencing

/// A layer or model whose every parameter an optimizer can reach, in one fixed
/// order shared with its gradients.
///
/// ```swift
/// var model = try CNNLSTM(frameHeight: 64, frameWidth: 64, channels: 1, filters: [32, 64],
///                         hiddenSize: 64, outputs: 1, seed: 2)
/// model.namedParameters.map(\.name)     // ["features.0.kernel", "features.0.bias", ..., "head.bias"]
/// var gradients = model.zeroGradients()
/// // ... backward(..., into: &gradients), then for each parameter i:
/// try model.updateParameters { i, weight in /* weight -= lr * gradients.tensors[i] */ }
/// ```
public protocol Trainable: Sendable {
    /// The gradient accumulator backward fills, in ``namedParameters`` order.
    associatedtype Gradients: GradientSet

    /// Every parameter with a stable, unique name (PyTorch's `state_dict` style:
    /// `lstm.weight_ih_l0`, `features.0.kernel`), in a fixed order.
    var namedParameters: [(name: String, tensor: Tensor)] { get }

    /// Calls `body` with every parameter in ``namedParameters`` order, in place
    /// (no copy of the weights is made). The primitive under
    /// ``updateParameters(_:)`` and ``withParameters(_:)``: it does not check
    /// shapes (layers check theirs at the next forward pass); prefer those two.
    mutating func visitParameters(_ body: (_ index: Int, _ parameter: inout Tensor) throws -> Void) rethrows

    /// Zero gradients of every parameter's shape (the shapes the parameters
    /// have now: a parameter replaced with a wrong shape is refused by the next
    /// pass, which checks parameters and gradients).
    func zeroGradients() -> Gradients
}

/// Gradients of a ``Trainable``, in the order of its parameters.
public protocol GradientSet: Sendable {
    /// Every gradient, in the owner's ``Trainable/namedParameters`` order.
    var tensors: [Tensor] { get }
    /// Sets every gradient to zero.
    mutating func zero()
}

extension Trainable {
    /// Calls `body` with every parameter in ``namedParameters`` order, in place
    /// (no copy of the weights is made).
    ///
    /// - Throws: what `body` throws; `shapeMismatch` naming the parameter when
    ///   `body` leaves it with another shape.
    public mutating func updateParameters(_ body: (_ index: Int, _ parameter: inout Tensor) throws -> Void) throws {
        let names = namedParameters.map(\.name)
        try visitParameters { index, parameter in
            let dimensions = parameter.dimensions
            try body(index, &parameter)
            try RecurrentError.requireShape(parameter, dimensions, "Parameter '\(names[index])'")
        }
    }

    /// Calls `body` with every parameter as one array in ``namedParameters``
    /// order, moved out of the model so that `body` updates them without copies
    /// (an optimizer's `step(parameters:gradients:)`), then moves them back.
    ///
    /// - Throws: what `body` throws (the parameters as `body` left them are put
    ///   back); `shapeMismatch` when `body` changed a shape or the count (what
    ///   it left is put back, and the model's next forward pass refuses it).
    public mutating func withParameters<R>(_ body: (inout [Tensor]) throws -> R) throws -> R {
        var parameters: [Tensor] = []
        visitParameters { _, parameter in
            parameters.append(parameter)
            parameter = Tensor.movedOut
        }
        let original = parameters.map(\.dimensions)
        var result: Result<R, any Error>
        do { result = .success(try body(&parameters)) } catch { result = .failure(error) }
        var index = 0
        visitParameters { _, parameter in                             // back in, as `body` left them
            if index < parameters.count { parameter = parameters[index] }
            index += 1
        }
        guard parameters.map(\.dimensions) == original else {
            throw RecurrentError.shapeMismatch(
                name: "Parameters after an update (\(parameters.count) of \(original.count) tensors put back; the next forward pass will refuse them)",
                expected: ShapeRequirement(exactly: original.first ?? []), actual: parameters.first?.dimensions ?? [])
        }
        return try result.get()
    }

    /// The number of parameter tensors.
    public var parameterCount: Int { namedParameters.count }

    /// The number of scalar parameters.
    public var scalarCount: Int { namedParameters.reduce(0) { $0 + $1.tensor.count } }

    /// Replaces every parameter with the tensor of the same name in `tensors`.
    ///
    /// - Throws: `missingParameter` for a name `tensors` lacks; `shapeMismatch`
    ///   naming the first tensor of another shape. Parameters before the
    ///   failing one are already replaced.
    public mutating func loadParameters(_ tensors: [String: Tensor]) throws {
        let names = namedParameters.map(\.name)
        try updateParameters { index, parameter in
            guard let replacement = tensors[names[index]] else {
                throw RecurrentError.missingParameter(name: names[index], available: Array(tensors.keys))
            }
            try RecurrentError.requireShape(replacement, parameter.dimensions, "Parameter '\(names[index])'")
            parameter = replacement
        }
    }
}

extension Tensor {
    /// What stands in a model for a parameter moved out by ``Trainable/withParameters(_:)``.
    static let movedOut = try! Tensor(shape: [0])
}

/// `parts` prefixed: `prefix.name` (unchanged for an empty prefix: a composite's part that names its own).
func prefixed(_ prefix: String, _ parts: [(name: String, tensor: Tensor)]) -> [(name: String, tensor: Tensor)] {
    prefix.isEmpty ? parts : parts.map { (prefix + "." + $0.name, $0.tensor) }
}

import FrameSequencing

/// A gradient-descent optimizer that updates a list of parameter tensors in place
/// from their gradients, with PyTorch's update rules (``SGD``, ``Adam``, ``AdamW``).
///
/// Parameters and gradients are passed as arrays of tensors in a stable order
/// (the same tensor at the same index every step; any shapes): the optimizer keeps
/// per-parameter state (momentum, moments) by index, created on the first step as
/// PyTorch creates it lazily. Gradients are used as given: clip them first
/// (``GradientClipping``) and check them for NaN where that matters; an optimizer
/// never inspects their values.
///
/// ```swift
/// var optimizer = try Adam(learningRate: 1e-3)
/// for step in 0 ..< steps {
///     optimizer.learningRate = schedule.learningRate(initial: 1e-3, at: SchedulePosition(epoch: epoch, step: step))
///     try optimizer.step(parameters: &parameters, gradients: gradients)   // [Tensor], [Tensor]
/// }
/// let saved = optimizer.exportState()             // for a checkpoint
/// var resumed = try Adam(learningRate: 1e-3)
/// try resumed.importState(saved)                   // continues bit for bit
/// ```
public protocol Optimizer: Sendable {
    /// The learning rate the next step uses (PyTorch's `lr`); a schedule sets it
    /// before each step. Must be finite and >= 0 when ``step(parameters:gradients:)`` runs.
    var learningRate: Double { get set }

    /// The number of steps taken (PyTorch's `state['step']`); the first step is step 1.
    var stepCount: Int { get }

    /// Updates every `parameters[i]` in place from `gradients[i]` (the same shape).
    ///
    /// - Throws: `invalidArgument` for a negative or non-finite learning rate or a
    ///   parameter count other than the one the state was built for;
    ///   `shapeMismatch` for a gradient or state of another shape than its parameter.
    ///   Nothing is modified when it throws.
    mutating func step(parameters: inout [Tensor], gradients: [Tensor]) throws

    /// The complete state, hyperparameters and learning rate included, as named
    /// tensors and scalars under the optimizer's prefix (`"adam.exp_avg.3"`,
    /// `"adam.step"`), so a checkpoint can hold it. Tensor names end with the
    /// parameter's index and use PyTorch's state names.
    func exportState() -> OptimizerState

    /// Replaces the state, hyperparameters and learning rate with `state`'s, as
    /// PyTorch's `load_state_dict` does; steps after it equal the steps the
    /// exporting optimizer would have taken, bit for bit. Entries under other
    /// prefixes are ignored, so a whole checkpoint's dictionaries may be passed.
    ///
    /// - Throws: `invalidArgument` naming a missing, unknown or invalid entry,
    ///   `shapeMismatch` for state tensors whose shapes disagree.
    mutating func importState(_ state: OptimizerState) throws

    /// Floats of state per parameter once steps have run (Adam's two moments:
    /// 2; SGD with momentum: 1), for memory planning.
    var stateFloatsPerParameter: Int { get }
}

extension Optimizer {
    /// Two floats per parameter (Adam's), unless the optimizer says otherwise.
    public var stateFloatsPerParameter: Int { 2 }
}

/// An optimizer's state as named tensors and scalars (see ``Optimizer/exportState()``).
///
/// Scalars are Float64 so that step counts (exact up to 2^53) and
/// hyperparameters round-trip exactly; a flag is 0 or 1.
public struct OptimizerState: Sendable, Equatable {
    /// Per-parameter state tensors, such as `"adam.exp_avg.0"`, each the shape of
    /// its parameter.
    public var tensors: [String: Tensor]
    /// Step count, learning rate and hyperparameters, such as `"adam.step"`, `"adam.lr"`.
    public var scalars: [String: Double]

    /// A state holding `tensors` and `scalars`.
    public init(tensors: [String: Tensor] = [:], scalars: [String: Double] = [:]) {
        self.tensors = tensors
        self.scalars = scalars
    }
}

// Shared validation of the optimizers.
extension OptimizerState {
    /// The scalar `key`, or an error naming it.
    func scalar(_ key: String) throws -> Double {
        guard let value = scalars[key] else {
            throw RecurrentError.invalidArgument(
                name: "optimizer state", expected: "a scalar '\(key)'",
                actual: "only the scalars \(scalars.keys.sorted()), as if exported by another kind of optimizer")
        }
        return value
    }

    /// A whole-number scalar `key` that is at least 0.
    func count(_ key: String) throws -> Int {
        let value = try scalar(key)
        guard value >= 0, value == value.rounded(), value < 0x1p53 else {
            throw RecurrentError.invalidArgument(name: "optimizer state '\(key)'", expected: "a whole number >= 0", actual: "\(value)")
        }
        return Int(value)
    }

    /// A 0/1 scalar `key`.
    func flag(_ key: String) throws -> Bool {
        let value = try scalar(key)
        guard value == 0 || value == 1 else {
            throw RecurrentError.invalidArgument(name: "optimizer state '\(key)'", expected: "0 or 1", actual: "\(value)")
        }
        return value == 1
    }

    /// The tensors `"<name>.0"`, `"<name>.1"`, ... in index order (none when absent).
    func indexed(_ name: String) -> [Tensor] {
        var result: [Tensor] = []
        while let tensor = tensors["\(name).\(result.count)"] { result.append(tensor) }
        return result
    }

    /// Throws for an entry under `prefix` that is not in `known` (scalars) or not
    /// `<name>.<i>` for one of `lists` with its index below that list's count.
    func requireOnly(prefix: String, scalars known: Set<String>, lists: [String: Int]) throws {
        for key in scalars.keys where key.hasPrefix(prefix + ".") && !known.contains(key) {
            throw RecurrentError.invalidArgument(name: "optimizer state", expected: "scalars \(known.sorted())", actual: "an unknown scalar '\(key)'")
        }
        for key in tensors.keys where key.hasPrefix(prefix + ".") {
            let parts = key.split(separator: ".")
            let name = parts.dropLast().joined(separator: ".")
            guard let index = parts.last.flatMap({ Int($0) }), let count = lists[name], index >= 0, index < count else {
                throw RecurrentError.invalidArgument(
                    name: "optimizer state", expected: "tensors \(lists.keys.sorted().map { "\($0).<i>" }) with consecutive i from 0",
                    actual: "'\(key)'")
            }
        }
    }
}

/// Checks one step's inputs before anything is modified: learning rate, counts,
/// and that every gradient and state tensor has its parameter's shape.
func validateStep(
    _ optimizer: String, learningRate: Double, parameters: [Tensor], gradients: [Tensor], state: [[Tensor]]
) throws {
    guard learningRate >= 0, learningRate.isFinite else {
        throw RecurrentError.invalidArgument(name: "\(optimizer) learning rate", expected: "a finite number >= 0", actual: "\(learningRate)")
    }
    guard gradients.count == parameters.count else {
        throw RecurrentError.invalidArgument(
            name: "\(optimizer) gradients", expected: "one per parameter (\(parameters.count))", actual: "\(gradients.count)")
    }
    for (i, (parameter, gradient)) in zip(parameters, gradients).enumerated() where gradient.dimensions != parameter.dimensions {
        throw RecurrentError.shapeMismatch(name: "\(optimizer) gradient \(i)", expected: ShapeRequirement(exactly: parameter.dimensions),
                                           actual: gradient.dimensions)
    }
    for list in state where !list.isEmpty {
        guard list.count == parameters.count else {
            throw RecurrentError.invalidArgument(
                name: "\(optimizer) parameters", expected: "the \(list.count) tensors the optimizer state was built for",
                actual: "\(parameters.count)")
        }
        for (i, (parameter, tensor)) in zip(parameters, list).enumerated() where tensor.dimensions != parameter.dimensions {
            throw RecurrentError.shapeMismatch(
                name: "\(optimizer) parameter \(i) (against the shape its optimizer state was built for)",
                expected: ShapeRequirement(exactly: tensor.dimensions), actual: parameter.dimensions)
        }
    }
}

/// Throws `invalidArgument` unless `value` is finite and in `range`.
func requireHyperparameter(_ value: Double, in range: ClosedRange<Double>, openAbove: Bool = false, _ name: String) throws {
    guard value.isFinite, range.contains(value), !(openAbove && value == range.upperBound) else {
        let bound = openAbove ? "[\(range.lowerBound), \(range.upperBound))" : "[\(range.lowerBound), \(range.upperBound)]"
        throw RecurrentError.invalidArgument(name: name, expected: "a finite number in \(bound)", actual: "\(value)")
    }
}

internal import CFrameKernels
import FrameSequencing
internal import FrameSequencingRuntime

/// Stochastic gradient descent with PyTorch's `torch.optim.SGD` rule, per
/// parameter `p` with gradient `g` (`mu` momentum, `tau` dampening, `lambda`
/// weight decay):
///
///     g = g + lambda p                                   (when lambda != 0)
///     b = g on the first step, else b = mu b + (1 - tau) g   (when mu != 0)
///     g = g + mu b with Nesterov, else g = b             (when mu != 0)
///     p = p - lr g
///
/// The arithmetic is PyTorch's in Float32, operation for operation: the
/// hyperparameters are rounded to Float32 where PyTorch passes them to a tensor
/// operation, and no product is fused.
///
/// State (``exportState()``): `sgd.momentum_buffer.<i>` (once momentum is used),
/// scalars `sgd.step`, `sgd.lr`, `sgd.momentum`, `sgd.dampening`,
/// `sgd.weight_decay`, `sgd.nesterov`.
///
/// ```swift
/// var sgd = try SGD(learningRate: 0.1, momentum: 0.9, nesterov: true, weightDecay: 1e-4)
/// try sgd.step(parameters: &parameters, gradients: gradients)
/// ```
public struct SGD: Optimizer {
    /// The learning rate of the next step (PyTorch's `lr`); schedules set it.
    public var learningRate: Double
    /// Momentum factor `mu`, >= 0 (0: plain gradient descent, no buffers).
    public private(set) var momentum: Double
    /// Dampening `tau` of the gradient added to the momentum buffer, in [0, 1].
    public private(set) var dampening: Double
    /// Whether the step uses Nesterov momentum `g + mu b` instead of `b`.
    public private(set) var nesterov: Bool
    /// L2 penalty `lambda` added to the gradient, >= 0.
    public private(set) var weightDecay: Double
    /// Steps taken so far (PyTorch's SGD keeps no count; checkpoints want one).
    public private(set) var stepCount: Int = 0
    /// One momentum buffer per parameter when momentum is used, else none.
    public var stateFloatsPerParameter: Int { momentum > 0 ? 1 : 0 }

    /// One buffer per parameter, empty until the first step with momentum.
    var momentumBuffers: [Tensor] = []

    /// An SGD optimizer; the defaults are PyTorch's (`lr` has none there).
    ///
    /// - Throws: `invalidArgument` for a negative or non-finite value, a dampening
    ///   outside [0, 1], or Nesterov without momentum or with dampening (as PyTorch).
    public init(learningRate: Double, momentum: Double = 0, dampening: Double = 0, nesterov: Bool = false,
                weightDecay: Double = 0) throws {
        try requireHyperparameter(learningRate, in: 0 ... .greatestFiniteMagnitude, "SGD learning rate")
        try requireHyperparameter(momentum, in: 0 ... .greatestFiniteMagnitude, "SGD momentum")
        try requireHyperparameter(dampening, in: 0 ... 1, "SGD dampening")
        try requireHyperparameter(weightDecay, in: 0 ... .greatestFiniteMagnitude, "SGD weight decay")
        if nesterov && (momentum <= 0 || dampening != 0) {
            throw RecurrentError.invalidArgument(
                name: "SGD Nesterov momentum", expected: "momentum > 0 and dampening 0",
                actual: "momentum \(momentum), dampening \(dampening)")
        }
        self.learningRate = learningRate
        self.momentum = momentum
        self.dampening = dampening
        self.nesterov = nesterov
        self.weightDecay = weightDecay
    }

    /// One update of every `parameters[i]` (any shape) from `gradients[i]` (the
    /// same shape); see ``Optimizer/step(parameters:gradients:)`` for the errors.
    public mutating func step(parameters: inout [Tensor], gradients: [Tensor]) throws {
        try validateStep("SGD", learningRate: learningRate, parameters: parameters, gradients: gradients,
                         state: [momentumBuffers])
        let firstBuffers = momentum != 0 && momentumBuffers.isEmpty
        if firstBuffers { momentumBuffers = gradients }   // overwritten below with the decayed gradient
        stepCount += 1
        let k = constants(firstBuffers: firstBuffers)
        Self.applyKernels(parameters: &parameters, gradients: gradients, momentumBuffers: &momentumBuffers, k)
    }

    /// The momentum buffers (each its parameter's shape), step count, learning rate and hyperparameters.
    public func exportState() -> OptimizerState {
        var state = OptimizerState(scalars: [
            "sgd.step": Double(stepCount), "sgd.lr": learningRate, "sgd.momentum": momentum,
            "sgd.dampening": dampening, "sgd.weight_decay": weightDecay, "sgd.nesterov": nesterov ? 1 : 0,
        ])
        for (i, buffer) in momentumBuffers.enumerated() { state.tensors["sgd.momentum_buffer.\(i)"] = buffer }
        return state
    }

    /// Restores a state exported by an SGD optimizer; see ``Optimizer/importState(_:)``.
    public mutating func importState(_ state: OptimizerState) throws {
        let buffers = state.indexed("sgd.momentum_buffer")
        try state.requireOnly(
            prefix: "sgd", scalars: ["sgd.step", "sgd.lr", "sgd.momentum", "sgd.dampening", "sgd.weight_decay", "sgd.nesterov"],
            lists: ["sgd.momentum_buffer": buffers.count])
        var restored = try SGD(
            learningRate: state.scalar("sgd.lr"), momentum: state.scalar("sgd.momentum"), dampening: state.scalar("sgd.dampening"),
            nesterov: state.flag("sgd.nesterov"), weightDecay: state.scalar("sgd.weight_decay"))
        restored.stepCount = try state.count("sgd.step")
        if restored.momentum == 0 && !buffers.isEmpty {
            throw RecurrentError.invalidArgument(name: "optimizer state", expected: "no momentum buffers with momentum 0",
                                                 actual: "\(buffers.count) buffers")
        }
        restored.momentumBuffers = buffers
        self = restored
    }
}

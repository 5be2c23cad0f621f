import FrameSequencing

/// Adam with PyTorch's `torch.optim.Adam` rule. Per parameter `p` with gradient
/// `g` at step `t` (1 on the first step), weight decay `lambda`:
///
///     g = g + lambda p                            (coupled L2, when lambda != 0)
///     m = m + (1 - beta1) (g - m)                 (first moment)
///     v = beta2 v + (1 - beta2) g g               (second moment)
///     v_max = max(v_max, v)                       (amsgrad: v_max replaces v below)
///     p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
///
/// in PyTorch's Float32 order, operation for operation; the bias corrections and
/// step size are Float64, as PyTorch computes them in Python floats.
///
/// State (``AdamOptimizer/exportState()``): `adam.exp_avg.<i>`, `adam.exp_avg_sq.<i>`,
/// `adam.max_exp_avg_sq.<i>` (amsgrad), scalars `adam.step`, `adam.lr`,
/// `adam.beta1`, `adam.beta2`, `adam.eps`, `adam.weight_decay`, `adam.amsgrad`.
///
/// ```swift
/// var adam = try Adam(learningRate: 1e-3)
/// try adam.step(parameters: &parameters, gradients: gradients)
/// ```
public typealias Adam = AdamOptimizer<CoupledWeightDecay>

/// AdamW with PyTorch's `torch.optim.AdamW` rule: ``Adam`` whose weight decay is
/// decoupled (Loshchilov and Hutter), `p = p (1 - lr lambda)` before the moments
/// are updated, instead of an L2 term added to the gradient. Everything else is
/// ``Adam``'s, in the same Float32 order.
///
/// State (``AdamOptimizer/exportState()``): as ``Adam``'s under the prefix `adamw.`.
///
/// ```swift
/// var adamw = try AdamW(learningRate: 1e-3, weightDecay: 0.01)
/// try adamw.step(parameters: &parameters, gradients: gradients)
/// ```
public typealias AdamW = AdamOptimizer<DecoupledWeightDecay>

/// How an Adam-family optimizer applies its weight decay: the one difference
/// between ``Adam`` and ``AdamW``.
public protocol AdamWeightDecay: Sendable {
    /// Whether the decay multiplies the parameters (AdamW) instead of adding an
    /// L2 term to the gradient (Adam).
    static var isDecoupled: Bool { get }
    /// The prefix of the exported state's names (`adam`, `adamw`).
    static var statePrefix: String { get }
}

/// ``Adam``'s weight decay: an L2 term added to the gradient.
public enum CoupledWeightDecay: AdamWeightDecay {
    public static var isDecoupled: Bool { false }
    public static var statePrefix: String { "adam" }
}

/// ``AdamW``'s weight decay: the parameters scaled by `1 - lr * weightDecay` first.
public enum DecoupledWeightDecay: AdamWeightDecay {
    public static var isDecoupled: Bool { true }
    public static var statePrefix: String { "adamw" }
}

/// ``Adam`` and ``AdamW``: PyTorch's Adam rule with the weight decay `Decay`.
public struct AdamOptimizer<Decay: AdamWeightDecay>: Optimizer {
    var algorithm: AdamAlgorithm

    init(rate learningRate: Double, betas: (Double, Double), epsilon: Double, weightDecay: Double, amsgrad: Bool) throws {
        algorithm = try AdamAlgorithm(prefix: Decay.statePrefix, decoupledWeightDecay: Decay.isDecoupled, learningRate: learningRate,
                                      betas: betas, epsilon: epsilon, weightDecay: weightDecay, amsgrad: amsgrad)
    }

    /// The learning rate of the next step (PyTorch's `lr`); schedules set it.
    public var learningRate: Double {
        get { algorithm.learningRate }
        set { algorithm.learningRate = newValue }
    }
    /// The decay rates (beta1, beta2) of the first and second moment averages, in [0, 1).
    public var betas: (Double, Double) { (algorithm.beta1, algorithm.beta2) }
    /// Added to the bias-corrected root second moment, >= 0.
    public var epsilon: Double { algorithm.epsilon }
    /// The weight decay, >= 0: an L2 penalty added to the gradient (``Adam``), or
    /// decoupled, each step multiplying the parameters by `1 - lr * weightDecay` (``AdamW``).
    public var weightDecay: Double { algorithm.weightDecay }
    /// Whether the running maximum of the second moment normalizes the step.
    public var amsgrad: Bool { algorithm.amsgrad }
    /// Steps taken so far (PyTorch's `state['step']`).
    public var stepCount: Int { algorithm.stepCount }

    /// One update of every `parameters[i]` (any shape) from `gradients[i]` (the
    /// same shape); see ``Optimizer/step(parameters:gradients:)`` for the errors.
    public mutating func step(parameters: inout [Tensor], gradients: [Tensor]) throws {
        try algorithm.step(parameters: &parameters, gradients: gradients)
    }

    /// The moments (each its parameter's shape), step count, learning rate and hyperparameters.
    public func exportState() -> OptimizerState { algorithm.exportState() }

    /// Restores a state exported by this kind of optimizer; see ``Optimizer/importState(_:)``.
    public mutating func importState(_ state: OptimizerState) throws { try algorithm.importState(state) }
}

extension AdamOptimizer where Decay == CoupledWeightDecay {
    /// An Adam optimizer; the defaults are PyTorch's.
    ///
    /// - Throws: `invalidArgument` for a negative or non-finite value or a beta
    ///   outside [0, 1).
    public init(learningRate: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999), epsilon: Double = 1e-8,
                weightDecay: Double = 0, amsgrad: Bool = false) throws {
        try self.init(rate: learningRate, betas: betas, epsilon: epsilon, weightDecay: weightDecay, amsgrad: amsgrad)
    }
}

extension AdamOptimizer where Decay == DecoupledWeightDecay {
    /// An AdamW optimizer; the defaults are PyTorch's (weight decay 0.01).
    ///
    /// - Throws: `invalidArgument` for a negative or non-finite value or a beta
    ///   outside [0, 1).
    public init(learningRate: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999), epsilon: Double = 1e-8,
                weightDecay: Double = 1e-2, amsgrad: Bool = false) throws {
        try self.init(rate: learningRate, betas: betas, epsilon: epsilon, weightDecay: weightDecay, amsgrad: amsgrad)
    }
}

extension AdamOptimizer: PrecheckedOptimizer {
    func firstNonFiniteUpdate(parameters: [Tensor], gradients: [Tensor]) throws -> NonFiniteUpdate? {
        try algorithm.firstNonFiniteUpdate(parameters: parameters, gradients: gradients)
    }
}

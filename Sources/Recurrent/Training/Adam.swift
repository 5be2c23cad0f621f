import FrameSequencing

/// Adam with PyTorch's `torch.optim.Adam` rule: weight decay is an L2 term added
/// to the gradient before the moments (coupled), and `amsgrad` keeps the running
/// maximum of the second moment. The update, in PyTorch's Float32 order, is
/// spelled out on the shared algorithm: per parameter, `m` and `v` are the
/// exponential averages of the gradient and its square, and
/// `p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)`.
///
/// State (``exportState()``): `adam.exp_avg.<i>`, `adam.exp_avg_sq.<i>`,
/// `adam.max_exp_avg_sq.<i>` (amsgrad), scalars `adam.step`, `adam.lr`,
/// `adam.beta1`, `adam.beta2`, `adam.eps`, `adam.weight_decay`, `adam.amsgrad`.
///
/// ```swift
/// var adam = try Adam(learningRate: 1e-3)
/// try adam.step(parameters: &parameters, gradients: gradients)
/// ```
public struct Adam: Optimizer {
    var algorithm: AdamAlgorithm

    /// An Adam optimizer; the defaults are PyTorch's.
    ///
    /// - Throws: `invalidArgument` for a negative or non-finite value or a beta
    ///   outside [0, 1).
    public init(learningRate: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999), epsilon: Double = 1e-8,
                weightDecay: Double = 0, amsgrad: Bool = false) throws {
        algorithm = try AdamAlgorithm(prefix: "adam", decoupledWeightDecay: false, learningRate: learningRate,
                                      betas: betas, epsilon: epsilon, weightDecay: weightDecay, amsgrad: amsgrad)
    }

    public var learningRate: Double {
        get { algorithm.learningRate }
        set { algorithm.learningRate = newValue }
    }
    /// The decay rates (beta1, beta2) of the first and second moment averages, in [0, 1).
    public var betas: (Double, Double) { (algorithm.beta1, algorithm.beta2) }
    /// Added to the bias-corrected root second moment, >= 0.
    public var epsilon: Double { algorithm.epsilon }
    /// L2 penalty added to the gradient (coupled), >= 0.
    public var weightDecay: Double { algorithm.weightDecay }
    /// Whether the running maximum of the second moment normalizes the step.
    public var amsgrad: Bool { algorithm.amsgrad }
    public var stepCount: Int { algorithm.stepCount }

    public mutating func step(parameters: inout [Tensor], gradients: [Tensor]) throws {
        try algorithm.step(parameters: &parameters, gradients: gradients)
    }

    public func exportState() -> OptimizerState { algorithm.exportState() }

    public mutating func importState(_ state: OptimizerState) throws { try algorithm.importState(state) }
}

/// AdamW with PyTorch's `torch.optim.AdamW` rule: Adam whose weight decay is
/// decoupled, `p = p (1 - lr lambda)` before the moments are updated, instead of
/// an L2 term in the gradient (Loshchilov and Hutter). Everything else is
/// ``Adam``'s, in the same Float32 order.
///
/// State (``exportState()``): as ``Adam``'s under the prefix `adamw.`.
///
/// ```swift
/// var adamw = try AdamW(learningRate: 1e-3, weightDecay: 0.01)
/// try adamw.step(parameters: &parameters, gradients: gradients)
/// ```
public struct AdamW: Optimizer {
    var algorithm: AdamAlgorithm

    /// An AdamW optimizer; the defaults are PyTorch's (weight decay 0.01).
    ///
    /// - Throws: `invalidArgument` for a negative or non-finite value or a beta
    ///   outside [0, 1).
    public init(learningRate: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999), epsilon: Double = 1e-8,
                weightDecay: Double = 1e-2, amsgrad: Bool = false) throws {
        algorithm = try AdamAlgorithm(prefix: "adamw", decoupledWeightDecay: true, learningRate: learningRate,
                                      betas: betas, epsilon: epsilon, weightDecay: weightDecay, amsgrad: amsgrad)
    }

    public var learningRate: Double {
        get { algorithm.learningRate }
        set { algorithm.learningRate = newValue }
    }
    /// The decay rates (beta1, beta2) of the first and second moment averages, in [0, 1).
    public var betas: (Double, Double) { (algorithm.beta1, algorithm.beta2) }
    /// Added to the bias-corrected root second moment, >= 0.
    public var epsilon: Double { algorithm.epsilon }
    /// Decoupled decay: each step multiplies the parameters by `1 - lr * weightDecay`, >= 0.
    public var weightDecay: Double { algorithm.weightDecay }
    /// Whether the running maximum of the second moment normalizes the step.
    public var amsgrad: Bool { algorithm.amsgrad }
    public var stepCount: Int { algorithm.stepCount }

    public mutating func step(parameters: inout [Tensor], gradients: [Tensor]) throws {
        try algorithm.step(parameters: &parameters, gradients: gradients)
    }

    public func exportState() -> OptimizerState { algorithm.exportState() }

    public mutating func importState(_ state: OptimizerState) throws { try algorithm.importState(state) }
}

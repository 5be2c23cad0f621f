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
        for i in parameters.indices {
            gradients[i].withUnsafeBufferPointer { g in
                parameters[i].withUnsafeMutableBufferPointer { p in
                    if !k.usesMomentum { return Self.apply(p, g, nil, k) }
                    momentumBuffers[i].withUnsafeMutableBufferPointer { b in Self.apply(p, g, b, k) }
                }
            }
        }
    }

    /// The update of one parameter (and its momentum buffer `b`, nil without
    /// momentum) in one pass, split over the pool when large: on the C paths
    /// their vector kernels (CFrameKernelsOptim.h, bit for bit the same), on
    /// the Swift path `element` in a loop.
    static func apply(_ p: UnsafeMutableBufferPointer<Float>, _ g: UnsafeBufferPointer<Float>,
                      _ b: UnsafeMutableBufferPointer<Float>?, _ k: Constants, path: GEMMKernelPath = .active) {
        let count = p.count
        guard let p = p.baseAddress, let g = g.baseAddress else { return }   // an empty parameter
        let b = b?.baseAddress
        precondition(b != nil || !k.usesMomentum, "SGD.apply: momentum without a buffer")
        if path != .swift {
            return withUnsafePointer(to: k.kernelConstants) { c in
                forEachElementChunk(count) { _, range in
                    let (j, n) = (range.lowerBound, range.count)
                    if path == .avx512 {
                        fsk_sgd_avx512(c, p + j, g + j, b.map { $0 + j }, n)
                    } else {
                        fsk_sgd_avx2(c, p + j, g + j, b.map { $0 + j }, n)
                    }
                }
            }
        }
        guard let b else {
            return forEachElementChunk(count) { _, range in
                let k = opaqueCopy(k)   // see opaqueCopy
                for j in range { p[j] = Self.element(p[j], g[j], 0, k).p }
            }
        }
        forEachElementChunk(count) { _, range in
            let k = opaqueCopy(k)
            for j in range { (p[j], b[j]) = Self.element(p[j], g[j], b[j], k) }
        }
    }

    /// The values of one step: Float32 hyperparameters and which terms apply.
    struct Constants {
        let decay: Float, mu: Float, keep: Float, negativeRate: Float
        let decays: Bool, usesMomentum: Bool, usesNesterov: Bool, firstBuffers: Bool

        /// The same values for the C kernels.
        var kernelConstants: fsk_sgd_constants {
            fsk_sgd_constants(decay: decay, mu: mu, keep: keep, negative_rate: negativeRate, decays: decays ? 1 : 0,
                              uses_momentum: usesMomentum ? 1 : 0, uses_nesterov: usesNesterov ? 1 : 0,
                              first_buffers: firstBuffers ? 1 : 0)
        }
    }

    func constants(firstBuffers: Bool) -> Constants {
        Constants(decay: Float(weightDecay), mu: Float(momentum), keep: Float(1 - dampening), negativeRate: Float(-learningRate),
                  decays: weightDecay != 0, usesMomentum: momentum != 0, usesNesterov: nesterov, firstBuffers: firstBuffers)
    }

    /// One element's update, PyTorch's operations in order: the new parameter and
    /// momentum buffer (`b` is ignored without momentum and on the first step).
    /// The step and the Trainer's check before it both call this.
    @inline(__always)
    static func element(_ p: Float, _ g: Float, _ b: Float, _ k: Constants) -> (p: Float, b: Float) {
        let d = k.decays ? g + k.decay * p : g
        guard k.usesMomentum else { return (p + k.negativeRate * d, b) }
        // PyTorch: buf = grad.clone() on the first step, else buf.mul_(mu).add_(grad, alpha=1-tau)
        let b = k.firstBuffers ? d : b * k.mu + k.keep * d
        let direction = k.usesNesterov ? d + k.mu * b : b
        return (p + k.negativeRate * direction, b)
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

extension SGD: PrecheckedOptimizer {
    /// See ``PrecheckedOptimizer/firstNonFiniteUpdate(parameters:gradients:)``.
    func firstNonFiniteUpdate(parameters: [Tensor], gradients: [Tensor]) throws -> NonFiniteUpdate? {
        try validateStep("SGD", learningRate: learningRate, parameters: parameters, gradients: gradients,
                         state: [momentumBuffers])
        let k = constants(firstBuffers: momentum != 0 && momentumBuffers.isEmpty)
        for i in parameters.indices {
            let buffer = k.usesMomentum && !k.firstBuffers ? momentumBuffers[i] : gradients[i]   // unread otherwise
            let found = parameters[i].withUnsafeBufferPointer { p in
                gradients[i].withUnsafeBufferPointer { g in
                    buffer.withUnsafeBufferPointer { b in
                        firstNonFiniteElement(p.count) { range in
                            let k = opaqueCopy(k)
                            return firstNonFinite(in: range) { Self.element(p[$0], g[$0], b[$0], k).p }
                        }
                            .map { NonFiniteUpdate(parameter: i, index: $0, value: Self.element(p[$0], g[$0], b[$0], k).p) }
                    }
                }
            }
            if let found { return found }
        }
        return nil
    }
}

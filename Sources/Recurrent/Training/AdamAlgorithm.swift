internal import CFrameKernels
import Foundation
import FrameSequencing
internal import FrameSequencingRuntime

/// The Adam update shared by ``Adam`` and ``AdamW``: PyTorch's
/// `torch.optim.adam._single_tensor_adam`, operation for operation in Float32.
///
/// Per parameter `p` with gradient `g`, at step `t` (1 on the first step):
///
///     p = p (1 - lr lambda)             decoupled (AdamW), when lambda != 0
///     g = g + lambda p                  coupled L2 (Adam), when lambda != 0
///     m = m + (1 - beta1)(g - m)        exp_avg.lerp_(grad, 1 - beta1)
///     v = v beta2 + (1 - beta2) g g     exp_avg_sq
///     v_max = max(v_max, v)             amsgrad only; then used in place of v
///     denom = sqrt(v) / sqrt(1 - beta2^t) + eps
///     p = p - (lr / (1 - beta1^t)) m / denom
///
/// Bias corrections and the step size are computed in Float64 as PyTorch computes
/// them in Python floats, then rounded to Float32 where they meet a tensor.
struct AdamAlgorithm: Sendable {
    /// `"adam"` or `"adamw"`: the prefix of the exported state and of errors.
    let prefix: String
    let decoupledWeightDecay: Bool
    var learningRate: Double
    private(set) var beta1: Double
    private(set) var beta2: Double
    private(set) var epsilon: Double
    private(set) var weightDecay: Double
    private(set) var amsgrad: Bool
    private(set) var stepCount = 0
    /// exp_avg, exp_avg_sq and (amsgrad) max_exp_avg_sq, one per parameter; empty
    /// until the first step.
    private(set) var exponentialAverages: [Tensor] = []
    private(set) var squaredAverages: [Tensor] = []
    private(set) var maximumSquaredAverages: [Tensor] = []

    init(prefix: String, decoupledWeightDecay: Bool, learningRate: Double, betas: (Double, Double), epsilon: Double,
         weightDecay: Double, amsgrad: Bool) throws {
        let name = decoupledWeightDecay ? "AdamW" : "Adam"
        try requireHyperparameter(learningRate, in: 0 ... .greatestFiniteMagnitude, "\(name) learning rate")
        try requireHyperparameter(betas.0, in: 0 ... 1, openAbove: true, "\(name) beta1")
        try requireHyperparameter(betas.1, in: 0 ... 1, openAbove: true, "\(name) beta2")
        try requireHyperparameter(epsilon, in: 0 ... .greatestFiniteMagnitude, "\(name) epsilon")
        try requireHyperparameter(weightDecay, in: 0 ... .greatestFiniteMagnitude, "\(name) weight decay")
        self.prefix = prefix
        self.decoupledWeightDecay = decoupledWeightDecay
        self.learningRate = learningRate
        (beta1, beta2) = betas
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.amsgrad = amsgrad
    }

    mutating func step(parameters: inout [Tensor], gradients: [Tensor]) throws {
        try validate(parameters: parameters, gradients: gradients)
        if exponentialAverages.isEmpty && !parameters.isEmpty {
            let zeros = try parameters.map { try Tensor(shape: $0.shape) }
            (exponentialAverages, squaredAverages) = (zeros, zeros)
            if amsgrad { maximumSquaredAverages = zeros }
        }
        stepCount += 1
        let k = constants(step: stepCount)
        Self.applyKernels(parameters: &parameters, gradients: gradients, exponentialAverages: &exponentialAverages,
                          squaredAverages: &squaredAverages, maximumSquaredAverages: &maximumSquaredAverages, amsgrad: amsgrad, k)
    }

    func validate(parameters: [Tensor], gradients: [Tensor]) throws {
        try validateStep(decoupledWeightDecay ? "AdamW" : "Adam", learningRate: learningRate, parameters: parameters,
                         gradients: gradients, state: [exponentialAverages, squaredAverages, maximumSquaredAverages])
    }

    func exportState() -> OptimizerState {
        var state = OptimizerState(scalars: [
            "\(prefix).step": Double(stepCount), "\(prefix).lr": learningRate, "\(prefix).beta1": beta1,
            "\(prefix).beta2": beta2, "\(prefix).eps": epsilon, "\(prefix).weight_decay": weightDecay,
            "\(prefix).amsgrad": amsgrad ? 1 : 0,
        ])
        for (name, list) in [("exp_avg", exponentialAverages), ("exp_avg_sq", squaredAverages),
                             ("max_exp_avg_sq", maximumSquaredAverages)] {
            for (i, tensor) in list.enumerated() { state.tensors["\(prefix).\(name).\(i)"] = tensor }
        }
        return state
    }

    mutating func importState(_ state: OptimizerState) throws {
        let averages = state.indexed("\(prefix).exp_avg"), squares = state.indexed("\(prefix).exp_avg_sq")
        let maxima = state.indexed("\(prefix).max_exp_avg_sq")
        let scalars = ["step", "lr", "beta1", "beta2", "eps", "weight_decay", "amsgrad"].map { "\(prefix).\($0)" }
        try state.requireOnly(prefix: prefix, scalars: Set(scalars), lists: [
            "\(prefix).exp_avg": averages.count, "\(prefix).exp_avg_sq": squares.count, "\(prefix).max_exp_avg_sq": maxima.count,
        ])
        var restored = try AdamAlgorithm(
            prefix: prefix, decoupledWeightDecay: decoupledWeightDecay, learningRate: state.scalar("\(prefix).lr"),
            betas: (state.scalar("\(prefix).beta1"), state.scalar("\(prefix).beta2")), epsilon: state.scalar("\(prefix).eps"),
            weightDecay: state.scalar("\(prefix).weight_decay"), amsgrad: state.flag("\(prefix).amsgrad"))
        restored.stepCount = try state.count("\(prefix).step")
        let expectedMaxima = restored.amsgrad ? averages.count : 0
        guard squares.count == averages.count, maxima.count == expectedMaxima else {
            throw RecurrentError.invalidArgument(
                name: "optimizer state", expected: "\(averages.count) tensors each of exp_avg, exp_avg_sq"
                    + (restored.amsgrad ? " and max_exp_avg_sq" : " (and none of max_exp_avg_sq without amsgrad)"),
                actual: "\(averages.count), \(squares.count) and \(maxima.count)")
        }
        for i in averages.indices {
            for other in [squares[i]] + (restored.amsgrad ? [maxima[i]] : []) where other.dimensions != averages[i].dimensions {
                throw RecurrentError.shapeMismatch(name: "optimizer state tensors of parameter \(i)",
                                                   expected: ShapeRequirement(exactly: averages[i].dimensions), actual: other.dimensions)
            }
        }
        (restored.exponentialAverages, restored.squaredAverages, restored.maximumSquaredAverages) = (averages, squares, maxima)
        self = restored
    }
}

import Foundation
import FrameSequencing
import Recurrent
import TestSupport

/// Suite `torch_optim`: `torch.optim.Adam`, `AdamW` and `SGD` over `steps` steps,
/// optionally after `clip_grad_norm_`. Every `param.step<k>` is compared with the
/// gradient tolerance. The trajectory is then run again with the optimizer state
/// exported after the middle step and imported into a fresh optimizer; that
/// resumed run must equal the uninterrupted one bit for bit.
enum TorchOptimSuite {
    static func check(_ fixture: FixtureCase) throws -> [Comparison] {
        let steps = try fixture.requiredInt("steps")
        guard steps >= 1 else { throw FixtureError.badMetadata(fixture.path, "steps", "\(steps)") }
        if try fixture.metadataBool("maximize") {
            throw FixtureError.badMetadata(fixture.path, "maximize", "true is not part of the torch_optim contract")
        }
        let initial = try fixture.tensor("param.init")
        let gradients = try (0 ..< steps).map { try fixture.tensor("grad.step\($0)") }
        let clipping = try fixture.double("clip_norm").map { GradientClipping.globalNorm(maxNorm: Float($0)) }

        let straight = try trajectory(fixture, initial, gradients, clipping, resumeAfter: nil)
        var results: [Comparison] = []
        for k in 0 ..< steps {
            results.append(try fixture.check("param.step\(k)", straight[k], Tolerance.gradient))
        }
        let resumeAfter = steps / 2
        let resumed = try trajectory(fixture, initial, gradients, clipping, resumeAfter: resumeAfter)
        for k in 0 ..< steps {
            results.append(compare("param.step\(k) resumed after step \(resumeAfter - 1)", actual: resumed[k].scalars,
                                   expected: straight[k].scalars, atol: 0, rtol: 0))
        }
        return results
    }

    /// The parameter after each step; with `resumeAfter`, the optimizer is replaced
    /// by a fresh one restored from the exported state before step `resumeAfter`.
    private static func trajectory(
        _ fixture: FixtureCase, _ initial: Tensor, _ gradients: [Tensor], _ clipping: GradientClipping?,
        resumeAfter: Int?
    ) throws -> [Tensor] {
        var optimizer = try makeOptimizer(fixture)
        var parameters = [initial]
        var after: [Tensor] = []
        for (k, gradient) in gradients.enumerated() {
            if k == resumeAfter {
                let state = optimizer.exportState()
                optimizer = try makeOptimizer(fixture)
                try optimizer.importState(state)
            }
            var clipped = [gradient]
            if let clipping { try clipping.apply(to: &clipped) }
            try optimizer.step(parameters: &parameters, gradients: clipped)
            after.append(parameters[0])
        }
        return after
    }

    /// The optimizer the metadata describes; keys an optimizer does not take are null.
    private static func makeOptimizer(_ fixture: FixtureCase) throws -> any Optimizer {
        let kind = try fixture.string("optimizer") ?? ""
        let lr = try fixture.requiredDouble("lr")
        let weightDecay = try fixture.double("weight_decay") ?? 0
        switch kind {
        case "adam", "adamw":
            guard let betas = try fixture.metadata("betas") as? [NSNumber], betas.count == 2 else {
                throw FixtureError.badMetadata(fixture.path, "betas", "\(String(describing: try fixture.metadata("betas")))")
            }
            let (beta1, beta2) = (betas[0].doubleValue, betas[1].doubleValue)
            let eps = try fixture.requiredDouble("eps")
            let amsgrad = try fixture.metadataBool("amsgrad")
            return kind == "adam"
                ? try Adam(learningRate: lr, betas: (beta1, beta2), epsilon: eps, weightDecay: weightDecay, amsgrad: amsgrad)
                : try AdamW(learningRate: lr, betas: (beta1, beta2), epsilon: eps, weightDecay: weightDecay, amsgrad: amsgrad)
        case "sgd":
            return try SGD(learningRate: lr, momentum: fixture.double("momentum") ?? 0,
                           dampening: fixture.double("dampening") ?? 0, nesterov: fixture.metadataBool("nesterov"),
                           weightDecay: weightDecay)
        default:
            throw FixtureError.badMetadata(fixture.path, "optimizer", "'\(kind)' (expected adam, adamw or sgd)")
        }
    }
}

extension FixtureCase {
    /// A numeric metadata value as Float64 (hyperparameters keep their Python value);
    /// `nil` when absent or null.
    func double(_ key: String) throws -> Double? {
        guard let value = try metadata(key) else { return nil }
        if let number = value as? NSNumber { return number.doubleValue }
        if let text = value as? String, let number = Double(text) { return number }
        throw FixtureError.badMetadata(path, key, "\(value)")
    }

    func requiredDouble(_ key: String) throws -> Double {
        guard let value = try double(key) else { throw FixtureError.badMetadata(path, key, "missing") }
        return value
    }
}

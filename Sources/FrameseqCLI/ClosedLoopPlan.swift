import Foundation
import FrameSequencing
import Recurrent

/// Training on closed-loop rollouts (`--closed-loop K`): each window is its
/// context and the K frames after it, rolled over as one sequence; after the
/// context the model is fed its own predictions or, by a chance that decays
/// on `sampling`'s schedule, the true frame (scheduled sampling), and the loss
/// covers every prediction. With `reverse`, the context frames are also
/// replaced by predictions, by a chance that falls from 0.5 to 0 over the same
/// span (PredRNN-V2's reverse scheduled sampling).
struct ClosedLoopPlan: Hashable, Sendable {
    /// Frames forecast after the context in each training rollout.
    var horizon: Int
    var sampling: SamplingPlan = .linear(steps: nil)
    var reverse = false

    /// The trainer's options for a run of `totalSteps` optimizer steps.
    func options(totalSteps: Int, seed: UInt64) throws -> ClosedLoopTraining {
        let span = sampling.span(totalSteps: totalSteps)
        return try ClosedLoopTraining(sampling: try sampling.schedule(totalSteps: totalSteps),
                                      reverseSampling: reverse ? try .linear(from: 0.5, to: 1, steps: span) : nil,
                                      lossSteps: .all, seed: seed)
    }

    /// `train.closed_loop`, `train.sampling` and `train.reverse_sampling`.
    var metadata: [String: String] {
        ["train.closed_loop": String(horizon), "train.sampling": sampling.description, "train.reverse_sampling": String(reverse)]
    }

    /// The plan in a checkpoint's metadata; nil when it trained one pass per window.
    init?(metadata: [String: String], source: String) throws {
        guard let text = metadata["train.closed_loop"] else { return nil }
        guard let horizon = Int(text), horizon >= 1 else {
            throw CLIError.failed("\(source): metadata 'train.closed_loop' should be a whole number >= 1, got '\(text)'")
        }
        self.horizon = horizon
        sampling = try SamplingPlan(parsing: metadata["train.sampling"] ?? "linear", option: "\(source): metadata 'train.sampling'")
        reverse = metadata["train.reverse_sampling"] == "true"
    }

    init(horizon: Int, sampling: SamplingPlan = .linear(steps: nil), reverse: Bool = false) {
        (self.horizon, self.sampling, self.reverse) = (horizon, sampling, reverse)
    }
}

/// `--sampling`: how the chance of feeding the true frame at a forecast step
/// falls during training.
enum SamplingPlan: Hashable, Sendable, CustomStringConvertible {
    /// From 1 to 0 in a straight line over `steps` optimizer steps (PredRNN's
    /// schedule); nil: over the first two thirds of the run, then closed loop.
    case linear(steps: Int?)
    /// `base^step` (Bengio et al.).
    case exponential(base: Double)
    /// `k / (k + exp(step / k))` (Bengio et al.).
    case inverseSigmoid(k: Double)
    /// Never the true frame: the closed loop from the first step.
    case none

    static let help = "linear (1 -> 0 over the first two thirds of the steps), linear:N (over N steps), "
        + "exponential:BASE, inverse-sigmoid:K, or none"

    init(parsing text: String, option: String) throws {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        let number = parts.count == 2 ? Double(parts[1]) : nil
        switch (parts.first ?? "", parts.count) {
        case ("linear", 1): self = .linear(steps: nil)
        case ("linear", 2) where number.map { $0 >= 1 && $0 == $0.rounded() && $0 < 1e12 } == true: self = .linear(steps: Int(number!))
        case ("exponential", 2) where number.map { $0 > 0 && $0 < 1 } == true: self = .exponential(base: number!)
        case ("inverse-sigmoid", 2) where number.map { $0 >= 1 && $0.isFinite } == true: self = .inverseSigmoid(k: number!)
        case ("none", 1): self = .none
        default: throw CLIError.usage("\(option): '\(text)' is not a sampling schedule (expected \(Self.help))")
        }
    }

    var description: String {
        switch self {
        case .linear(let steps): return steps.map { "linear:\($0)" } ?? "linear"
        case .exponential(let base): return "exponential:\(base)"
        case .inverseSigmoid(let k): return "inverse-sigmoid:\(k)"
        case .none: return "none"
        }
    }

    /// Steps over which the linear schedule (and reverse sampling) runs.
    func span(totalSteps: Int) -> Int {
        if case .linear(let steps?) = self { return steps }
        return max(totalSteps * 2 / 3, 1)
    }

    func schedule(totalSteps: Int) throws -> SamplingSchedule {
        switch self {
        case .linear: return try .linear(from: 1, to: 0, steps: span(totalSteps: totalSteps))
        case .exponential(let base): return .exponentialDecay(base: base)
        case .inverseSigmoid(let k): return .inverseSigmoidDecay(k: k)
        case .none: return .constant(0)
        }
    }
}

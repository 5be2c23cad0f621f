import Foundation
import FrameSequencing

/// The chance of feeding the true frame rather than the model's own
/// prediction, as a function of the optimizer step: scheduled sampling
/// (Bengio et al. 2015), as PredRNN and OpenSTL train recurrent forecasters.
///
/// ```swift
/// let decay = try SamplingSchedule.linear(from: 1, to: 0, steps: 5000)   // PredRNN's: 1 -> 0, then 0
/// decay.probability(atStep: 2500)                                      // 0.5
/// ```
public enum SamplingSchedule: Sendable, Hashable {
    /// The same chance at every step.
    case constant(Double)
    /// From `start` to `end` in a straight line over `steps` steps, then `end`
    /// (PredRNN's schedule: 1 to 0 over 50 000 iterations, `sampling_changing_rate` 2e-5).
    case linearRamp(start: Double, end: Double, steps: Int)
    /// `base^step` (Bengio et al.'s exponential decay, `base` < 1).
    case exponentialDecay(base: Double)
    /// `k / (k + exp(step / k))` (Bengio et al.'s inverse sigmoid decay, `k` >= 1).
    case inverseSigmoidDecay(k: Double)

    /// A straight line from `start` to `end` over `steps` steps (a rising one
    /// too, for reverse scheduled sampling).
    ///
    /// - Throws: `invalidArgument` for chances outside 0...1 or `steps` < 1.
    public static func linear(from start: Double, to end: Double, steps: Int) throws -> SamplingSchedule {
        let schedule = SamplingSchedule.linearRamp(start: start, end: end, steps: steps)
        try schedule.validate()
        return schedule
    }

    /// The chance at optimizer step `step` (counted from 0), in 0...1.
    public func probability(atStep step: Int) -> Double {
        let t = Double(max(step, 0))
        let value: Double
        switch self {
        case .constant(let p): value = p
        case let .linearRamp(start, end, steps): value = t >= Double(steps) ? end : start + (end - start) * t / Double(max(steps, 1))
        case .exponentialDecay(let base): value = pow(base, t)
        case .inverseSigmoidDecay(let k): value = k / (k + exp(t / k))
        }
        return min(max(value, 0), 1)
    }

    /// Throws unless the schedule's numbers are in range.
    ///
    /// - Throws: `invalidArgument` naming the number out of range.
    public func validate() throws {
        func chance(_ p: Double, _ name: String) throws {
            guard p >= 0, p <= 1 else {
                throw RecurrentError.invalidArgument(name: "SamplingSchedule \(name)", expected: "a chance in 0...1", actual: "\(p)")
            }
        }
        switch self {
        case .constant(let p): try chance(p, "constant")
        case let .linearRamp(start, end, steps):
            try chance(start, "start")
            try chance(end, "end")
            try RecurrentError.requirePositive(steps, "SamplingSchedule steps")
        case .exponentialDecay(let base): try chance(base, "base")
        case .inverseSigmoidDecay(let k):
            guard k >= 1, k.isFinite else {
                throw RecurrentError.invalidArgument(name: "SamplingSchedule k", expected: "a number >= 1", actual: "\(k)")
            }
        }
    }
}

/// Training on closed-loop rollouts: every window (B, T context frames and K
/// target frames) is rolled over as one sequence of T + K frames. The model
/// reads the context, then predicts frame T from its own state and goes on,
/// fed at each later step its own prediction or, by chance, the true frame;
/// the loss covers the K forecast frames (or every prediction) and its
/// gradient reaches back through every prediction the model was fed.
///
/// ```swift
/// let windows = try frames.windows(WindowParameters(sequenceLength: 10, target: .nextFrames(count: 10)))
/// var trainer = try Trainer(model: model, optimizer: Adam(learningRate: 1e-3), loss: MeanSquaredError(),
///                           closedLoop: ClosedLoopTraining(sampling: try .linear(from: 1, to: 0, steps: 3000)))
/// try trainer.fit(windows, options: TrainingOptions(epochs: 20, batchSize: 8, layout: .spatial))
/// ```
///
/// - `sampling`: the chance of feeding the true frame at a forecast step
///   (steps T + 1 ..< T + K), decaying as training goes on; `.constant(0)` is
///   a plain closed loop, `.constant(1)` teacher forcing.
/// - `reverseSampling`: PredRNN-V2's reverse scheduled sampling, the chance of
///   feeding the true frame at a context step (steps 1 ..< T), usually rising
///   from 0.5 to 1; nil feeds every context frame.
/// - The decisions are drawn per sequence and step from `seed` and the
///   optimizer step, so a resumed run draws as an uninterrupted one.
public struct ClosedLoopTraining: Sendable, Hashable {
    /// Which predictions the loss covers.
    public enum LossSteps: String, Sendable, Hashable {
        /// The K predicted frames after the context.
        case forecast
        /// Every prediction, frames 1 ..< T + K (PredRNN's and OpenSTL's loss).
        case all
    }

    /// The chance of the true frame at a forecast step, by optimizer step.
    public var sampling: SamplingSchedule
    /// The chance of the true frame at a context step, by optimizer step; nil: always.
    public var reverseSampling: SamplingSchedule?
    /// Which predictions the loss covers.
    public var lossSteps: LossSteps
    /// Seeds the sampling decisions.
    public var seed: UInt64

    /// - Throws: the schedules' `validate()` errors.
    public init(sampling: SamplingSchedule = .constant(0), reverseSampling: SamplingSchedule? = nil,
                lossSteps: LossSteps = .all, seed: UInt64 = 0) throws {
        try sampling.validate()
        try reverseSampling?.validate()
        (self.sampling, self.reverseSampling, self.lossSteps, self.seed) = (sampling, reverseSampling, lossSteps, seed)
    }

    /// The rollout mask (B, T + K - 2) for optimizer step `step`: 1 where the
    /// true frame is fed, 0 where the prediction is (the rollout's `feedsTruth`).
    /// Input 1 + j reads frame 1 + j: a context frame for `1 + j < contextLength`.
    public func feedsTruth(batch: Int, frames: Int, contextLength: Int, step: Int) throws -> Tensor {
        try RecurrentError.requirePositive(batch, "rollout batch")
        guard frames >= 2, contextLength >= 1, contextLength < frames else {
            throw RecurrentError.invalidArgument(name: "rollout frames", expected: "a context of 1 ..< frames and frames >= 2",
                                                 actual: "context \(contextLength) of \(frames) frames")
        }
        var generator = SeededGenerator(seed: seed ^ (UInt64(truncatingIfNeeded: step) &* 0x9E37_79B9_7F4A_7C15))
        let (forecast, context) = (sampling.probability(atStep: step), reverseSampling?.probability(atStep: step))
        let inputs = frames - 2
        var values = [Float](repeating: 0, count: batch * inputs)
        for b in 0 ..< batch {
            for j in 0 ..< inputs {
                let chance = 1 + j < contextLength ? context ?? 1 : forecast
                // Always one draw, so the decisions of one step do not depend on the chances.
                let draw = Double(generator.nextUnitFloat())
                values[b * inputs + j] = draw < chance ? 1 : 0
            }
        }
        return try Tensor(shape: [batch, inputs], scalars: values)
    }
}

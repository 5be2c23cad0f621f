import Foundation
import FrameSequencing

/// The rate times `gamma` every `stepSize` units: `initial * gamma^floor(t / stepSize)`,
/// PyTorch's `StepLR` in closed form and MATLAB's `'piecewise'` schedule
/// (``piecewise(dropFactor:dropPeriod:)``).
///
/// ```swift
/// // MATLAB: 'LearnRateSchedule','piecewise','LearnRateDropFactor',0.2,'LearnRateDropPeriod',125
/// let schedule = try StepDecay.piecewise(dropFactor: 0.2, dropPeriod: 125)
/// schedule.learningRate(initial: 0.005, at: SchedulePosition(epoch: 125))   // 0.001
/// ```
public struct StepDecay: LearningRateSchedule, Hashable {
    /// Units between two drops, >= 1.
    public let stepSize: Int
    /// The factor of each drop, >= 0.
    public let gamma: Double
    /// The counter the schedule follows.
    public let unit: ScheduleUnit

    /// PyTorch's `StepLR(step_size:, gamma:)` counting `unit` (default epochs).
    ///
    /// - Throws: `invalidArgument` for `stepSize` < 1 or a negative or non-finite `gamma`.
    public init(stepSize: Int, gamma: Double = 0.1, unit: ScheduleUnit = .epoch) throws {
        try requireCount(stepSize, atLeast: 1, "StepDecay step size")
        try requireHyperparameter(gamma, in: 0 ... .greatestFiniteMagnitude, "StepDecay gamma")
        self.stepSize = stepSize
        self.gamma = gamma
        self.unit = unit
    }

    /// MATLAB's `'piecewise'` schedule: the rate is multiplied by `dropFactor` after
    /// every `dropPeriod` epochs (epochs 1 to `dropPeriod` in MATLAB's 1-based count
    /// use the initial rate; here, epochs 0 to `dropPeriod - 1`).
    ///
    /// - Throws: `invalidArgument` for `dropPeriod` < 1 or `dropFactor` outside [0, 1]
    ///   (MATLAB's limits).
    public static func piecewise(dropFactor: Double = 0.1, dropPeriod: Int = 10) throws -> StepDecay {
        try requireHyperparameter(dropFactor, in: 0 ... 1, "LearnRateDropFactor")
        return try StepDecay(stepSize: dropPeriod, gamma: dropFactor, unit: .epoch)
    }

    /// The rate at `position` for the initial rate `initial` (formula above).
    public func learningRate(initial: Double, at position: SchedulePosition) -> Double {
        initial * pow(gamma, Double(unit.count(at: position) / stepSize))
    }
}

/// The rate times `gamma` at each milestone passed: `initial * gamma^k`, where `k`
/// is the number of milestones <= t (PyTorch's `MultiStepLR` closed form).
public struct MultiStepDecay: LearningRateSchedule, Hashable {
    /// Increasing counts at which the rate drops, each >= 1.
    public let milestones: [Int]
    /// The factor of each drop, >= 0.
    public let gamma: Double
    /// The counter the schedule follows.
    public let unit: ScheduleUnit

    /// PyTorch's `MultiStepLR(milestones:, gamma:)` counting `unit`; repeated
    /// milestones drop several times, as in PyTorch.
    ///
    /// - Throws: `invalidArgument` for milestones that decrease or are < 1, or a
    ///   negative or non-finite `gamma`.
    public init(milestones: [Int], gamma: Double = 0.1, unit: ScheduleUnit = .epoch) throws {
        guard zip(milestones, milestones.dropFirst()).allSatisfy({ $0 <= $1 }), milestones.allSatisfy({ $0 >= 1 }) else {
            throw RecurrentError.invalidArgument(
                name: "MultiStepDecay milestones", expected: "non-decreasing integers >= 1", actual: "\(milestones)")
        }
        try requireHyperparameter(gamma, in: 0 ... .greatestFiniteMagnitude, "MultiStepDecay gamma")
        self.milestones = milestones
        self.gamma = gamma
        self.unit = unit
    }

    /// The rate at `position` for the initial rate `initial` (formula above).
    public func learningRate(initial: Double, at position: SchedulePosition) -> Double {
        let t = unit.count(at: position)
        let passed = milestones.reduce(0) { $0 + ($1 <= t ? 1 : 0) }   // bisect_right
        return initial * pow(gamma, Double(passed))
    }
}

/// `initial * gamma^t`: PyTorch's `ExponentialLR` in closed form.
public struct ExponentialDecay: LearningRateSchedule, Hashable {
    /// The factor per unit, >= 0.
    public let gamma: Double
    /// The counter the schedule follows.
    public let unit: ScheduleUnit

    /// PyTorch's `ExponentialLR(gamma:)` counting `unit` (default epochs).
    ///
    /// - Throws: `invalidArgument` for a negative or non-finite `gamma`.
    public init(gamma: Double, unit: ScheduleUnit = .epoch) throws {
        try requireHyperparameter(gamma, in: 0 ... .greatestFiniteMagnitude, "ExponentialDecay gamma")
        self.gamma = gamma
        self.unit = unit
    }

    /// The rate at `position` for the initial rate `initial` (formula above).
    public func learningRate(initial: Double, at position: SchedulePosition) -> Double {
        initial * pow(gamma, Double(unit.count(at: position)))
    }
}

import Foundation
import FrameSequencing

/// Cosine annealing from the initial rate to `minimum` over `period` units,
/// PyTorch's `CosineAnnealingLR(T_max: period, eta_min: minimum)` in closed form:
///
///     rate(t) = minimum + (initial - minimum) (1 + cos(pi t / period)) / 2
///
/// Edge behaviour: as in PyTorch, the formula continues past `period`, so the
/// rate climbs back to the initial rate at `2 period` (a cosine of period
/// `2 period`); for a single decay, make `period` the length of the run.
///
/// ```swift
/// let cosine = try CosineAnnealing(period: 100, minimum: 1e-5)
/// cosine.learningRate(initial: 1e-3, at: SchedulePosition(epoch: 50))   // (1e-3 + 1e-5) / 2
/// ```
public struct CosineAnnealing: LearningRateSchedule, Hashable {
    /// Units from the initial rate to `minimum` (PyTorch's `T_max`), >= 1.
    public let period: Int
    /// The rate at `period` (PyTorch's `eta_min`), finite.
    public let minimum: Double
    /// The counter the schedule follows.
    public let unit: ScheduleUnit

    /// A cosine from the initial rate down to `minimum` over `period` units of `unit`.
    ///
    /// - Throws: `invalidArgument` for `period` < 1 or a non-finite `minimum`.
    public init(period: Int, minimum: Double = 0, unit: ScheduleUnit = .epoch) throws {
        try requireCount(period, atLeast: 1, "CosineAnnealing period")
        guard minimum.isFinite else {
            throw RecurrentError.invalidArgument(name: "CosineAnnealing minimum", expected: "a finite number", actual: "\(minimum)")
        }
        self.period = period
        self.minimum = minimum
        self.unit = unit
    }

    /// The rate at `position` for the initial rate `initial` (formula above).
    public func learningRate(initial: Double, at position: SchedulePosition) -> Double {
        let t = Double(unit.count(at: position))
        return minimum + (initial - minimum) * (1 + cos(Double.pi * t / Double(period))) / 2
    }
}

/// A linear ramp of the rate's factor from `startFactor` to `endFactor` over
/// `duration` units, then `endFactor`: PyTorch's `LinearLR` in closed form,
///
///     rate(t) = initial (startFactor + (endFactor - startFactor) min(t, duration) / duration)
///
/// As a warm-up it starts small and reaches the initial rate (`endFactor` 1) at
/// `duration`; follow it with another schedule with
/// ``LearningRateSchedule/followed(by:after:unit:)`` (switching at `duration`).
///
/// ```swift
/// let warmup = try LinearWarmup(startFactor: 0.1, duration: 4, unit: .step)
/// warmup.learningRate(initial: 1, at: SchedulePosition(step: 2))   // 0.55
/// ```
public struct LinearWarmup: LearningRateSchedule, Hashable {
    /// The factor at t = 0, in (0, 1].
    public let startFactor: Double
    /// The factor from t = `duration` on, in [0, 1].
    public let endFactor: Double
    /// Units of the ramp (PyTorch's `total_iters`), >= 1.
    public let duration: Int
    /// The counter the schedule follows.
    public let unit: ScheduleUnit

    /// PyTorch's `LinearLR(start_factor:, end_factor:, total_iters:)` counting
    /// `unit` (default steps, the usual warm-up); the defaults are PyTorch's.
    ///
    /// - Throws: `invalidArgument` for factors outside PyTorch's ranges or `duration` < 1.
    public init(startFactor: Double = 1.0 / 3, endFactor: Double = 1, duration: Int = 5, unit: ScheduleUnit = .step) throws {
        guard startFactor > 0, startFactor <= 1 else {
            throw RecurrentError.invalidArgument(name: "LinearWarmup start factor", expected: "a number in (0, 1]", actual: "\(startFactor)")
        }
        try requireHyperparameter(endFactor, in: 0 ... 1, "LinearWarmup end factor")
        try requireCount(duration, atLeast: 1, "LinearWarmup duration")
        self.startFactor = startFactor
        self.endFactor = endFactor
        self.duration = duration
        self.unit = unit
    }

    /// The rate at `position` for the initial rate `initial` (formula above).
    public func learningRate(initial: Double, at position: SchedulePosition) -> Double {
        let t = Double(min(unit.count(at: position), duration))
        return initial * (startFactor + (endFactor - startFactor) * t / Double(duration))
    }
}

import FrameSequencing

/// Where training is: the epoch and the optimizer step, both counted from 0.
///
/// `step` is the global iteration count (steps taken before the current one, not
/// reset at epoch boundaries). Negative counts are read as 0.
public struct SchedulePosition: Sendable, Hashable {
    /// Epochs completed before the current one (0 during the first epoch).
    public var epoch: Int
    /// Optimizer steps taken before the current one (0 for the first step).
    public var step: Int

    /// The position at `epoch` and `step`.
    public init(epoch: Int = 0, step: Int = 0) {
        self.epoch = epoch
        self.step = step
    }
}

/// Which counter of a ``SchedulePosition`` a schedule follows: PyTorch's schedulers
/// count whatever their `step()` is called on, MATLAB's count epochs.
public enum ScheduleUnit: String, Sendable, Hashable, CaseIterable {
    /// ``SchedulePosition/epoch``.
    case epoch
    /// ``SchedulePosition/step``.
    case step

    /// The counter this unit reads from `position`, at least 0.
    public func count(at position: SchedulePosition) -> Int {
        max(0, self == .epoch ? position.epoch : position.step)
    }
}

/// A learning rate as a pure function of the initial rate and the position, in
/// closed form (PyTorch's `_get_closed_form_lr`), so a resumed run recomputes the
/// exact rate from the checkpoint's position without replaying history.
///
/// Schedules compose: ``followed(by:after:unit:)`` switches to another schedule
/// (PyTorch's `SequentialLR`), ``chained(with:)`` applies one to the other's rate
/// (PyTorch's `ChainedScheduler`: for the multiplicative schedules, the product
/// of their factors).
///
/// ```swift
/// let schedule = try LinearWarmup(startFactor: 0.1, duration: 100, unit: .step)
///     .followed(by: CosineAnnealing(period: 50, unit: .epoch), after: 100, unit: .step)
/// optimizer.learningRate = schedule.learningRate(initial: 1e-3, at: SchedulePosition(epoch: 3, step: 420))
/// ```
public protocol LearningRateSchedule: Sendable {
    /// The learning rate at `position` for a run whose configured rate is `initial`.
    func learningRate(initial: Double, at position: SchedulePosition) -> Double
}

extension LearningRateSchedule {
    /// This schedule until `count` units, then `next` with that unit's counter
    /// restarted at 0 (PyTorch's `SequentialLR(milestones: [count])`); the other
    /// counter is passed on unchanged. Chain calls for more than two phases.
    public func followed<Next: LearningRateSchedule>(
        by next: Next, after count: Int, unit: ScheduleUnit
    ) -> SequentialSchedule<Self, Next> {
        SequentialSchedule(first: self, second: next, switchAt: count, unit: unit)
    }

    /// `other` applied to this schedule's rate, as PyTorch's `ChainedScheduler`
    /// applies each scheduler in turn: for ``StepDecay``, ``MultiStepDecay``,
    /// ``ExponentialDecay`` and ``LinearWarmup`` the rate is the initial rate times
    /// both factors; for ``CosineAnnealing`` this schedule's rate is the one it anneals from.
    public func chained<Other: LearningRateSchedule>(with other: Other) -> ChainedSchedule<Self, Other> {
        ChainedSchedule(inner: self, outer: other)
    }
}

/// The initial rate at every position.
public struct ConstantSchedule: LearningRateSchedule, Hashable {
    /// A schedule that keeps the initial rate.
    public init() {}

    /// `initial`, whatever the position.
    public func learningRate(initial: Double, at position: SchedulePosition) -> Double { initial }
}

/// `first` before `switchAt` units, then `second` counted from the switch:
/// PyTorch's `SequentialLR` with one milestone.
public struct SequentialSchedule<First: LearningRateSchedule, Second: LearningRateSchedule>: LearningRateSchedule {
    /// The schedule before the switch.
    public let first: First
    /// The schedule from the switch on, its `unit` counter starting at 0 there.
    public let second: Second
    /// The count (in `unit`) at which `second` takes over, >= 0.
    public let switchAt: Int
    /// The counter `switchAt` is measured in.
    public let unit: ScheduleUnit

    /// `first` until `switchAt` (negative values are read as 0), then `second`.
    public init(first: First, second: Second, switchAt: Int, unit: ScheduleUnit) {
        self.first = first
        self.second = second
        self.switchAt = max(0, switchAt)
        self.unit = unit
    }

    /// `first`'s rate before the switch, `second`'s (at the shifted position) from it on.
    public func learningRate(initial: Double, at position: SchedulePosition) -> Double {
        let count = unit.count(at: position)
        guard count >= switchAt else { return first.learningRate(initial: initial, at: position) }
        var shifted = position
        switch unit {
        case .epoch: shifted.epoch = count - switchAt
        case .step: shifted.step = count - switchAt
        }
        return second.learningRate(initial: initial, at: shifted)
    }
}

/// `outer` applied to `inner`'s rate: PyTorch's `ChainedScheduler`.
public struct ChainedSchedule<Inner: LearningRateSchedule, Outer: LearningRateSchedule>: LearningRateSchedule {
    /// The schedule applied first, to the initial rate.
    public let inner: Inner
    /// The schedule applied to `inner`'s rate.
    public let outer: Outer

    /// `outer.learningRate(initial: inner.learningRate(initial: r, at: p), at: p)`.
    public init(inner: Inner, outer: Outer) {
        self.inner = inner
        self.outer = outer
    }

    /// `outer`'s rate with `inner`'s rate as its initial rate.
    public func learningRate(initial: Double, at position: SchedulePosition) -> Double {
        outer.learningRate(initial: inner.learningRate(initial: initial, at: position), at: position)
    }
}

extension SequentialSchedule: Equatable where First: Equatable, Second: Equatable {}
extension SequentialSchedule: Hashable where First: Hashable, Second: Hashable {}
extension ChainedSchedule: Equatable where Inner: Equatable, Outer: Equatable {}
extension ChainedSchedule: Hashable where Inner: Hashable, Outer: Hashable {}

/// Throws `invalidArgument` unless `value` >= `minimum` (a count).
func requireCount(_ value: Int, atLeast minimum: Int, _ name: String) throws {
    guard value >= minimum else {
        throw RecurrentError.invalidArgument(name: name, expected: "an integer >= \(minimum)", actual: "\(value)")
    }
}

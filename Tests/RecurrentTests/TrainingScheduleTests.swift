import Foundation
import Recurrent
import XCTest

/// Learning-rate schedules: closed forms against the rates PyTorch's schedulers
/// produce step by step, MATLAB's piecewise drop, units, composition and validation.
final class TrainingScheduleTests: XCTestCase {
    /// The rates of `schedule` at epochs 0 ..< count (initial 0.1, as the PyTorch runs below).
    private func rates(_ schedule: some LearningRateSchedule, _ count: Int, unit: ScheduleUnit = .epoch) -> [Double] {
        (0 ..< count).map {
            schedule.learningRate(initial: 0.1, at: unit == .epoch ? SchedulePosition(epoch: $0, step: 1000) : SchedulePosition(epoch: 7, step: $0))
        }
    }

    private func assertClose(_ actual: [Double], _ expected: [Double], _ label: String) {
        XCTAssertEqual(actual.count, expected.count, label)
        for (i, (a, e)) in zip(actual, expected).enumerated() {
            XCTAssertEqual(a, e, accuracy: 1e-12 * abs(e), "\(label) at \(i)")
        }
    }

    /// Each expected list is `optimizer.param_groups[0]["lr"]` before each
    /// `scheduler.step()` of torch 2.15 with `SGD(lr=0.1)`.
    func testClosedFormsEqualPyTorchSchedulers() throws {
        assertClose(rates(try CosineAnnealing(period: 10, minimum: 0.01), 14), [
            0.1, 0.09779754323328192, 0.09140576474687263, 0.08145033635316129, 0.06890576474687264, 0.05500000000000001,
            0.04109423525312737, 0.028549663646838717, 0.01859423525312737, 0.012202456766718092, 0.01, 0.012202456766718092,
            0.0185942352531274, 0.028549663646838794,
        ], "CosineAnnealingLR(T_max=10, eta_min=0.01)")
        assertClose(rates(try LinearWarmup(startFactor: 0.25, duration: 4), 6, unit: .step),
                    [0.025, 0.043750000000000004, 0.06250000000000001, 0.08125000000000002, 0.10000000000000002, 0.10000000000000002],
                    "LinearLR(start_factor=0.25, total_iters=4)")
        assertClose(rates(try StepDecay(stepSize: 3, gamma: 0.5), 7), [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025], "StepLR(3, 0.5)")
        assertClose(rates(try MultiStepDecay(milestones: [2, 5], gamma: 0.1), 7),
                    [0.1, 0.1, 0.010000000000000002, 0.010000000000000002, 0.010000000000000002, 0.0010000000000000002,
                     0.0010000000000000002], "MultiStepLR([2, 5], 0.1)")
        assertClose(rates(try ExponentialDecay(gamma: 0.9), 4), [0.1, 0.09000000000000001, 0.08100000000000002, 0.07290000000000002],
                    "ExponentialLR(0.9)")
        let sequential = try LinearWarmup(startFactor: 0.1, duration: 3, unit: .epoch)
            .followed(by: ExponentialDecay(gamma: 0.9), after: 3, unit: .epoch)
        assertClose(rates(sequential, 7), [0.010000000000000002, 0.04, 0.07, 0.1, 0.09000000000000001, 0.08100000000000002,
                                           0.07290000000000002], "SequentialLR([LinearLR(0.1, 3), ExponentialLR(0.9)], [3])")
        let chained = try LinearWarmup(startFactor: 0.5, duration: 2, unit: .epoch).chained(with: ExponentialDecay(gamma: 0.9))
        assertClose(rates(chained, 5), [0.05, 0.06750000000000002, 0.08100000000000003, 0.07290000000000003, 0.06561000000000003],
                    "ChainedScheduler([LinearLR(0.5, 2), ExponentialLR(0.9)])")
    }

    /// The seeds' MATLAB setup: 'piecewise', LearnRateDropFactor 0.2, LearnRateDropPeriod 125.
    func testMatlabPiecewiseDropsAfterEveryPeriod() throws {
        let schedule = try StepDecay.piecewise(dropFactor: 0.2, dropPeriod: 125)
        let rate = { (epoch: Int) in schedule.learningRate(initial: 0.005, at: SchedulePosition(epoch: epoch, step: 99_999)) }
        XCTAssertEqual(rate(0), 0.005)
        XCTAssertEqual(rate(124), 0.005, "MATLAB's epochs 1...125 keep the initial rate")
        XCTAssertEqual(rate(125), 0.001, accuracy: 1e-18)
        XCTAssertEqual(rate(249), 0.001, accuracy: 1e-18)
        XCTAssertEqual(rate(250), 0.0002, accuracy: 1e-18)
        let defaults = try StepDecay.piecewise()
        XCTAssertEqual(defaults, try StepDecay(stepSize: 10, gamma: 0.1, unit: .epoch), "MATLAB's defaults")
    }

    func testUnitsReadTheirCounter() throws {
        let byStep = try ExponentialDecay(gamma: 0.5, unit: .step)
        let byEpoch = try ExponentialDecay(gamma: 0.5, unit: .epoch)
        let position = SchedulePosition(epoch: 1, step: 3)
        XCTAssertEqual(byStep.learningRate(initial: 1, at: position), 0.125)
        XCTAssertEqual(byEpoch.learningRate(initial: 1, at: position), 0.5)
        XCTAssertEqual(byStep.learningRate(initial: 1, at: SchedulePosition(epoch: -2, step: -5)), 1, "negative counts read as 0")
        XCTAssertEqual(ConstantSchedule().learningRate(initial: 0.3, at: position), 0.3)
    }

    /// Warm-up over steps, then a cosine over epochs: the switch restarts only the step counter.
    func testMixedUnitSequenceRestartsTheSwitchingCounter() throws {
        let warmup = try LinearWarmup(startFactor: 0.1, duration: 100, unit: .step)
        let schedule = warmup.followed(by: try CosineAnnealing(period: 50, unit: .epoch), after: 100, unit: .step)
        XCTAssertEqual(schedule.learningRate(initial: 1, at: SchedulePosition(epoch: 0, step: 50)), 0.55, accuracy: 1e-15)
        XCTAssertEqual(schedule.learningRate(initial: 1, at: SchedulePosition(epoch: 1, step: 100)),
                       (1 + cos(Double.pi / 50)) / 2, accuracy: 1e-15)
        XCTAssertEqual(schedule.learningRate(initial: 1, at: SchedulePosition(epoch: 25, step: 5000)), 0.5, accuracy: 1e-15)
        // Three phases by nesting.
        let three = schedule.followed(by: ConstantSchedule(), after: 40, unit: .epoch)
        XCTAssertEqual(three.learningRate(initial: 1, at: SchedulePosition(epoch: 40, step: 9000)), 1)
    }

    func testInvalidSchedulesThrow() {
        let attempts: [(String, () throws -> Any)] = [
            ("step size 0", { try StepDecay(stepSize: 0) }),
            ("negative gamma", { try ExponentialDecay(gamma: -0.5) }),
            ("drop factor above 1", { try StepDecay.piecewise(dropFactor: 1.5, dropPeriod: 10) }),
            ("decreasing milestones", { try MultiStepDecay(milestones: [5, 2]) }),
            ("milestone 0", { try MultiStepDecay(milestones: [0, 2]) }),
            ("cosine period 0", { try CosineAnnealing(period: 0) }),
            ("infinite minimum", { try CosineAnnealing(period: 5, minimum: .infinity) }),
            ("start factor 0", { try LinearWarmup(startFactor: 0) }),
            ("end factor 2", { try LinearWarmup(endFactor: 2) }),
            ("duration 0", { try LinearWarmup(duration: 0) }),
        ]
        for (label, attempt) in attempts {
            XCTAssertThrowsError(try attempt(), label) { XCTAssert($0 is RecurrentError, "\(label): \($0)") }
        }
    }
}

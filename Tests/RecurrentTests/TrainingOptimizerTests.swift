import FrameSequencing
import Recurrent
import TestSupport
import XCTest

/// Optimizers beyond the torch_optim fixtures: state export and import (a resumed
/// run equals an uninterrupted one bit for bit), the state's names, the first
/// momentum step, decoupled decay, and every caller mistake.
final class TrainingOptimizerTests: XCTestCase {
    /// Parameters of three shapes, as a model's list would hold them.
    private let shapes: [[Int]] = [[3, 4], [5], [2, 1, 3]]

    private func parameters(seed: UInt64) throws -> [Tensor] {
        try shapes.enumerated().map { try randomTensor($1, seed: seed + UInt64($0)) }
    }

    /// The optimizers under test, each built twice: as configured, and with
    /// defaults that importState must overwrite.
    private func configurations() throws -> [(String, () throws -> any Optimizer, () throws -> any Optimizer)] {
        [
            ("SGD", { try SGD(learningRate: 0.1) }, { try SGD(learningRate: 1) }),
            ("SGD momentum nesterov wd", { try SGD(learningRate: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.01) },
             { try SGD(learningRate: 1) }),
            ("SGD dampening", { try SGD(learningRate: 0.05, momentum: 0.8, dampening: 0.3) }, { try SGD(learningRate: 1) }),
            ("Adam", { try Adam(learningRate: 0.01) }, { try Adam() }),
            ("Adam amsgrad l2", { try Adam(learningRate: 0.01, betas: (0.8, 0.6), epsilon: 1e-3, weightDecay: 0.1, amsgrad: true) },
             { try Adam() }),
            ("AdamW amsgrad", { try AdamW(learningRate: 0.02, weightDecay: 0.05, amsgrad: true) }, { try AdamW() }),
        ]
    }

    /// Runs `steps` seeded steps, the learning rate following an exponential schedule.
    private func run(_ optimizer: inout any Optimizer, _ parameters: inout [Tensor], steps: Range<Int>) throws {
        let schedule = try ExponentialDecay(gamma: 0.8, unit: .step)
        for step in steps {
            let gradients = try shapes.enumerated().map { try randomTensor($1, seed: 1000 * UInt64(step) + UInt64($0), scale: 2) }
            optimizer.learningRate = schedule.learningRate(initial: 0.1, at: SchedulePosition(step: step))
            try optimizer.step(parameters: &parameters, gradients: gradients)
        }
    }

    func testResumingFromExportedStateEqualsAnUninterruptedRun() throws {
        for (name, make, makeOther) in try configurations() {
            var straight = try make()
            var straightParameters = try parameters(seed: 9)
            try run(&straight, &straightParameters, steps: 0 ..< 5)

            var first = try make()
            var resumedParameters = try parameters(seed: 9)
            try run(&first, &resumedParameters, steps: 0 ..< 3)
            let saved = first.exportState()
            var resumed = try makeOther()
            try resumed.importState(saved)
            XCTAssertEqual(resumed.exportState(), saved, "\(name): import then export is the identity")
            XCTAssertEqual(resumed.stepCount, 3, name)
            try run(&resumed, &resumedParameters, steps: 3 ..< 5)

            XCTAssertEqual(resumedParameters, straightParameters, "\(name): 3 + 2 steps differ from 5 straight")
            XCTAssertEqual(resumed.exportState(), straight.exportState(), name)
        }
    }

    func testExportedStateUsesPyTorchNames() throws {
        var adam = try Adam(learningRate: 0.01, amsgrad: true)
        XCTAssertEqual(adam.exportState().tensors, [:], "no state before the first step, as in PyTorch")
        var parameters = try parameters(seed: 1)
        try adam.step(parameters: &parameters, gradients: parameters)
        let state = adam.exportState()
        XCTAssertEqual(Set(state.tensors.keys), Set((0 ..< 3).flatMap { i in
            ["adam.exp_avg.\(i)", "adam.exp_avg_sq.\(i)", "adam.max_exp_avg_sq.\(i)"] }))
        XCTAssertEqual(state.scalars, ["adam.step": 1, "adam.lr": 0.01, "adam.beta1": 0.9, "adam.beta2": 0.999, "adam.eps": 1e-8,
                                       "adam.weight_decay": 0, "adam.amsgrad": 1])
        XCTAssertEqual(state.tensors["adam.exp_avg.2"]?.dimensions, [2, 1, 3])

        var sgd = try SGD(learningRate: 0.1, momentum: 0.9)
        try sgd.step(parameters: &parameters, gradients: parameters)
        XCTAssertEqual(Set(sgd.exportState().tensors.keys), ["sgd.momentum_buffer.0", "sgd.momentum_buffer.1", "sgd.momentum_buffer.2"])
        var adamw = try AdamW()
        try adamw.step(parameters: &parameters, gradients: parameters)
        XCTAssert(adamw.exportState().scalars.keys.allSatisfy { $0.hasPrefix("adamw.") })
    }

    func testFirstMomentumStepUsesTheGradientAsBuffer() throws {
        var sgd = try SGD(learningRate: 0.5, momentum: 0.9, dampening: 0.5)
        var parameters = [try Tensor(shape: [2], scalars: [1, 2])]
        let gradients = [try Tensor(shape: [2], scalars: [0.5, -1])]
        try sgd.step(parameters: &parameters, gradients: gradients)
        // PyTorch: buf = grad on the first step (no dampening applied), p -= lr * buf.
        XCTAssertEqual(parameters[0].scalars, [0.75, 2.5])
        XCTAssertEqual(sgd.exportState().tensors["sgd.momentum_buffer.0"], gradients[0])
        try sgd.step(parameters: &parameters, gradients: gradients)
        // Then buf = 0.9 buf + 0.5 grad = 0.7 grad.
        XCTAssertEqual(sgd.exportState().tensors["sgd.momentum_buffer.0"]?.scalars, [0.45 + 0.25, -0.9 - 0.5].map { Float($0) })
    }

    func testDecoupledWeightDecayShrinksParametersWithoutGradient() throws {
        var adamw = try AdamW(learningRate: 0.1, weightDecay: 0.5)
        var parameters = [try Tensor(shape: [3], scalars: [1, -2, 4])]
        let zero = [try Tensor(shape: [3])]
        for _ in 0 ..< 3 { try adamw.step(parameters: &parameters, gradients: zero) }
        let factor = Float(1 - 0.1 * 0.5)
        XCTAssertEqual(parameters[0].scalars, [1, -2, 4].map { $0 * factor * factor * factor })
        // Adam's coupled decay moves by about lr per step instead (m / sqrt(v) is ±1).
        var adam = try Adam(learningRate: 0.1, weightDecay: 0.5)
        var coupled = [try Tensor(shape: [3], scalars: [1, -2, 4])]
        try adam.step(parameters: &coupled, gradients: zero)
        XCTAssert(compare("Adam first step", actual: coupled[0].scalars, expected: [0.9, -1.9, 3.9], atol: 1e-6).passed)
    }

    func testCallerMistakesThrowAndModifyNothing() throws {
        var adam = try Adam(learningRate: 0.01)
        var parameters = try parameters(seed: 3)
        try adam.step(parameters: &parameters, gradients: parameters)
        let before = (parameters, adam.exportState())
        func expectError(_ label: String, _ body: () throws -> Void) {
            XCTAssertThrowsError(try body(), label) { error in
                XCTAssert(error is RecurrentError, "\(label): \(error)")
                print("\(label): \(error)")
            }
            XCTAssertEqual(parameters, before.0, label)
            XCTAssertEqual(adam.exportState().tensors, before.1.tensors, label)
            XCTAssertEqual(adam.stepCount, 1, label)
        }
        expectError("gradient count") { try adam.step(parameters: &parameters, gradients: Array(parameters.prefix(2))) }
        expectError("gradient shape") {
            try adam.step(parameters: &parameters, gradients: [parameters[0], parameters[2], parameters[1]])
        }
        var fewer = Array(parameters.prefix(2))
        XCTAssertThrowsError(try adam.step(parameters: &fewer, gradients: fewer), "state built for 3 parameters")
        adam.learningRate = -1
        expectError("negative learning rate") { try adam.step(parameters: &parameters, gradients: parameters) }
        adam.learningRate = .nan
        expectError("NaN learning rate") { try adam.step(parameters: &parameters, gradients: parameters) }
        adam.learningRate = 0.01

        var state = before.1
        state.scalars["adam.step"] = nil
        expectError("missing step") { try adam.importState(state) }
        state = before.1
        state.tensors["adam.exp_avg.7"] = parameters[0]
        expectError("tensor past the list") { try adam.importState(state) }
        state = before.1
        state.tensors["adam.exp_avg_sq.2"] = nil
        expectError("unequal lists") { try adam.importState(state) }
        state = before.1
        state.tensors["adam.exp_avg_sq.1"] = parameters[0]
        expectError("state shapes disagree") { try adam.importState(state) }
        state = before.1
        state.scalars["adam.beta2"] = 1
        expectError("invalid hyperparameter") { try adam.importState(state) }
        state = before.1
        state.scalars["adam.step"] = 2.5
        expectError("fractional step") { try adam.importState(state) }
        expectError("SGD state into Adam") { try adam.importState(try SGD(learningRate: 1).exportState()) }

        // Entries under other prefixes (the rest of a checkpoint) are ignored.
        state = before.1
        state.tensors["model.weight"] = parameters[0]
        state.scalars["epoch"] = 4
        XCTAssertNoThrow(try adam.importState(state))
        XCTAssertEqual(adam.exportState(), before.1)
    }

    func testInvalidHyperparametersThrow() {
        let attempts: [(String, () throws -> Any)] = [
            ("negative lr", { try SGD(learningRate: -0.1) }),
            ("nesterov without momentum", { try SGD(learningRate: 0.1, nesterov: true) }),
            ("nesterov with dampening", { try SGD(learningRate: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true) }),
            ("dampening above 1", { try SGD(learningRate: 0.1, momentum: 0.9, dampening: 2) }),
            ("beta1 = 1", { try Adam(betas: (1, 0.999)) }),
            ("negative beta2", { try AdamW(betas: (0.9, -0.1)) }),
            ("negative eps", { try Adam(epsilon: -1) }),
            ("infinite weight decay", { try AdamW(weightDecay: .infinity) }),
        ]
        for (label, attempt) in attempts {
            XCTAssertThrowsError(try attempt(), label) { XCTAssert($0 is RecurrentError, "\(label): \($0)") }
        }
    }
}

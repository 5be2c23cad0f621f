import FrameSequencing
import Recurrent
import TestSupport
import XCTest

/// The U-Net forecaster: gradients of the sequence pass and of closed-loop
/// rollouts against finite differences, the sequence pass against stepping
/// frame by frame, odd frame sizes (the decoder's crops), typed errors, the
/// parameters' names, the footprint and training.
final class UNetForecasterTests: XCTestCase {
    /// Two stages on 5 x 7 frames: grids 5 x 7, 3 x 4 and a 2 x 2 bottleneck,
    /// so both up-convolutions overshoot (4 x 4 and 6 x 8) and are cropped.
    private func model(seed: UInt64 = 7) throws -> UNetForecaster {
        try UNetForecaster(frameHeight: 5, frameWidth: 7, channels: 1, filters: [2, 3], bottleneckFilters: 2, seed: seed)
    }

    /// The same with tanh and strided convolutions in place of ReLU and max
    /// pooling: no kink or near-tie of a maximum for a central difference of
    /// step 1e-2 to straddle (those layers have finite-difference tests of their own).
    private func smoothModel(seed: UInt64 = 7) throws -> UNetForecaster {
        try UNetForecaster(frameHeight: 5, frameWidth: 7, channels: 1, filters: [2, 3], bottleneckFilters: 2,
                           downsampling: .stridedConvolution, hiddenActivation: .tanh, seed: seed)
    }

    private func frames(_ batch: Int, _ steps: Int, seed: UInt64) throws -> Tensor {
        try randomTensor([batch, steps, 5, 7, 1], seed: seed, scale: 0.5).shifted(by: 0.5)
    }

    /// A random (h, c) on the model's bottleneck grid.
    private func randomState(_ model: UNetForecaster, batch: Int, seed: UInt64) throws -> ConvLSTMState {
        let shape = try model.zeroState(batch: batch).hidden.dimensions
        return ConvLSTMState(hidden: try randomTensor(shape, seed: seed, scale: 0.5), cell: try randomTensor(shape, seed: seed + 1))
    }

    /// `L = sum(output * g) + <finalState, gState>` from a random initial state:
    /// every parameter's gradient, the frames' and the initial state's against
    /// central differences.
    func testSequenceGradientsMatchFiniteDifferences() throws {
        let model = try smoothModel()
        let x = try frames(1, 3, seed: 1)
        let initial = try randomState(model, batch: 1, seed: 2)
        let (output, final, cache) = try model.trainingForward(x, from: initial)
        let g = try randomTensor(output.dimensions, seed: 3)
        let gState = try randomState(model, batch: 1, seed: 4)
        func loss(_ m: UNetForecaster, _ frames: Tensor, _ state: ConvLSTMState) throws -> Double {
            let (y, s) = try m.forward(frames, from: state)
            return dot(y, g) + dot(s.hidden, gState.hidden) + dot(s.cell, gState.cell)
        }
        XCTAssertEqual(try model.forward(x, from: initial).output, output, "inference is the training pass")
        XCTAssertEqual(try model.forward(x, from: initial).finalState, final)
        var gradients = model.zeroGradients()
        let (dx, dState) = try model.backward(outputGradient: g, finalStateGradient: gState, cache: cache, into: &gradients)
        for (index, (parameter, analytic)) in zip(model.namedParameters, gradients.tensors).enumerated() {
            let comparison = try finiteDifferenceCheck("d\(parameter.name)", parameter.tensor, analytic: analytic) { nudged in
                var copy = model
                copy.visitParameters { i, tensor in if i == index { tensor = nudged } }
                return try loss(copy, x, initial)
            }
            requireClose(comparison)
        }
        requireClose(try finiteDifferenceCheck("dframes", x, analytic: dx) { try loss(model, $0, initial) })
        requireClose(try finiteDifferenceCheck("dh0", initial.hidden, analytic: dState.hidden) {
            try loss(model, x, ConvLSTMState(hidden: $0, cell: initial.cell))
        })
        requireClose(try finiteDifferenceCheck("dc0", initial.cell, analytic: dState.cell) {
            try loss(model, x, ConvLSTMState(hidden: initial.hidden, cell: $0))
        })
    }

    /// Through a rollout whose inputs mix true frames and fed-back predictions
    /// (sequence 0: half of each, then the truth; sequence 1: closed loop).
    func testRolloutGradientsMatchFiniteDifferences() throws {
        let model = try smoothModel(seed: 3)
        let x = try frames(2, 4, seed: 5)
        let feeds = try Tensor(shape: [2, 2], scalars: [0.5, 1, 0, 0])
        let (predictions, cache) = try model.rolloutTrainingForward(x, feedsTruth: feeds)
        let g = try randomTensor(predictions.dimensions, seed: 6)
        var gradients = model.zeroGradients()
        let dFrames = try model.rolloutBackward(predictionGradient: g, cache: cache, into: &gradients)
        XCTAssertEqual(try model.rollout(x, feedsTruth: feeds), predictions, "the inference rollout is the training one")
        for (index, (parameter, analytic)) in zip(model.namedParameters, gradients.tensors).enumerated() {
            requireClose(try finiteDifferenceCheck("d\(parameter.name)", parameter.tensor, analytic: analytic) { nudged in
                var copy = model
                copy.visitParameters { i, tensor in if i == index { tensor = nudged } }
                return dot(try copy.rollout(x, feedsTruth: feeds), g)
            })
        }
        requireClose(try finiteDifferenceCheck("dframes", x, analytic: dFrames) { dot(try model.rollout($0, feedsTruth: feeds), g) })
    }

    /// One T-step pass equals T one-frame steps, predictions and state; and
    /// the open-loop forecast after the first frame is the sequence pass.
    func testSequencePassEqualsSteppingFrameByFrame() throws {
        let model = try model()
        let x = try frames(2, 4, seed: 8)
        let (sequence, final) = try model.forward(x, from: nil)
        XCTAssertEqual(try model.forward(x, context: LayerContext()), sequence, "as a Layer, from zeros")
        var state = try model.zeroState(batch: 2)
        var steps: [Float] = []
        var perStep: [[Float]] = []
        for t in 0 ..< 4 {
            let frame = try x.timestep(t)
            let (prediction, next) = try model.step(frame, from: state)
            XCTAssertEqual(prediction.dimensions, [2, 5, 7, 1])
            perStep.append(prediction.scalars)
            state = next
        }
        for b in 0 ..< 2 { for t in 0 ..< 4 { steps += perStep[t][b * 35 ..< b * 35 + 35] } }
        requireClose(compare("stepped", actual: steps, expected: sequence.scalars, atol: 1e-6, rtol: 1e-5))
        requireClose(compare("final h", actual: state.hidden.scalars, expected: final.hidden.scalars, atol: 1e-6, rtol: 1e-5))
        requireClose(compare("final c", actual: state.cell.scalars, expected: final.cell.scalars, atol: 1e-6, rtol: 1e-5))
        // Reading frames 1 and 2 after frame 0: the sequence's first three predictions.
        let openLoop = try model.forecastOpenLoop(context: try x.steps(0 ..< 1), actual: try x.steps(1 ..< 4))
        requireClose(compare("open loop", actual: openLoop.scalars, expected: try sequence.steps(0 ..< 3).scalars, atol: 1e-6, rtol: 1e-5))
        // A sequence in two chunks, the second from the first's final state.
        let (first, middle) = try model.forward(try x.steps(0 ..< 2), from: nil)
        let (second, _) = try model.forward(try x.steps(2 ..< 4), from: middle)
        requireClose(compare("chunks", actual: try first.concatenatedSteps(second).scalars, expected: sequence.scalars,
                             atol: 1e-6, rtol: 1e-5))
    }

    /// With the true frame fed at every step the rollout is the sequence pass
    /// over frames 0 ..< S - 1, forward and backward.
    func testTeacherForcedRolloutIsTheSequencePass() throws {
        let model = try model(seed: 4)
        let x = try frames(2, 5, seed: 9)
        let (predictions, cache) = try model.rolloutTrainingForward(x, feedsTruth: try Tensor(shape: [2, 3], repeating: 1))
        let inputs = try x.steps(0 ..< 4)
        let (whole, wholeCache) = try model.trainingForward(inputs, context: LayerContext())
        requireClose(compare("predictions", actual: predictions.scalars, expected: whole.scalars, atol: 1e-6, rtol: 1e-5))
        let g = try randomTensor(whole.dimensions, seed: 10)
        var (stepped, sequence) = (model.zeroGradients(), model.zeroGradients())
        let dRolled = try model.rolloutBackward(predictionGradient: g, cache: cache, into: &stepped)
        let dWhole = try model.backward(outputGradient: g, cache: wholeCache, into: &sequence)
        for (name, (a, b)) in zip(model.namedParameters.map(\.name), zip(stepped.tensors, sequence.tensors)) {
            requireClose(compare("d\(name)", actual: a.scalars, expected: b.scalars, atol: 1e-6, rtol: 1e-4))
        }
        requireClose(compare("dframes", actual: try dRolled.steps(0 ..< 4).scalars, expected: dWhole.scalars, atol: 1e-6, rtol: 1e-4))
    }

    /// Frames of any size: pooling rounds odd sizes up, the decoder crops back.
    func testOddAndTinyFrameSizesRoundTrip() throws {
        for (height, width, stages) in [(5, 7, 2), (1, 1, 3), (2, 3, 2), (9, 4, 3), (8, 8, 3)] {
            let model = try UNetForecaster(frameHeight: height, frameWidth: width, channels: 2,
                                           filters: Array(repeating: 2, count: stages), bottleneckFilters: 3, seed: 1)
            let x = try randomTensor([1, 2, height, width, 2], seed: 2)
            let (y, cache) = try model.trainingForward(x, context: LayerContext())
            XCTAssertEqual(y.dimensions, [1, 2, height, width, 2])
            XCTAssert(y.scalars.allSatisfy { $0 > 0 && $0 < 1 }, "sigmoid outputs")
            var gradients = model.zeroGradients()
            XCTAssertEqual(try model.backward(outputGradient: y, cache: cache, into: &gradients).dimensions, x.dimensions)
            var grid = (height, width)
            for _ in 0 ..< stages { grid = ((grid.0 + 1) / 2, (grid.1 + 1) / 2) }
            XCTAssert(model.bottleneckGrid == grid, "\(height) x \(width): \(model.bottleneckGrid)")
            XCTAssertEqual(try model.zeroState(batch: 3).cell.dimensions, [3, grid.0, grid.1, 3])
            XCTAssertEqual(try model.outputDimensions(forInput: x.dimensions), x.dimensions)
            XCTAssertEqual(try model.activationFootprint(inputDimensions: x.dimensions).outputDimensions, x.dimensions)
        }
    }

    /// The model as built for training, with max pooling, against central
    /// differences of its sequence pass (tanh instead of ReLU, whose kinks
    /// would swamp the check). A nudge of an encoder weight can swap the
    /// maximum of a pooling window whose two largest values lie closer than
    /// the step, where the central difference is wrong: up to one element in
    /// ten of the encoder's may disagree; every other gradient must agree.
    func testMaxPoolingGradientsMatchFiniteDifferencesAwayFromTies() throws {
        let model = try UNetForecaster(frameHeight: 5, frameWidth: 7, channels: 1, filters: [2, 3], bottleneckFilters: 2,
                                       hiddenActivation: .tanh, seed: 7)
        let x = try frames(1, 3, seed: 1)
        let (output, cache) = try model.trainingForward(x, context: LayerContext())
        let g = try randomTensor(output.dimensions, seed: 3)
        var gradients = model.zeroGradients()
        _ = try model.backward(outputGradient: g, cache: cache, into: &gradients)
        for (index, (parameter, analytic)) in zip(model.namedParameters, gradients.tensors).enumerated() {
            var disagreeing: [Int] = []
            for element in 0 ..< parameter.tensor.count {
                func loss(_ step: Float) throws -> Double {
                    var copy = model
                    try copy.updateParameters { i, tensor in if i == index { tensor = try nudged(tensor, element, by: step) } }
                    return dot(try copy.forward(x, context: LayerContext()), g)
                }
                let numeric = Float((try loss(1e-2) - loss(-1e-2)) / 2e-2)
                if abs(numeric - analytic.scalars[element]) > 2e-3 + 2e-2 * abs(numeric) { disagreeing.append(element) }
            }
            let allowed = parameter.name.hasPrefix("encoder.") ? parameter.tensor.count / 10 : 0
            XCTAssertLessThanOrEqual(disagreeing.count, allowed, "d\(parameter.name): elements \(disagreeing) disagree")
        }
    }

    func testShapeErrorsAreTyped() throws {
        let model = try model()
        let x = try frames(2, 3, seed: 11)
        expectShapeMismatch(try model.forward(try randomTensor([2, 3, 5, 6, 1], seed: 1), context: LayerContext()), "frames")
        expectShapeMismatch(try model.forward(try randomTensor([2, 3, 5, 7, 2], seed: 1), from: nil), "frames")
        expectShapeMismatch(try model.forward(try randomTensor([2, 5, 7, 1], seed: 1), context: LayerContext()), "frames")
        expectShapeMismatch(try model.forward(try randomTensor([2, 0, 5, 7, 1], seed: 1), context: LayerContext()), "frames")
        expectShapeMismatch(try model.outputDimensions(forInput: [2, 3, 7, 5, 1]), "frames")
        expectShapeMismatch(try model.activationFootprint(inputDimensions: [2, 3, 7, 5, 1]), "frames")
        expectShapeMismatch(try model.step(try randomTensor([5, 7, 1], seed: 1), from: try model.zeroState(batch: 1)), "frame")
        // A state on another grid or of another batch.
        let wrongGrid = ConvLSTMState(hidden: try Tensor(shape: [2, 3, 3, 2]), cell: try Tensor(shape: [2, 3, 3, 2]))
        XCTAssertThrowsError(try model.forward(x, from: wrongGrid)) { XCTAssertNotNil($0 as? RecurrentError, "\($0)") }
        XCTAssertThrowsError(try model.step(try x.timestep(0), from: try model.zeroState(batch: 3))) {
            XCTAssertNotNil($0 as? RecurrentError, "\($0)")
        }
        XCTAssertThrowsError(try model.forward(x, context: LayerContext(lengths: [3, 2]))) { error in
            guard case .invalidArgument = error as? RecurrentError else { return XCTFail("\(error)") }
        }
        let (_, cache) = try model.trainingForward(x, context: LayerContext())
        var gradients = model.zeroGradients()
        expectShapeMismatch(try model.backward(outputGradient: try Tensor(shape: [2, 2, 5, 7, 1]), cache: cache, into: &gradients),
                            "output gradient")
        var deeper = try UNetForecaster(frameHeight: 5, frameWidth: 7, channels: 1, filters: [2, 3, 3], bottleneckFilters: 2).zeroGradients()
        XCTAssertThrowsError(try model.backward(outputGradient: try Tensor(shape: [2, 3, 5, 7, 1]), cache: cache, into: &deeper)) { error in
            guard case .cacheMismatch = error as? RecurrentError else { return XCTFail("\(error)") }
        }
        // A weight of another shape is refused by name.
        var replaced = model
        XCTAssertThrowsError(try replaced.loadParameters(Dictionary(uniqueKeysWithValues: model.namedParameters.map {
            ($0.name, $0.name == "decoder.1.conv.kernel" ? try! Tensor(shape: [3, 3, 5, 3]) : $0.tensor)
        }))) { XCTAssert("\($0)".contains("decoder.1.conv.kernel"), "\($0)") }
        for (arguments, text) in [(([Int](), 5, 7, 1, 2), "filters"), (([2], 0, 7, 1, 2), "frame size"), (([2], 5, 7, 0, 2), "channels"),
                                  (([2], 5, 7, 1, 0), "bottleneckFilters"), (([2, 0], 5, 7, 1, 2), "filters")] {
            XCTAssertThrowsError(try UNetForecaster(frameHeight: arguments.1, frameWidth: arguments.2, channels: arguments.3,
                                                    filters: arguments.0, bottleneckFilters: arguments.4)) { error in
                guard case .invalidArgument = error as? RecurrentError else { return XCTFail("\(error)") }
                XCTAssert("\(error)".contains(text), "\(error)")
            }
        }
    }

    func testParametersAreNamedByPartAndCounted() throws {
        let model = try model()
        XCTAssertEqual(model.namedParameters.map(\.name), [
            "encoder.0.kernel", "encoder.0.bias", "encoder.1.kernel", "encoder.1.bias",
            "bottleneck.kernel", "bottleneck.recurrent_kernel", "bottleneck.bias",
            "decoder.0.up.kernel", "decoder.0.up.bias", "decoder.0.conv.kernel", "decoder.0.conv.bias",
            "decoder.1.up.kernel", "decoder.1.up.bias", "decoder.1.conv.kernel", "decoder.1.conv.bias",
            "head.kernel", "head.bias",
        ])
        XCTAssertEqual(model.namedParameters.map(\.tensor.dimensions), [
            [3, 3, 1, 2], [2], [3, 3, 2, 3], [3],
            [3, 3, 3, 8], [3, 3, 2, 8], [8],
            [3, 3, 2, 3], [2], [3, 3, 4, 2], [2],       // decoder.0: up from decoder.1's 3 channels, joined 2 + 2
            [3, 3, 3, 2], [3], [3, 3, 6, 3], [3],       // decoder.1: up from the bottleneck's 2, joined 3 + 3
            [1, 1, 2, 1], [1],
        ])
        XCTAssertEqual(model.scalarCount, 20 + 57 + (216 + 144 + 8) + (54 + 2 + 72 + 2) + (54 + 3 + 162 + 3) + 3)
        XCTAssertEqual(model.zeroGradients().tensors.map(\.dimensions), model.namedParameters.map(\.tensor.dimensions))
        // Visiting reaches every parameter in that order, in place.
        var copy = model
        var visited: [Int] = []
        copy.visitParameters { index, tensor in
            visited.append(index)
            tensor.fill(with: Float(index))
        }
        XCTAssertEqual(visited, Array(0 ..< 17))
        XCTAssertEqual(copy.namedParameters.map { $0.tensor.scalars.first }, (0 ..< 17).map(Float.init))
        var loaded = try self.model(seed: 99)
        try loaded.loadParameters(Dictionary(uniqueKeysWithValues: model.namedParameters.map { ($0.name, $0.tensor) }))
        XCTAssertEqual(try loaded.forward(try frames(1, 2, seed: 3), from: nil).output,
                       try model.forward(try frames(1, 2, seed: 3), from: nil).output)
        XCTAssertNotEqual(try self.model(seed: 99).namedParameters.map(\.tensor), model.namedParameters.map(\.tensor), "seeded")
        // Strided downsampling adds a 2 x 2 convolution per stage, named after the encoder's.
        let strided = try smoothModel().namedParameters
        XCTAssertEqual(strided.map(\.name)[4 ..< 8], ["downsampling.0.kernel", "downsampling.0.bias", "downsampling.1.kernel", "downsampling.1.bias"])
        XCTAssertEqual(strided[4].tensor.dimensions, [2, 2, 2, 2])
        XCTAssertEqual(strided.count, 21)
    }

    /// The footprint composes its layers': every retained byte scales with the
    /// batch, and the bottleneck's record and the skips are in it.
    func testFootprintScalesWithTheBatchAndHoldsTheSkips() throws {
        let model = try UNetForecaster(frameHeight: 16, frameWidth: 16, channels: 1, filters: [4, 8], bottleneckFilters: 8)
        let one = try model.activationFootprint(inputDimensions: [1, 5, 16, 16, 1])
        let four = try model.activationFootprint(inputDimensions: [4, 5, 16, 16, 1])
        XCTAssertEqual(four.retainedBytes, 4 * one.retainedBytes)
        XCTAssertEqual(four.forwardFlops, 4 * one.forwardFlops)
        let skips = 4 * 5 * (16 * 16 * 4 + 8 * 8 * 8) * 4
        let bottleneck = try model.bottleneck.activationFootprint(inputDimensions: [4, 5, 4, 4, 8])
        XCTAssertGreaterThan(four.retainedBytes, skips + bottleneck.retainedBytes)
        // A wide bottleneck on one-channel stages: its passes are the peaks,
        // with every skip (in backward, every skip's gradient) alive meanwhile.
        let wide = try UNetForecaster(frameHeight: 16, frameWidth: 16, channels: 1, filters: [1, 1], bottleneckFilters: 64)
        let footprint = try wide.activationFootprint(inputDimensions: [2, 3, 16, 16, 1])
        let recurrence = try wide.bottleneck.activationFootprint(inputDimensions: [2, 3, 4, 4, 1])
        let wideSkips = 4 * 2 * 3 * (16 * 16 + 8 * 8)
        // ActivationFootprint.then keeps the gradient of each later layer's output
        // (4 x 4 x 64; 8 x 8 x 1, 2, 1; 16 x 16 x 1, 2, 1) through the earlier ones' backward.
        let laterGradients = 4 * 2 * 3 * (16 * 64 + 64 * 4 + 256 * 4)
        XCTAssertEqual(footprint.backwardPeakBytes, recurrence.backwardPeakBytes + laterGradients + wideSkips,
                       "the bottleneck's backward, the gradients after it and the skips' gradients")
        XCTAssertEqual(footprint.inferencePeakBytes, recurrence.inferencePeakBytes + 4 * 2 * 3 * 16 + wideSkips,
                       "the bottleneck's inference, its input and the skips")
    }

    /// The Trainer fits it on shifted windows and on closed-loop rollouts: the
    /// training loss falls on a square moving across 8 x 8 frames.
    func testTrainerFitsItOnShiftedWindowsAndRollouts() throws {
        let stack = try FrameStack(stacked: (0 ..< 40).flatMap { t -> [Float] in
            (0 ..< 64).map { pixel in
                let (row, column) = (pixel / 8, pixel % 8)
                return abs(row - 3) <= 1 && abs(column - t % 8) <= 1 ? 0.9 : 0.1
            }
        }, frameShape: try FrameShape(height: 8, width: 8, channels: 1))
        let model = try UNetForecaster(frameHeight: 8, frameWidth: 8, channels: 1, filters: [4, 8], bottleneckFilters: 8, seed: 2)
        let options = TrainingOptions(epochs: 4, batchSize: 8, shuffleSeed: 1, clipping: .globalNorm(maxNorm: 1), layout: .spatial)
        var shifted = try Trainer(model: model, optimizer: try Adam(learningRate: 0.01), loss: BinaryCrossEntropy())
        try shifted.fit(try stack.windows(WindowParameters(sequenceLength: 4, target: .shifted)), options: options)
        var closed = try Trainer(model: model, optimizer: try Adam(learningRate: 0.01), loss: BinaryCrossEntropy(),
                                 closedLoop: try ClosedLoopTraining(sampling: .constant(0.5), seed: 3))
        try closed.fit(try stack.windows(WindowParameters(sequenceLength: 4, target: .nextFrames(count: 2))), options: options)
        for trainer in [shifted, closed] {
            let losses = trainer.history.map(\.trainingLoss)
            XCTAssertLessThan(losses.last!, 0.8 * losses.first!, "\(losses)")
        }
    }

    private func expectShapeMismatch<T>(_ expression: @autoclosure () throws -> T, _ text: String,
                                        file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try expression(), file: file, line: line) { error in
            guard case .shapeMismatch = error as? RecurrentError else { return XCTFail("\(error)", file: file, line: line) }
            XCTAssert("\(error)".contains(text), "\(error)", file: file, line: line)
        }
    }
}

extension Tensor {
    /// Every value plus `offset`.
    fileprivate func shifted(by offset: Float) throws -> Tensor { try Tensor(shape: shape, scalars: scalars.map { $0 + offset }) }

    /// Timesteps `range` of (B, T, ...).
    fileprivate func steps(_ range: Range<Int>) throws -> Tensor {
        let (batch, total) = (dimensions[0], dimensions[1])
        let per = count / (batch * total)
        return try Tensor(shape: Shape([batch, range.count] + dimensions.dropFirst(2)), scalars: (0 ..< batch).flatMap { b in
            Array(scalars[(b * total + range.lowerBound) * per ..< (b * total + range.upperBound) * per])
        })
    }

    /// Timestep `t` of (B, T, ...) as (B, ...).
    fileprivate func timestep(_ t: Int) throws -> Tensor {
        try steps(t ..< t + 1).reshaped(to: Shape([dimensions[0]] + dimensions.dropFirst(2)))
    }

    /// (B, T, ...) and (B, T', ...) as (B, T + T', ...).
    fileprivate func concatenatedSteps(_ other: Tensor) throws -> Tensor {
        let (batch, a, b) = (dimensions[0], dimensions[1], other.dimensions[1])
        let per = count / (batch * a)
        var values: [Float] = []
        for i in 0 ..< batch {
            values += scalars[i * a * per ..< (i + 1) * a * per]
            values += other.scalars[i * b * per ..< (i + 1) * b * per]
        }
        return try Tensor(shape: Shape([batch, a + b] + dimensions.dropFirst(2)), scalars: values)
    }
}

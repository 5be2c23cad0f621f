import FrameSequencing
import Recurrent
import TestSupport
import XCTest

/// The Trainer hands every training step its own dropout seed, as Keras and
/// PyTorch draw new dropout masks every step, and a resumed run the same seeds
/// as the uninterrupted one.
final class TrainerDropoutSeedTests: XCTestCase {
    /// A layer that passes its input through and records each training pass's seed.
    struct SeedRecorder: Layer {
        typealias Gradients = NoGradients
        let seeds: Locked<[UInt64]>
        func outputDimensions(forInput dimensions: [Int]) -> [Int] { dimensions }
        func forward(_ input: Tensor, context: LayerContext) throws -> Tensor { input }
        func trainingForward(_ input: Tensor, context: LayerContext) throws -> (output: Tensor, cache: Int) {
            seeds.withLock { $0.append(context.dropoutSeed) }
            return (input, 0)
        }
        func backward(outputGradient: Tensor, cache: Int, into gradients: inout NoGradients) throws -> Tensor { outputGradient }
    }

    func model(_ seeds: Locked<[UInt64]>) throws -> Sequential {
        try Sequential([SeedRecorder(seeds: seeds), .flatten, .dense(try Dense(inputSize: 4, outputSize: 4, seed: 1)),
                        .reshape([2, 2, 1])])
    }

    func testEveryStepHasItsOwnSeedAndAResumedRunTheSameOnes() throws {
        let frames = try FrameStack(stacked: (0 ..< 48).map { Float($0 % 7) / 7 }, frameShape: try FrameShape(height: 2, width: 2, channels: 1))
        let windows = try frames.windows(WindowParameters(sequenceLength: 1, target: .frameAfter(steps: 1)))
        let options = { (epochs: Int) in TrainingOptions(epochs: epochs, batchSize: 4, shuffleSeed: 3, layout: .spatial) }

        let whole = Locked<[UInt64]>([])
        var trainer = try Trainer(model: model(whole), optimizer: try SGD(learningRate: 0.01), loss: MeanSquaredError())
        try trainer.fit(windows, options: options(2))
        let seeds = whole.withLock { $0 }
        XCTAssertEqual(seeds.count, trainer.step)
        XCTAssertEqual(Set(seeds).count, seeds.count, "every step draws its own dropout masks")
        XCTAssertEqual(seeds.first, Trainer<Sequential, SGD>.dropoutSeed(step: 0))

        let first = Locked<[UInt64]>([]), second = Locked<[UInt64]>([])
        var interrupted = try Trainer(model: model(first), optimizer: try SGD(learningRate: 0.01), loss: MeanSquaredError())
        try interrupted.fit(windows, options: options(1))
        var resumed = try Trainer(model: model(second), optimizer: try SGD(learningRate: 0.01), loss: MeanSquaredError())
        try resumed.resume(from: interrupted.checkpoint())
        try resumed.fit(windows, options: options(2 - resumed.epoch))   // epochs still to run, as the Trainer counts them
        XCTAssertEqual(first.withLock { $0 } + second.withLock { $0 }, seeds, "a resumed run continues the seeds")
    }
}

import FrameSequencing
import Recurrent
import XCTest

/// One small training run that the resume tests interrupt and finish: an
/// FC-LSTM on a sine wave with a validation split, a shuffle, clipping, Adam
/// and a per-step warmup-then-cosine schedule, so every piece of the position
/// (epoch, step, batches done, loss sum, history) shows in the result.
enum ResumeRun {
    typealias Model = CNNLSTM
    /// Epochs of the whole run.
    static let epochs = 3
    /// 68 windows: 14 held out, 54 for training in 7 batches of 8 a epoch.
    static let batchesPerEpoch = 7

    static func windows() throws -> FrameWindows {
        let values = (0 ..< 80).map { 0.5 + 0.4 * sin(Float($0) * 0.3) }
        let frames = try FrameStack(stacked: values, frameShape: try FrameShape(height: 1, width: 1, channels: 1))
        return try frames.windows(WindowParameters(sequenceLength: 12, target: .frameAfter(steps: 1)))
    }

    /// A fresh trainer; `seed` and `learningRate` other than the defaults make
    /// one whose every value a resume must replace.
    static func trainer(seed: UInt64 = 2, hiddenSize: Int = 6, learningRate: Double = 0.01) throws -> Trainer<Model, Adam> {
        let model = try CNNLSTM(features: TimeDistributed(try Sequential([.flatten])),
                                lstm: try LSTM(inputSize: 1, hiddenSize: hiddenSize, seed: seed),
                                head: try Dense(inputSize: hiddenSize, outputSize: 1, seed: seed + 1))
        let schedule = try LinearWarmup(startFactor: 0.1, duration: 5, unit: .step)
            .followed(by: try CosineAnnealing(period: 16, minimum: 1e-3, unit: .step), after: 5, unit: .step)
        return try Trainer(model: model, optimizer: try Adam(learningRate: learningRate), loss: MeanSquaredError(),
                           schedule: schedule)
    }

    static func options(epochs: Int = epochs, checkpoint: CheckpointPolicy? = nil) -> TrainingOptions {
        TrainingOptions(epochs: epochs, batchSize: 8, shuffleSeed: 11, validationFraction: 0.2,
                        clipping: .globalNorm(maxNorm: 1), checkpoint: checkpoint)
    }

    /// The run without interruption.
    static func uninterrupted() throws -> Trainer<Model, Adam> {
        var trainer = try trainer()
        try trainer.fit(try windows(), options: options())
        return trainer
    }

    /// The history without the seconds, which differ from run to run.
    static func timeless(_ history: [EpochSummary]) -> [EpochSummary] {
        history.map { var summary = $0; summary.seconds = 0; return summary }
    }

    /// Fails unless `resumed` and `reference` hold bit for bit the same
    /// parameters, optimizer state, position and history (but the seconds).
    static func assertIdentical(_ resumed: Trainer<Model, Adam>, _ reference: Trainer<Model, Adam>, _ label: String,
                                file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual([resumed.epoch, resumed.step, resumed.batchesDoneInEpoch],
                       [reference.epoch, reference.step, reference.batchesDoneInEpoch], "\(label): position", file: file, line: line)
        XCTAssertEqual(resumed.model.namedParameters.map(\.name), reference.model.namedParameters.map(\.name), file: file, line: line)
        for (a, b) in zip(resumed.model.namedParameters, reference.model.namedParameters) {
            XCTAssertEqual(a.tensor.scalars.map(\.bitPattern), b.tensor.scalars.map(\.bitPattern),
                           "\(label): parameter \(a.name)", file: file, line: line)
        }
        let (state, expected) = (resumed.optimizer.exportState(), reference.optimizer.exportState())
        XCTAssertEqual(state.tensors.keys.sorted(), expected.tensors.keys.sorted(), file: file, line: line)
        for (name, tensor) in expected.tensors {
            XCTAssertEqual(state.tensors[name]?.scalars.map(\.bitPattern), tensor.scalars.map(\.bitPattern),
                           "\(label): optimizer state \(name)", file: file, line: line)
        }
        XCTAssertEqual(state.scalars.mapValues(\.bitPattern), expected.scalars.mapValues(\.bitPattern),
                       "\(label): optimizer scalars", file: file, line: line)
        XCTAssertEqual(timeless(resumed.history), timeless(reference.history), "\(label): history", file: file, line: line)
    }
}

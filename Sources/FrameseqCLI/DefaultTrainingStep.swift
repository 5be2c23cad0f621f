import Foundation
import FrameSequencing
import Recurrent

/// One step of the run `frameseq train --frames PATH` plans with no size
/// options, on a series of moving digits: what the bench's `train.seed3`
/// times (batch, patch and model as the plan chooses them).
package struct DefaultTrainingStep {
    /// Fills the next batch and trains one optimizer step on it.
    package let run: () throws -> Void
    /// The plan's figures: parameters, patch, batch, estimated peak bytes.
    package let parameterCount: Int, patch: Int, batchSize: Int, estimatedPeakBytes: Int
    /// Steps of one epoch of the series.
    package let stepsPerEpoch: Int
    /// Floating-point operations of one step (forward and backward).
    package let flopsPerStep: Double

    /// The default ConvLSTM run on `count` frames of `size` x `size` x
    /// `channels` moving digits (the last eighth held out, as `train` does),
    /// planned within the memory available.
    package init(count: Int, size: Int, channels: Int) throws {
        let pixels = try MovingDigits(size: size, digitCount: 2, seed: 1, channels: channels).pixels(count: count)
        let frame = try FrameShape(height: size, width: size, channels: channels)
        let frames = try FrameStack(stacked: pixels, frameShape: frame, scale: 1.0 / 255)
        let header = SeriesHeader(count: count, frame: frame, isBytes: true, valueBytes: 1)
        let (context, held) = (10, max(10, count / 8))
        let planner = Planner(kind: .convLSTM, header: header, heldOut: held, context: context, windowStride: 1, steps: 10,
                              kernelSize: 3, seed: 0, budget: try MemoryBudget(option: nil))
        let plan = try planner.plan(SizeOptions())
        let train = try frames.frames(0 ..< count - held)
        let seen = try plan.settings.patching.map { try train.patched($0) } ?? train
        let windows = try seen.windows(WindowParameters(sequenceLength: context, target: plan.settings.trainingTarget))
        run = try Self.step(try plan.settings.makeModel(), windows: windows, batchSize: plan.batchSize,
                             learningRate: plan.settings.kind.defaultLearningRate)
        (parameterCount, patch, batchSize) = (plan.footprint.parameterCount, plan.settings.patch, plan.batchSize)
        (estimatedPeakBytes, stepsPerEpoch) = (plan.footprint.peakBytes, plan.footprint.stepsPerEpoch)
        flopsPerStep = plan.footprint.flopsPerStep
    }

    /// A step closure over a trainer of `model` (Adam, binary cross-entropy,
    /// clipping, as `train` runs it) that cycles through the shuffled batches.
    private static func step<Model: ForecastingModel>(_ model: Model, windows: FrameWindows, batchSize: Int,
                                                      learningRate: Double) throws
        -> () throws -> Void {
        var trainer = try Trainer(model: model, optimizer: try Adam(learningRate: learningRate), loss: BinaryCrossEntropy())
        let batches = try windows.batches(size: batchSize, shuffleSeed: 0)
        var buffer = try batches.makeBuffer(layout: .spatial)
        var gradients = model.zeroGradients()
        var next = 0
        return {
            try batches.fill(next % batches.count, into: &buffer)
            next += 1
            try trainer.trainOnBatch(buffer, gradients: &gradients, clipping: .globalNorm(maxNorm: 1))
        }
    }
}

import Foundation
import FrameSequencing
import Recurrent

/// Mean squared error over a set of frames, the peak signal-to-noise ratio it
/// implies for values in 0...1: `10 * log10(1 / mse)` (computed from the mean
/// error, so one perfect frame cannot make it infinite), and the frames' mean
/// SSIM (nil for frames under 11 x 11 pixels, the SSIM window's side).
struct Score: Sendable {
    var mse: Double
    var ssim: Double?
    var psnr: Double { mse > 0 ? 10 * log10(1 / mse) : .infinity }
}

/// A forecaster's (or baseline's) scores on the held-out frames.
struct Evaluation: Sendable {
    /// Every held-out frame predicted from the `context` true frames before it.
    var oneStep: Score
    /// `steps` frames predicted closed-loop (each prediction fed back) from
    /// non-overlapping starts, averaged over all steps.
    var closedLoop: Score
    /// The closed-loop error at each step ahead (1...steps).
    var closedLoopByStep: [Double]
    /// The closed-loop SSIM at each step ahead (1...steps), averaged over the
    /// starts; nil for frames under 11 x 11 pixels.
    var closedLoopSSIMByStep: [Double]?
    /// The closed-loop forecast from the first start (steps, H, W, C), for pictures.
    var sample: Tensor
}

/// The held-out frames as windows: `context` frames, then the frame(s) to predict.
struct HeldOutSet {
    let oneStep: FrameWindows
    let closedLoop: FrameWindows
    let steps: Int

    /// `test` is a split's test stack (its first `context` frames are context only).
    init(test: FrameStack, context: Int, steps: Int) throws {
        oneStep = try test.windows(WindowParameters(sequenceLength: context, target: .frameAfter(steps: 1)))
        let available = test.count - context
        guard available >= steps else {
            throw CLIError.usage("a \(steps)-step forecast needs at least \(steps) held-out frames, there are \(available); "
                + "use a smaller --steps or hold out more frames")
        }
        closedLoop = try test.windows(WindowParameters(sequenceLength: context, sequenceStride: steps,
                                                       target: .nextFrames(count: steps)))
        self.steps = steps
    }

    /// The true frames of the first closed-loop start (steps, H, W, C).
    func firstTruth() throws -> Tensor {
        try closedLoop.batches(size: 1).batch(0, layout: .spatial).targets!.reshaped(to: sampleShape)
    }

    var sampleShape: Shape {
        let frame = closedLoop.frames.frameShape
        return Shape([steps, frame.height, frame.width, frame.channels])
    }

    /// Scores `predict`, which maps a batch of contexts (B, T, H, W, C) and a
    /// number of steps to predictions (B, steps, H, W, C).
    func evaluate(batchSize: Int = 16, _ predict: (Tensor, Int) throws -> Tensor) throws -> Evaluation {
        let frame = oneStep.frames.frameShape
        var squared = 0.0, count = 0, similarity = 0.0
        let oneStepBatches = try oneStep.batches(size: batchSize)
        for index in oneStepBatches.indices {
            let batch = try oneStepBatches.batch(index, layout: .spatial)
            let prediction = try predict(batch.inputs, 1)
            squared += try sumOfSquares(prediction, batch.targets!)
            count += prediction.count
            similarity += try frameSimilarities(prediction, batch.targets!, frame: frame)?.reduce(0, +) ?? 0
        }
        let measuresSSIM = Self.measuresSSIM(frame)
        let oneStepScore = Score(mse: squared / Double(count),
                                 ssim: measuresSSIM ? similarity / Double(oneStep.count) : nil)

        var byStep = [Double](repeating: 0, count: steps), ssimByStep = [Double](repeating: 0, count: steps)
        var sample: Tensor?
        let loopBatches = try closedLoop.batches(size: batchSize)
        for index in loopBatches.indices {
            let batch = try loopBatches.batch(index, layout: .spatial)
            let prediction = try predict(batch.inputs, steps)
            let truth = batch.targets!
            guard prediction.count == truth.count else {
                throw CLIError.failed("a forecast has shape \(prediction.dimensions), expected \(truth.dimensions)")
            }
            let perStep = prediction.count / (batch.inputs.dimensions[0] * steps)
            prediction.withUnsafeBufferPointer { p in
                truth.withUnsafeBufferPointer { t in
                    for i in 0 ..< p.count {
                        let d = Double(p[i] - t[i])
                        byStep[(i / perStep) % steps] += d * d
                    }
                }
            }
            // Frames in (start, step) order: frame i is step i % steps ahead.
            for (i, value) in (try frameSimilarities(prediction, truth, frame: frame) ?? []).enumerated() {
                ssimByStep[i % steps] += value
            }
            if sample == nil { sample = try prediction.slice(0 ..< 1).reshaped(to: sampleShape) }
        }
        let perStepCount = Double(closedLoop.count * closedLoop.featureCount)
        byStep = byStep.map { $0 / perStepCount }
        let ssim = measuresSSIM ? ssimByStep.map { $0 / Double(closedLoop.count) } : nil
        return Evaluation(oneStep: oneStepScore,
                          closedLoop: Score(mse: byStep.reduce(0, +) / Double(steps),
                                            ssim: ssim.map { $0.reduce(0, +) / Double(steps) }),
                          closedLoopByStep: byStep, closedLoopSSIMByStep: ssim, sample: sample!)
    }

    /// Whether SSIM is defined for frames of `frame`: its 11 x 11 window must fit.
    static func measuresSSIM(_ frame: FrameShape) -> Bool {
        min(frame.height, frame.width) >= StructuralSimilarity.windowSize
    }
}

/// The SSIM of each predicted frame against its true frame, in order, for
/// `prediction` and `truth` holding whole frames of `frame` (any leading axes,
/// equal counts); nil when the frames are smaller than SSIM's 11 x 11 window.
/// Values are in model units (0...1), so the data range is 1.
func frameSimilarities(_ prediction: Tensor, _ truth: Tensor, frame: FrameShape) throws -> [Double]? {
    guard HeldOutSet.measuresSSIM(frame) else { return nil }
    guard prediction.count == truth.count, prediction.count % frame.featureCount == 0 else {
        throw CLIError.failed("a prediction has shape \(prediction.dimensions), expected \(truth.dimensions)")
    }
    let shape = Shape([prediction.count / frame.featureCount, frame.height, frame.width, frame.channels])
    return try StructuralSimilarity().evaluateFrames(try prediction.reshaped(to: shape), try truth.reshaped(to: shape))
}

/// `sum((a - b)^2)` over two tensors of equal size (shapes may differ by reshaping).
func sumOfSquares(_ a: Tensor, _ b: Tensor) throws -> Double {
    guard a.count == b.count else {
        throw CLIError.failed("a prediction has shape \(a.dimensions), expected \(b.dimensions)")
    }
    return a.withUnsafeBufferPointer { x in
        b.withUnsafeBufferPointer { y in
            var total = 0.0
            for i in 0 ..< x.count { let d = Double(x[i] - y[i]); total += d * d }
            return total
        }
    }
}

/// Repeats the last context frame (persistence).
func persistence(contexts: Tensor, steps: Int) throws -> Tensor {
    let d = contexts.dimensions
    let (batch, timesteps, frame) = (d[0], d[1], d[2] * d[3] * d[4])
    var out = [Float](repeating: 0, count: batch * steps * frame)
    contexts.withUnsafeBufferPointer { c in
        for b in 0 ..< batch {
            let last = (b * timesteps + timesteps - 1) * frame
            for s in 0 ..< steps { for i in 0 ..< frame { out[(b * steps + s) * frame + i] = c[last + i] } }
        }
    }
    return try Tensor(shape: Shape([batch, steps, d[2], d[3], d[4]]), scalars: out)
}

/// Predicts `mean` (one frame, H * W * C values) for every step.
func constantFrame(_ mean: [Float], contexts: Tensor, steps: Int) throws -> Tensor {
    let d = contexts.dimensions
    let scalars = [[Float]](repeating: mean, count: d[0] * steps).flatMap { $0 }
    return try Tensor(shape: Shape([d[0], steps, d[2], d[3], d[4]]), scalars: scalars)
}

/// The per-pixel mean of `frames`.
func meanFrame(_ frames: FrameStack) throws -> [Float] {
    var total = [Double](repeating: 0, count: frames.featureCount)
    for index in 0 ..< frames.count {
        let frame = try frames.frame(at: index).scalars
        for i in frame.indices { total[i] += Double(frame[i]) }
    }
    return total.map { Float($0 / Double(frames.count)) }
}

/// The scores of one closed-loop forecast against the true frames that
/// followed: `prediction` and `truth` hold the same number of whole frames of
/// `frame`, step 1 first. Each step's MSE and SSIM, and their means.
func closedLoopScores(_ prediction: Tensor, _ truth: Tensor, frame: FrameShape) throws -> ClosedLoopScores {
    guard prediction.count == truth.count, truth.count % frame.featureCount == 0 else {
        throw CLIError.failed("a forecast has shape \(prediction.dimensions), expected \(truth.dimensions)")
    }
    let steps = truth.count / frame.featureCount
    let (predicted, expected) = (prediction.scalars, truth.scalars)
    let mseByStep = (0 ..< steps).map { step in
        (step * frame.featureCount ..< (step + 1) * frame.featureCount)
            .reduce(0.0) { $0 + pow(Double(predicted[$1] - expected[$1]), 2) } / Double(frame.featureCount)
    }
    let ssimByStep = try frameSimilarities(prediction, truth, frame: frame)
    let mse = mseByStep.reduce(0, +) / Double(max(steps, 1))
    return ClosedLoopScores(steps: steps, mse: mse, psnr: jsonPSNR(Score(mse: mse).psnr),
                            ssim: ssimByStep.map { $0.reduce(0, +) / Double(max(steps, 1)) },
                            mseByStep: mseByStep, ssimByStep: ssimByStep)
}

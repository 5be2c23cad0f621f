import Foundation
import FrameSequencing
import Recurrent

/// `frameseq demo --benchmark`: the field's standard test of next-frame
/// forecasters, Moving MNIST 10 -> 10 as OpenSTL runs it, on the built-in
/// moving digits: fresh 20-frame sequences of two digits for every pass
/// over the data, 10 frames read and the next 10 forecast, scored on held-out
/// sequences as OpenSTL scores them: the squared error summed over a frame's
/// pixels (64 x 64 values in 0...1), averaged over the 10 forecast frames and
/// the sequences ("MSE per frame"), and SSIM.
///
/// The model is Shi et al.'s ConvLSTM encoder-forecaster trained on the
/// horizon directly (its forecaster runs the 10 steps from the encoder's
/// states), on frames seen through `patch` x `patch` space-to-depth patches,
/// trained for a wall-clock budget.
struct BenchmarkPlan: Hashable, Sendable {
    var minutes = 30.0
    /// Sequences per draw; a new draw is made for every pass.
    var sequencesPerDraw = 2000
    var testSequences = 1000
    var patch = 4
    var filters = [32, 32]
    var batchSize = 8
    var learningRate = 2e-3
    /// Frames read and frames forecast per sequence.
    static let (context, horizon) = (10, 10)
}

/// What `--benchmark` measured, written as `benchmark.json`.
struct BenchmarkResult: Codable {
    struct Scores: Codable {
        /// Squared error summed over a frame's values, averaged over frames and sequences.
        var msePerFrame: Double
        var ssim: Double
        var msePerFrameByStep: [Double]
        var ssimByStep: [Double]
        enum CodingKeys: String, CodingKey {
            case msePerFrame = "mse_per_frame", ssim, msePerFrameByStep = "mse_per_frame_by_step", ssimByStep = "ssim_by_step"
        }
    }
    var protocolDescription: String
    var settings: [String: String]
    var trainingSeconds: Double
    var steps: Int
    var sequencesSeen: Int
    var model: Scores
    var persistence: Scores
    var meanFrame: Scores
    enum CodingKeys: String, CodingKey {
        case protocolDescription = "protocol", settings, trainingSeconds = "training_seconds", steps
        case sequencesSeen = "sequences_seen", model, persistence, meanFrame = "mean_frame"
    }
}

extension DemoCommand {
    func runBenchmark(_ plan: BenchmarkPlan, console: Console) throws {
        let (context, horizon) = (BenchmarkPlan.context, BenchmarkPlan.horizon)
        let length = context + horizon
        let digits = MovingDigits(size: size, digitCount: 2, seed: seed, channels: channels)
        let frame = try FrameShape(height: size, width: size, channels: channels)
        let patching = try SpaceToDepth(blockSize: plan.patch)
        let seen = try patching.patchedShape(of: frame)
        func stack(_ count: Int, draw: UInt64) throws -> FrameStack {
            try FrameStack(stacked: try digits.sequences(count: count, length: length, draw: draw), frameShape: frame, scale: 1.0 / 255)
        }
        // One window per sequence: its first 10 frames, the next 10 the target.
        let parameters = WindowParameters(sequenceLength: context, sequenceStride: length, target: .nextFrames(count: horizon))
        func windows(draw: UInt64) throws -> FrameWindows {
            try (try stack(plan.sequencesPerDraw, draw: draw)).patched(patching).windows(parameters)
        }
        try makeDirectory(output)
        console.print("""
            frameseq demo --benchmark: moving digits \(size)x\(size)x\(channels), \(context) -> \(horizon) (OpenSTL's Moving MNIST protocol)
            training for \(minutes(plan.minutes * 60)) on fresh sequences (\(plan.sequencesPerDraw) a draw), \
            scoring \(plan.testSequences) held-out sequences; writing to \(output)/
            """)
        var model = try ConvLSTMForecaster(frameHeight: seen.height, frameWidth: seen.width, channels: seen.channels,
                                           filters: plan.filters, horizon: horizon, outputActivation: .sigmoid, seed: seed)
        let first = try windows(draw: 0)
        let mean = try meanFrame(try stack(plan.sequencesPerDraw, draw: 0))
        let patchedMean = try patching.apply(to: try Tensor(shape: [size, size, channels], scalars: mean)).scalars
        model = try initializingOutputPrior(model, mean: patchedMean) as! ConvLSTMForecaster

        var trainer = try Trainer(model: model, optimizer: Adam(learningRate: plan.learningRate), loss: BinaryCrossEntropy())
        let options = TrainingOptions(epochs: 1, batchSize: plan.batchSize, shuffleSeed: seed, clipping: .globalNorm(maxNorm: 1),
                                      showsProgress: !quiet, layout: .spatial)
        let stepSeconds = try trainer.measureStepSeconds(on: first, options: options)
        let budget = plan.minutes * 60
        let started = Date()
        trainer.schedule = TimeBudgetSchedule(started: started, seconds: budget)
        console.print("\(model.scalarCount) parameters, frames seen as \(seen.height)x\(seen.width)x\(seen.channels), batch "
            + "\(plan.batchSize); a step takes \(String(format: "%.2f", stepSeconds)) s, so about \(Int(budget / stepSeconds)) steps")

        var (draw, sequences) = (UInt64(0), 0)
        var data = first
        training: while true {
            let before = trainer.step
            try trainer.fit(data, options: options) { event in
                if Interruption.requested { return false }
                if case .step = event { return Date().timeIntervalSince(started) < budget }
                return true
            }
            sequences += (trainer.step - before) * plan.batchSize
            if Date().timeIntervalSince(started) >= budget || Interruption.requested { break training }
            draw += 1
            data = try windows(draw: draw)
            if let last = trainer.history.last {
                console.print(String(format: "draw %d: loss %.4f, %@ of %@", draw, last.trainingLoss,
                                     minutes(Date().timeIntervalSince(started)), minutes(budget)))
            }
        }
        let trained = Date().timeIntervalSince(started)
        console.print("trained \(trainer.step) steps (\(sequences) sequences) in \(minutes(trained)); scoring")

        // Held-out sequences: a draw no training pass makes.
        let test = try stack(plan.testSequences, draw: UInt64.max).windows(parameters)
        let forecaster = trainer.model
        let scores = try score(test, patching: patching) { contexts in
            try patching.invert(try forecaster.forward(try patching.apply(to: contexts)), height: size, width: size)
        }
        let persistenceScores = try score(test, patching: patching) { try persistence(contexts: $0, steps: horizon) }
        let meanScores = try score(test, patching: patching) { try constantFrame(mean, contexts: $0, steps: horizon) }
        let result = BenchmarkResult(
            protocolDescription: "\(context) -> \(horizon) on fresh sequences of the built-in moving digits (not MNIST), "
                + "OpenSTL's scoring: MSE per frame = squared error summed over the frame's values, mean over frames and sequences",
            settings: ["minutes": "\(plan.minutes)", "sequences_per_draw": "\(plan.sequencesPerDraw)",
                       "test_sequences": "\(plan.testSequences)", "patch": "\(plan.patch)",
                       "filters": plan.filters.map(String.init).joined(separator: ","), "batch_size": "\(plan.batchSize)",
                       "learning_rate": "\(plan.learningRate)", "seed": "\(seed)", "size": "\(size)", "channels": "\(channels)"],
            trainingSeconds: trained, steps: trainer.step, sequencesSeen: sequences,
            model: scores, persistence: persistenceScores, meanFrame: meanScores)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try writeFile(try encoder.encode(result), to: "\(output)/benchmark.json")
        try trainer.checkpoint(metadata: result.settings.reduce(into: [:]) { $0["benchmark." + $1.key] = $1.value })
            .write(to: "\(output)/benchmark.safetensors")
        console.print(benchmarkTable(result))
        console.print("Wrote \(output)/benchmark.json and the model, \(output)/benchmark.safetensors.")
    }

    /// OpenSTL's scores of `forecast` over `windows` (contexts to the next 10 frames).
    private func score(_ windows: FrameWindows, patching: SpaceToDepth, forecast: (Tensor) throws -> Tensor)
        throws -> BenchmarkResult.Scores {
        let horizon = BenchmarkPlan.horizon
        let batches = try windows.batches(size: 16)
        var buffer = try batches.makeBuffer(layout: .spatial)
        var (squared, similarity) = ([Double](repeating: 0, count: horizon), [Double](repeating: 0, count: horizon))
        let ssim = StructuralSimilarity()
        for index in batches.indices {
            try batches.fill(index, into: &buffer)
            let predicted = try forecast(buffer.inputs)
            let truth = buffer.targets!
            let count = buffer.count, per = size * size * channels
            let (p, t) = (predicted.scalars, truth.scalars)
            for b in 0 ..< count {
                for k in 0 ..< horizon {
                    let start = (b * horizon + k) * per
                    var sum = 0.0
                    for i in start ..< start + per { sum += Double(p[i] - t[i]) * Double(p[i] - t[i]) }
                    squared[k] += sum
                }
            }
            let shape = Shape([count * horizon, size, size, channels])
            let frames = try ssim.evaluateFrames(try Tensor(shape: shape, scalars: Array(p[0 ..< count * horizon * per])),
                                                 try Tensor(shape: shape, scalars: Array(t[0 ..< count * horizon * per])))
            for (n, value) in frames.enumerated() { similarity[n % horizon] += value }
        }
        let n = Double(windows.count)
        let (mse, ssimByStep) = (squared.map { $0 / n }, similarity.map { $0 / n })
        return .init(msePerFrame: mse.reduce(0, +) / Double(horizon), ssim: ssimByStep.reduce(0, +) / Double(horizon),
                     msePerFrameByStep: mse, ssimByStep: ssimByStep)
    }
}

/// The rate over a wall-clock budget, as the demo's schedule is over its
/// steps: a linear warm-up from a tenth over the first 2% of the time, then a
/// cosine to a tenth by the end (and a tenth after it). The steps a budget
/// holds depend on the machine and what else runs on it, so the schedule
/// follows the clock rather than a step count planned beforehand.
struct TimeBudgetSchedule: LearningRateSchedule {
    let started: Date
    let seconds: Double

    func learningRate(initial: Double, at position: SchedulePosition) -> Double {
        let progress = min(max(Date().timeIntervalSince(started) / seconds, 0), 1)
        let warmup = 0.02
        if progress < warmup { return initial * (0.1 + 0.9 * progress / warmup) }
        let t = (progress - warmup) / (1 - warmup)
        return initial / 10 + (initial - initial / 10) * (1 + cos(Double.pi * t)) / 2
    }
}

/// The benchmark's result as a table, beside OpenSTL's published ConvLSTM.
func benchmarkTable(_ result: BenchmarkResult) -> String {
    func row(_ name: String, _ scores: BenchmarkResult.Scores) -> String {
        name.padding(toLength: 14, withPad: " ", startingAt: 0) + String(format: "%12.2f %8.4f   ", scores.msePerFrame, scores.ssim)
            + scores.msePerFrameByStep.map { String(format: "%6.1f", $0) }.joined(separator: " ")
    }
    return """
        10 -> 10, \(result.settings["test_sequences"] ?? "?") held-out sequences:
        model          MSE/frame     SSIM   MSE/frame by step ahead (1..10)
        \(row("ConvLSTM", result.model))
        \(row("persistence", result.persistence))
        \(row("mean frame", result.meanFrame))
        (OpenSTL's ConvLSTM-S on Moving MNIST: 29.80 MSE/frame, SSIM 0.929, after 200 epochs on a GPU.)
        """
}

import FrameSequencing

/// A forecaster that trains through its own predictions: one
/// ``NextFrameForecaster/step(_:from:)`` keeping what backward needs, and that
/// step's backward with gradients into and out of the carried state. With it
/// a model trains on closed-loop rollouts (``rolloutTrainingForward(_:feedsTruth:context:)``),
/// the loss reaching back through every prediction it was fed, as PredRNN and
/// OpenSTL train recurrent forecasters with scheduled sampling.
///
/// ``ConvLSTMForecaster``, ``CNNLSTMForecaster`` (and so an FC-LSTM built as one),
/// ``CNNGRUForecaster`` (an FC-GRU) and ``UNetForecaster`` conform.
public protocol ClosedLoopTrainable: Layer, NextFrameForecaster {
    /// What ``trainingStep(_:from:context:)`` keeps for backward.
    associatedtype StepCache: Sendable

    /// ``NextFrameForecaster/step(_:from:)`` keeping what backward needs:
    /// reads `frame` (B, H, W, C) after `state` and predicts the next frame (B, H, W, C).
    func trainingStep(_ frame: Tensor, from state: ForecastState, context: LayerContext) throws
        -> (prediction: Tensor, state: ForecastState, cache: StepCache)

    /// Backward of `L = sum(prediction * predictionGradient) + <state, stateGradient>`
    /// (no state term when nil): adds every parameter's gradient into
    /// `gradients` and returns dL/dframe and dL/d(the state the step started from).
    func backwardStep(predictionGradient: Tensor, stateGradient: ForecastState?, cache: StepCache,
                      into gradients: inout Gradients) throws -> (frame: Tensor, state: ForecastState)
}

/// What ``ClosedLoopTrainable/rolloutTrainingForward(_:feedsTruth:context:)`` keeps for backward.
public struct RolloutCache<Model: ClosedLoopTrainable>: Sendable {
    let steps: [Model.StepCache]
    /// Per input step s = 1 ..< S - 1, the mix per sequence (1: the true frame).
    let feedsTruth: [[Float]]
    /// (B, S, H, W, C) of the frames rolled over.
    let framesShape: [Int]
}

extension ClosedLoopTrainable {
    /// Runs over `frames` (B, S, H, W, C), S >= 2, one frame at a time and
    /// returns the S - 1 predictions (B, S - 1, H, W, C), prediction `s` being
    /// of frame `s + 1`. The model reads frame 0 first; its input at step
    /// `s >= 1` is `m * frame s + (1 - m) * (its prediction of frame s)` with
    /// `m = feedsTruth[b, s - 1]`: 1 feeds the true frame (teacher forcing), 0
    /// the model's own prediction (closed loop), per sequence and step, as
    /// PredRNN's `mask_true`. Scheduled sampling draws the mask
    /// (``ClosedLoopTraining/feedsTruth(batch:frames:contextLength:step:)``).
    ///
    /// ```swift
    /// // 10 frames of context, then 10 steps on the model's own predictions:
    /// let frames = ...                                            // (B, 20, H, W, C)
    /// var mask = [Float](repeating: 1, count: B * 18)
    /// for b in 0 ..< B { for s in 9 ..< 18 { mask[b * 18 + s] = 0 } }
    /// let (predictions, cache) = try model.rolloutTrainingForward(frames, feedsTruth: Tensor(shape: [B, 18], scalars: mask))
    /// var gradients = model.zeroGradients()
    /// _ = try model.rolloutBackward(predictionGradient: dPredictions, cache: cache, into: &gradients)
    /// ```
    ///
    /// - Throws: `shapeMismatch` for frames that are not (B, S >= 2, H, W, C),
    ///   a mask that is not (B, S - 2), or predictions that do not have the
    ///   frames' shape (they could not be fed back); `invalidArgument` for mask
    ///   values outside 0...1 or lengths in `context`.
    public func rolloutTrainingForward(_ frames: Tensor, feedsTruth: Tensor, context: LayerContext = LayerContext()) throws
        -> (predictions: Tensor, cache: RolloutCache<Self>) {
        let mask = try Self.rolloutMask(frames, feedsTruth)
        guard context.lengths == nil else {
            throw RecurrentError.invalidArgument(name: "Rollout context lengths", expected: "none (every sequence rolls over every frame)",
                                                 actual: "\(context.lengths!.count) lengths")
        }
        var (state, input) = (try zeroState(batch: frames.dimensions[0]), try timestep(frames, 0))
        var (predictions, caches) = ([Tensor](), [StepCache]())
        for s in 0 ..< frames.dimensions[1] - 1 {
            if s > 0 { input = try mixedFrames(truth: try timestep(frames, s), prediction: predictions[s - 1], feedsTruth: mask[s - 1]) }
            let step = try trainingStep(input, from: state, context: Self.stepContext(context, s))
            try RecurrentError.requireShape(step.prediction, input.dimensions, "Prediction to feed back")
            state = step.state
            predictions.append(step.prediction)
            caches.append(step.cache)
        }
        return (try stackTimesteps(predictions), RolloutCache(steps: caches, feedsTruth: mask, framesShape: frames.dimensions))
    }

    /// Backward of `L = sum(predictions * predictionGradient)` through the
    /// whole rollout: every fed-back prediction passes on the gradient of the
    /// steps that read it (scaled by `1 - m`). Adds every parameter's gradient
    /// into `gradients` and returns dL/dframes (B, S, H, W, C) (the last frame,
    /// never read, gets zeros).
    ///
    /// - Throws: `shapeMismatch` for a gradient that is not the predictions' shape.
    @discardableResult
    public func rolloutBackward(predictionGradient: Tensor, cache: RolloutCache<Self>, into gradients: inout Gradients) throws -> Tensor {
        let shape = cache.framesShape
        let count = shape[1] - 1
        try RecurrentError.requireShape(predictionGradient, [shape[0], count] + shape.dropFirst(2), "Rollout prediction gradient")
        var frameGradients = [try Tensor(shape: Shape([shape[0]] + shape.dropFirst(2)))]   // the last frame's
        var (stateGradient, inputGradient) = (nil as ForecastState?, nil as Tensor?)
        for s in (0 ..< count).reversed() {
            var delta = try timestep(predictionGradient, s)
            if let inputGradient { delta = try addingFedBack(inputGradient, to: delta, feedsTruth: cache.feedsTruth[s]) }
            let step = try backwardStep(predictionGradient: delta, stateGradient: stateGradient, cache: cache.steps[s], into: &gradients)
            (stateGradient, inputGradient) = (step.state, step.frame)
            let truthShare = s > 0 ? cache.feedsTruth[s - 1] : [Float](repeating: 1, count: shape[0])
            frameGradients.append(try addingFedBack(step.frame, to: try Tensor(shape: step.frame.shape),
                                                    feedsTruth: truthShare.map { 1 - $0 }))
        }
        return try stackTimesteps(frameGradients.reversed())
    }

    /// ``rolloutTrainingForward(_:feedsTruth:context:)`` for inference: the predictions alone.
    public func rollout(_ frames: Tensor, feedsTruth: Tensor) throws -> Tensor {
        let mask = try Self.rolloutMask(frames, feedsTruth)
        var (state, input) = (try zeroState(batch: frames.dimensions[0]), try timestep(frames, 0))
        var predictions: [Tensor] = []
        for s in 0 ..< frames.dimensions[1] - 1 {
            if s > 0 { input = try mixedFrames(truth: try timestep(frames, s), prediction: predictions[s - 1], feedsTruth: mask[s - 1]) }
            let (prediction, next) = try step(input, from: state)
            try RecurrentError.requireShape(prediction, input.dimensions, "Prediction to feed back")
            state = next
            predictions.append(prediction)
        }
        return try stackTimesteps(predictions)
    }

    /// `context` for rollout step `s`: its own dropout seed, as each timestep
    /// of a sequence pass draws its own masks.
    private static func stepContext(_ context: LayerContext, _ s: Int) -> LayerContext {
        var stepContext = context
        stepContext.dropoutSeed = context.dropoutSeed &+ UInt64(s) &* 0x9E37_79B9_7F4A_7C15
        return stepContext
    }

    /// The mask (B, S - 2) as one row of B values per input step, checked.
    private static func rolloutMask(_ frames: Tensor, _ feedsTruth: Tensor) throws -> [[Float]] {
        guard frames.shape.rank == 5, frames.dimensions[1] >= 2 else {
            throw RecurrentError.shapeMismatch(name: "Rollout frames (batch, steps >= 2, height, width, channels)",
                                               expected: [.any("batch"), .any("steps >= 2"), .any("height"), .any("width"), .any("channels")],
                                               actual: frames.dimensions)
        }
        let (batch, inputs) = (frames.dimensions[0], frames.dimensions[1] - 2)
        try RecurrentError.requireShape(feedsTruth, [batch, inputs], "Rollout feedsTruth mask (batch, steps - 2)")
        let values = feedsTruth.scalars
        if let bad = values.firstIndex(where: { !($0 >= 0 && $0 <= 1) }) {
            throw RecurrentError.invalidArgument(name: "Rollout feedsTruth mask", expected: "values in 0...1 (1: the true frame)",
                                                 actual: "\(values[bad]) at sequence \(bad / max(inputs, 1)), step \(bad % max(inputs, 1) + 1)")
        }
        return (0 ..< inputs).map { s in (0 ..< batch).map { values[$0 * inputs + s] } }
    }
}

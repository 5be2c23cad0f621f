import Foundation
import FrameSequencing

extension Trainer {
    /// One optimizer step on a filled `batch`, Keras's `train_on_batch`: the
    /// loss, backward into `gradients` (zeroed first; pass the same buffer every
    /// call, from `model.zeroGradients()`, so no step allocates it), `clipping`,
    /// and the update at the schedule's rate for the current position. Returns
    /// the batch's loss and counts one ``step``; ``epoch`` does not change.
    ///
    /// - Throws: as a step of ``fit(_:options:callback:)`` does (`nonFinite`
    ///   naming where a NaN or infinity appeared; nothing of the step is kept);
    ///   `invalidArgument` with a ``gradientExchange`` (a data-parallel step
    ///   needs every rank's share of one batch: use ``fit(_:options:callback:)``).
    @discardableResult
    public mutating func trainOnBatch(_ batch: WindowBatch, gradients: inout Model.Gradients,
                                      clipping: GradientClipping? = nil) throws -> Float {
        let rate = schedule.learningRate(initial: initialLearningRate, at: SchedulePosition(epoch: epoch, step: step))
        return try trainingStep(batch, gradients: &gradients, learningRate: rate, clipping: clipping)
    }

    /// Seconds one optimizer step of ``fit(_:options:callback:)`` takes on this
    /// machine, measured rather than guessed: the first batch of `windows` is
    /// filled and run forward, through the loss and backward `repetitions` times
    /// after one warm-up run (the model and optimizer are not changed), and the
    /// optimizer's update is timed on a stand-in of the model's largest
    /// parameter and scaled to all of them (a resumed optimizer, whose state is
    /// built for the model, is not timed: its update is a small share of a step).
    ///
    /// Multiply by the steps of an epoch for its duration. It allocates what a
    /// training step does (a batch buffer, gradients, one step's record).
    ///
    /// - Throws: what a training step throws for these windows and options.
    public func measureStepSeconds(on windows: FrameWindows, options: TrainingOptions, repetitions: Int = 2) throws -> Double {
        try RecurrentError.requirePositive(repetitions, "calibration repetitions")
        let batches = try windows.batches(size: options.batchSize, shuffleSeed: options.shuffleSeed)
        var buffer = try batches.makeBuffer(layout: options.layout)
        var gradients = model.zeroGradients()
        func run() throws {
            try batches.fill(0, into: &buffer)
            gradients.zero()
            _ = try lossAndGradients(buffer, context: LayerContext(lengths: buffer.mask == nil ? nil : buffer.lengths), into: &gradients)
        }
        try run()
        let started = Date()
        for _ in 0 ..< repetitions { try run() }
        let step = Date().timeIntervalSince(started) / Double(repetitions)
        return step + (try updateSeconds())
    }

    /// The optimizer's update of every parameter, timed on the largest one.
    private func updateSeconds() throws -> Double {
        guard optimizer.stepCount == 0, let largest = model.namedParameters.map(\.tensor).max(by: { $0.count < $1.count }),
              largest.count > 0 else { return 0 }
        var probe = optimizer
        var parameters = [largest]
        let gradients = [try Tensor(shape: largest.shape, repeating: 1e-3)]
        try probe.step(parameters: &parameters, gradients: gradients)          // builds the state
        let started = Date()
        try probe.step(parameters: &parameters, gradients: gradients)
        return Date().timeIntervalSince(started) * Double(model.scalarCount) / Double(largest.count)
    }
}

import FrameSequencing

extension Trainer {
    /// The mean loss over `range` of `windows` (every window when nil), without
    /// training. With ``closedLoop``, each window's closed-loop forecast is
    /// scored: the context read as it is, every later step fed the model's
    /// own prediction, the loss over the target frames.
    public func evaluate(_ windows: FrameWindows, windows range: Range<Int>? = nil, batchSize: Int,
                         layout: SequenceLayout = .batchMajor) throws -> Float {
        let batches = try windows.batches(of: range ?? windows.indices, size: batchSize)
        var buffer = try batches.makeBuffer(layout: layout)
        var total: Double = 0
        for index in batches.indices {
            try batches.fill(index, into: &buffer)
            total += Double(try batchLoss(buffer))
        }
        return Float(total / Double(batches.count))
    }

    /// The loss of one filled batch, without training.
    func batchLoss(_ buffer: WindowBatch) throws -> Float {
        if let rolloutPass {
            return try rolloutPass.evaluate(model, buffer, loss)
        }
        let output = try model.forward(buffer.inputs, context: LayerContext(lengths: buffer.mask == nil ? nil : buffer.lengths))
        return try loss.evaluate(prediction: output, target: try alignedTarget(buffer, output), weights: weights(buffer, output)).value
    }
}

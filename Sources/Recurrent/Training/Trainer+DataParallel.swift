import FrameSequencing

// Data-parallel training (``Trainer/gradientExchange``): the start of each
// epoch from rank 0's state, the exchange of each share, and validation by shares.
extension Trainer {
    /// Makes this rank's model, optimizer and position rank 0's (a no-op
    /// without ``gradientExchange``): the start of every
    /// ``fit(_:options:callback:)`` of a data-parallel run, so that every rank
    /// begins from the same state whatever each built or resumed.
    ///
    /// - Throws: the exchange's errors; what ``resume(from:)`` throws for a
    ///   checkpoint of another model (ranks running different models).
    public mutating func synchronizeWithRankZero() throws {
        guard let exchange = gradientExchange, exchange.size > 1 else { return }
        let bytes = try exchange.broadcastFromRankZero(exchange.rank == 0 ? try checkpoint().encoded() : [])
        if exchange.rank != 0 {
            try resume(from: try Checkpoint.decode(bytes, name: "rank 0's checkpoint"))
        }
    }

    /// ``evaluate(_:windows:batchSize:layout:)`` as every rank of a data-parallel
    /// run makes it in ``fit(_:options:callback:)``: each rank scores its share of
    /// every batch and the exchange sums the shares' losses weighted by their
    /// windows, so the result is one process's, from a share of the work.
    func evaluateShares(_ windows: FrameWindows, windows range: Range<Int>? = nil, batchSize: Int, layout: SequenceLayout,
                        exchange: any GradientExchange) throws -> Float {
        let batches = try windows.batches(of: range ?? windows.indices, size: batchSize)
        var buffer = try batches.makeBuffer(layout: layout, shares: exchange.size)
        var total: Double = 0
        for index in batches.indices {
            let share = try batches.windowIndices(ofBatch: index, share: exchange.rank, of: exchange.size).count
            var (value, failure): (Float, (any Error)?) = (0, nil)
            do {
                if share > 0 {
                    try batches.fill(index, share: exchange.rank, of: exchange.size, into: &buffer)
                    value = try batchLoss(buffer)
                }
            } catch {
                failure = error
            }
            total += Double(try combineShare(exchange, gradients: [], loss: value, windows: share,
                                             of: try batches.windowIndices(ofBatch: index).count, failure: failure,
                                             what: "validation at epoch \(epoch + 1)").loss)
        }
        return Float(total / Double(batches.count))
    }

    /// This rank's part of a step (or of a validation batch, without gradients)
    /// combined with every rank's: a rank whose part `failure`d adds nothing
    /// and rethrows its own error after the exchange; the others throw
    /// naming it, so no rank goes on alone.
    func combineShare(_ exchange: any GradientExchange, gradients: [Tensor], loss: Float, windows: Int, of total: Int,
                      failure: (any Error)?, what: String) throws -> CombinedStep {
        let combined = try exchange.combine(gradients, loss: failure == nil ? loss : 0, windows: failure == nil ? windows : 0,
                                            of: total, failed: failure != nil)
        if let failure { throw failure }
        guard combined.failedRanks.isEmpty else {
            throw RecurrentError.invalidArgument(
                name: what, expected: "every rank's share of the batch done",
                actual: "rank \(combined.failedRanks.map(String.init).joined(separator: ", ")) failed (its own error says why); no rank goes on")
        }
        return combined
    }
}

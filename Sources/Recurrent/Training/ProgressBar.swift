import Foundation

/// The training progress line on standard error: epoch, a bar over the
/// epoch's batches, the running mean loss, the learning rate and batches per
/// second, redrawn in place (`\r`); each finished epoch leaves one line.
struct ProgressBar {
    private var epochStart = Date()
    private var currentEpoch = 0
    /// The batch whose completion started the rate's clock (the first one drawn this epoch).
    private var firstBatch = 0
    private var lastDraw = Date.distantPast

    mutating func update(epoch: Int, batch: Int, batches: Int, loss: Float, learningRate: Double) {
        let now = Date()
        if epoch != currentEpoch { (currentEpoch, epochStart, firstBatch) = (epoch, now, batch) }
        guard batch == batches || now.timeIntervalSince(lastDraw) > 0.1 else { return }   // at most 10 redraws a second
        lastDraw = now
        let width = 24
        let filled = batches == 0 ? width : width * batch / batches
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        // Batches finished since the clock started, over the time since: the first
        // update of an epoch comes after its first batch, so it has no rate yet.
        let elapsed = now.timeIntervalSince(epochStart)
        let rate = batch > firstBatch && elapsed > 0 ? String(format: "%.1f batch/s", Double(batch - firstBatch) / elapsed) : ""
        write("\r epoch \(epoch) [\(bar)] \(batch)/\(batches)  loss \(format(loss))  lr \(format(learningRate))  " + rate)
    }

    mutating func finishEpoch(_ summary: EpochSummary) {
        var line = "\r epoch \(summary.epoch)  loss \(format(summary.trainingLoss))"
        if let validation = summary.validationLoss { line += "  validation \(format(validation))" }
        line += "  lr \(format(summary.learningRate))  " + String(format: "%.1f s", summary.seconds)
        write(line + String(repeating: " ", count: 24) + "\n")
    }

    func finish() { write("\n") }

    private func format(_ value: some BinaryFloatingPoint) -> String { String(format: "%.4g", Double(value)) }

    private func write(_ text: String) { FileHandle.standardError.write(Data(text.utf8)) }
}

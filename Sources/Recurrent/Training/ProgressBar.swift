import Foundation

/// The training progress line on standard error: epoch, a bar over the
/// epoch's batches, the running mean loss, the learning rate and batches per
/// second, redrawn in place (`\r`); each finished epoch leaves one line.
struct ProgressBar {
    private var epochStart = Date()
    private var currentEpoch = 0
    private var lastDraw = Date.distantPast

    mutating func update(epoch: Int, batch: Int, batches: Int, loss: Float, learningRate: Double) {
        if epoch != currentEpoch { (currentEpoch, epochStart) = (epoch, Date()) }
        let now = Date()
        guard batch == batches || now.timeIntervalSince(lastDraw) > 0.1 else { return }   // at most 10 redraws a second
        lastDraw = now
        let width = 24
        let filled = batches == 0 ? width : width * batch / batches
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        let rate = Double(batch) / max(now.timeIntervalSince(epochStart), 1e-9)
        write("\r epoch \(epoch) [\(bar)] \(batch)/\(batches)  loss \(format(loss))  lr \(format(learningRate))  "
              + String(format: "%.1f batch/s", rate))
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

import Foundation

/// The training progress line on standard error: epoch, a bar over the
/// epoch's batches, the running mean loss, the learning rate, batches per
/// second, and the elapsed time and estimated time left of the epoch and of
/// the fit call, redrawn in place (`\r`); each finished epoch leaves one line.
///
/// The estimates divide the batches left by a measured rate: the epoch's by
/// this epoch's rate (the call's until the epoch has one), the call's by the
/// call's batches over its elapsed time, which includes the validations. They
/// assume every epoch of the call runs; early stopping can end it sooner.
struct ProgressBar {
    /// The number of the call's last epoch ("epoch 3/10").
    let lastEpoch: Int
    private let callStart: Date
    /// Batches trained in this call.
    private var callBatches = 0
    private var epochStart: Date
    private var currentEpoch = 0
    /// The batch whose completion started the epoch's clock (the first one drawn this epoch).
    private var firstBatch = 0
    private var lastDraw = Date.distantPast

    init(lastEpoch: Int, now: Date = Date()) {
        self.lastEpoch = lastEpoch
        (callStart, epochStart) = (now, now)
    }

    /// After batch `batch` (from 1) of `batches` in `epoch`; `epochSeconds` is
    /// the epoch's time so far (before a resume too), `remainingInCall` the
    /// batches the call has left to train.
    mutating func update(epoch: Int, batch: Int, batches: Int, loss: Float, learningRate: Double,
                         epochSeconds: Double, remainingInCall: Int, now: Date = Date()) {
        callBatches += 1
        if epoch != currentEpoch { (currentEpoch, epochStart, firstBatch) = (epoch, now, batch) }
        guard batch == batches || now.timeIntervalSince(lastDraw) > 0.1 else { return }   // at most 10 redraws a second
        lastDraw = now
        // Batches finished since the epoch's clock started, over the time since: the
        // first update of an epoch comes after its first batch, so it has no rate yet.
        let elapsed = now.timeIntervalSince(epochStart)
        let epochRate = batch > firstBatch && elapsed > 0 ? Double(batch - firstBatch) / elapsed : nil
        let callRate = callRate(now)
        write("\r" + Self.line(epoch: epoch, lastEpoch: lastEpoch, batch: batch, batches: batches, loss: loss,
                               learningRate: learningRate, rate: epochRate, epochSeconds: epochSeconds,
                               epochRemaining: (epochRate ?? callRate).map { Double(batches - batch) / $0 },
                               callSeconds: now.timeIntervalSince(callStart),
                               callRemaining: callRate.map { Double(remainingInCall) / $0 }))
    }

    mutating func finishEpoch(_ summary: EpochSummary, remainingInCall: Int, now: Date = Date()) {
        let line = Self.epochLine(summary, lastEpoch: lastEpoch, callSeconds: now.timeIntervalSince(callStart),
                                  callRemaining: callRate(now).map { Double(remainingInCall) / $0 })
        write("\r" + line + String(repeating: " ", count: 32) + "\n")
    }

    func finish() { write("\n") }

    private func callRate(_ now: Date) -> Double? {
        let elapsed = now.timeIntervalSince(callStart)
        return callBatches > 0 && elapsed > 0 ? Double(callBatches) / elapsed : nil
    }

    /// ` epoch 3/10 [######..................] 12/40  loss 0.0123  lr 0.001  5.2 batch/s  epoch 0:02 ETA 0:05  fit 1:02 ETA 4:10`
    static func line(epoch: Int, lastEpoch: Int, batch: Int, batches: Int, loss: Float, learningRate: Double,
                     rate: Double?, epochSeconds: Double, epochRemaining: Double?, callSeconds: Double,
                     callRemaining: Double?) -> String {
        let width = 24
        let filled = batches == 0 ? width : width * batch / batches
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        var line = " epoch \(epoch)/\(lastEpoch) [\(bar)] \(batch)/\(batches)  loss \(format(loss))  lr \(format(learningRate))"
        if let rate { line += String(format: "  %.1f batch/s", rate) }
        line += "  epoch \(clock(epochSeconds)) ETA \(clock(epochRemaining))"
        line += "  fit \(clock(callSeconds)) ETA \(clock(callRemaining))"
        return line
    }

    /// ` epoch 3/10  loss 0.0123  validation 0.013  lr 0.001  12.3 s  fit 1:02 ETA 4:10`
    static func epochLine(_ summary: EpochSummary, lastEpoch: Int, callSeconds: Double, callRemaining: Double?) -> String {
        var line = " epoch \(summary.epoch)/\(lastEpoch)  loss \(format(summary.trainingLoss))"
        if let validation = summary.validationLoss { line += "  validation \(format(validation))" }
        line += "  lr \(format(summary.learningRate))  " + String(format: "%.1f s", summary.seconds)
        return line + "  fit \(clock(callSeconds)) ETA \(clock(callRemaining))"
    }

    /// `m:ss` under an hour, `h:mm:ss` from one, `?` without an estimate.
    static func clock(_ seconds: Double?) -> String {
        guard let seconds, seconds.isFinite, seconds < 1e9 else { return "?" }
        let total = Int(max(seconds, 0).rounded())
        let (hours, minutes, secs) = (total / 3600, total / 60 % 60, total % 60)
        return hours > 0 ? String(format: "%d:%02d:%02d", hours, minutes, secs) : String(format: "%d:%02d", minutes, secs)
    }

    private static func format(_ value: some BinaryFloatingPoint) -> String { String(format: "%.4g", Double(value)) }

    private func write(_ text: String) { FileHandle.standardError.write(Data(text.utf8)) }
}

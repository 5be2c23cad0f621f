import Foundation
import FrameSequencing
import XCTest
@testable import Recurrent

/// The progress bar's elapsed times and estimates, and the silence of a fit
/// without it.
final class TrainerProgressTests: XCTestCase {
    /// What `body` writes to standard error (file descriptor 2).
    func standardError(of body: () throws -> Void) throws -> String {
        let path = NSTemporaryDirectory() + "frameseq-stderr-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let file = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let saved = dup(2)
        XCTAssert(file >= 0 && saved >= 0)
        dup2(file, 2)
        defer {
            dup2(saved, 2)
            close(saved)
            close(file)
        }
        try body()
        return try String(contentsOfFile: path, encoding: .utf8)
    }

    func testClockFormatsMinutesAndHours() {
        XCTAssertEqual(ProgressBar.clock(0), "0:00")
        XCTAssertEqual(ProgressBar.clock(4.6), "0:05")
        XCTAssertEqual(ProgressBar.clock(65), "1:05")
        XCTAssertEqual(ProgressBar.clock(3599.4), "59:59")
        XCTAssertEqual(ProgressBar.clock(3725), "1:02:05")
        XCTAssertEqual(ProgressBar.clock(nil), "?")
        XCTAssertEqual(ProgressBar.clock(.infinity), "?")
    }

    func testTheBarShowsElapsedTimeAndEstimatesOfTheEpochAndTheCall() throws {
        let start = Date(timeIntervalSinceReferenceDate: 1000)
        var bar = ProgressBar(lastEpoch: 2, now: start)
        let output = try standardError {
            // Batch 1 of 4 after 2 s: no rate of the epoch yet, the call's is 0.5 batch/s;
            // 3 batches left in the epoch, 7 in the call.
            bar.update(epoch: 1, batch: 1, batches: 4, loss: 0.25, learningRate: 0.01, epochSeconds: 2,
                       remainingInCall: 7, now: start + 2)
            // Batch 2 after 2.5 s: 2 batch/s in the epoch (1 batch in the 0.5 s since its
            // first), the call 0.8 batch/s (2 in 2.5 s). The epoch ends after 5 s: 0.4 batch/s.
            bar.update(epoch: 1, batch: 2, batches: 4, loss: 0.2, learningRate: 0.01, epochSeconds: 2.5,
                       remainingInCall: 6, now: start + 2.5)
            bar.finishEpoch(EpochSummary(epoch: 1, trainingLoss: 0.125, validationLoss: 0.5, learningRate: 0.01, seconds: 4),
                            remainingInCall: 4, now: start + 5)
        }
        let lines = output.split(separator: "\r").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        XCTAssertEqual(lines, [
            "epoch 1/2 [######..................] 1/4  loss 0.25  lr 0.01  epoch 0:02 ETA 0:06  fit 0:02 ETA 0:14",
            "epoch 1/2 [############............] 2/4  loss 0.2  lr 0.01  2.0 batch/s  epoch 0:03 ETA 0:01  fit 0:03 ETA 0:08",
            "epoch 1/2  loss 0.125  validation 0.5  lr 0.01  4.0 s  fit 0:05 ETA 0:10",
        ])
    }

    func testFitWritesNothingWithoutTheProgressBar() throws {
        let directory = NSTemporaryDirectory() + "frameseq-quiet-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var options = ResumeRun.options(epochs: 2, checkpoint: CheckpointPolicy(path: directory + "/run.safetensors",
                                                                                 interval: .zero))
        var quiet = try ResumeRun.trainer()
        let silence = try standardError {
            try quiet.fit(try ResumeRun.windows(), options: options) { _ in true }
            try quiet.resume(from: try Checkpoint.read(contentsOf: directory + "/run.safetensors"))
        }
        XCTAssertEqual(silence, "", "showsProgress false writes nothing")

        options.showsProgress = true
        var loud = try ResumeRun.trainer()
        let shown = try standardError { try loud.fit(try ResumeRun.windows(), options: options) }
        XCTAssert(shown.contains("epoch 2/2  loss"), shown)
        XCTAssert(shown.contains(" ETA "), shown)
    }
}

import Foundation
import FrameSequencing
import FrameseqCLI
import Recurrent
import XCTest

/// `mpirun -np 2 frameseq-mpi train` on loopback against `frameseq train` in
/// one process: the same model at the end, faults that end the job naming
/// the rank, and ranks started differently refused.
final class MPITrainTests: XCTestCase {
    /// The options both sides share: a small FC-LSTM, 2 epochs, a validation
    /// score every epoch (the held-out frames).
    func options(_ frames: String, _ output: String, batch: Int, model: [String] = ["--model", "fc_lstm", "--hidden", "16"],
                 epochs: Int = 2) -> [String] {
        ["--frames", frames, "--output", output, "--batch-size", String(batch), "--epochs", String(epochs), "--seed", "1",
         "--quiet"] + model
    }

    /// Parameters and Adam state of two checkpoints agree to within float-sum reordering.
    func assertSameState(_ path: String, _ reference: String, _ what: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let (a, b) = (try Checkpoint.read(contentsOf: path), try Checkpoint.read(contentsOf: reference))
        XCTAssertEqual(a.step, b.step, what, file: file, line: line)
        XCTAssertEqual(a.parameters.map(\.name), b.parameters.map(\.name), file: file, line: line)
        var pairs = zip(a.parameters, b.parameters).map { ($0.name, $0.tensor, $1.tensor) }
        pairs += a.optimizerState.tensors.keys.sorted().map { ($0, a.optimizerState.tensors[$0]!, b.optimizerState.tensors[$0]!) }
        for (name, x, y) in pairs {
            let scale = max(y.scalars.map(abs).max() ?? 0, Float.leastNormalMagnitude)
            let difference = zip(x.scalars, y.scalars).map { abs($0 - $1) }.max() ?? 0
            // Two ranks' halves summed by MPI instead of one backward's sum over the batch:
            // measured 4e-7 relative after 10 steps (FC-LSTM and ConvLSTM); 1e-4 leaves room, a wrong share would be far off.
            XCTAssertLessThan(difference / scale, 1e-4, "\(what): \(name) differs by \(difference) (scale \(scale))", file: file, line: line)
        }
    }

    func testTwoRanksOfBatchFourEqualOneProcessOfBatchEight() throws {
        let folder = try temporaryFolder(self)
        let frames = try writeBouncingSquare(in: folder)
        for (name, model) in [("fc_lstm", ["--model", "fc_lstm", "--hidden", "16"]),
                              ("convlstm", ["--model", "convlstm", "--filters", "4", "--patch", "4"])] {
            let job = try MPIJob.run(ranks: 2, options(frames, "\(folder)/\(name)-mpi", batch: 4, model: model))
            XCTAssertEqual(job.status, 0, "\(name): \(job.err)\n\(job.out)")
            XCTAssertTrue(job.out.contains("data-parallel: 2 ranks, 4 windows each, 8 a step"), job.out)
            XCTAssertEqual(job.out.components(separatedBy: "Wrote ").count - 1, 1, "rank 0 alone reports: \(job.out)")
            // The reference: `frameseq train` itself, in this process.
            let status = Frameseq.run(["train"] + options(frames, "\(folder)/\(name)-one", batch: 8, model: model),
                                      console: Console(out: { _ in }, err: { print($0) }))
            XCTAssertEqual(status, 0)
            try assertSameState("\(folder)/\(name)-mpi/checkpoint.safetensors", "\(folder)/\(name)-one/checkpoint.safetensors", name)
            let (a, b) = (try Checkpoint.read(contentsOf: "\(folder)/\(name)-mpi/checkpoint.safetensors").trainingHistory(),
                          try Checkpoint.read(contentsOf: "\(folder)/\(name)-one/checkpoint.safetensors").trainingHistory())
            XCTAssertEqual(a.count, 2)
            for (x, y) in zip(a, b) {
                XCTAssertEqual(x.trainingLoss, y.trainingLoss, accuracy: 1e-4 * y.trainingLoss, name)
                XCTAssertEqual(try XCTUnwrap(x.validationLoss), try XCTUnwrap(y.validationLoss), accuracy: 1e-4 * y.trainingLoss, name)
            }
        }
    }

    /// A run of 2 ranks resumed by 1 rank, then by 2 again, against one
    /// process resumed at the same points (each --epochs sets a new total, which
    /// the learning-rate schedule follows, so both sides resume alike).
    func testAResumeWithAnotherRankCountContinuesTheRun() throws {
        let folder = try temporaryFolder(self)
        let frames = try writeBouncingSquare(in: folder)
        let quiet = Console(out: { _ in }, err: { print($0) })
        let first = try MPIJob.run(ranks: 2, options(frames, "\(folder)/run", batch: 4, epochs: 1))
        XCTAssertEqual(first.status, 0, first.err)
        XCTAssertEqual(Frameseq.run(["train"] + options(frames, "\(folder)/one", batch: 8, epochs: 1), console: quiet), 0)
        try assertSameState("\(folder)/run/checkpoint.safetensors", "\(folder)/one/checkpoint.safetensors", "2 ranks")
        // One rank now: the checkpoint's step batch (8) is all its share.
        let resumed = try MPIJob.alone(["--resume", "\(folder)/run", "--epochs", "2", "--quiet"])
        XCTAssertEqual(resumed.status, 0, resumed.err)
        XCTAssertEqual(Frameseq.run(["train", "--resume", "\(folder)/one", "--epochs", "2", "--quiet"], console: quiet), 0)
        try assertSameState("\(folder)/run/checkpoint.safetensors", "\(folder)/one/checkpoint.safetensors", "2 ranks, then 1")
        // And back to two ranks for a third epoch.
        let third = try MPIJob.run(ranks: 2, ["--resume", "\(folder)/run", "--epochs", "3", "--quiet"])
        XCTAssertEqual(third.status, 0, third.err)
        XCTAssertEqual(Frameseq.run(["train", "--resume", "\(folder)/one", "--epochs", "3", "--quiet"], console: quiet), 0)
        try assertSameState("\(folder)/run/checkpoint.safetensors", "\(folder)/one/checkpoint.safetensors", "2 ranks, 1, then 2")
        XCTAssertEqual(try Checkpoint.read(contentsOf: "\(folder)/run/checkpoint.safetensors").trainingHistory().count, 3)
    }

    /// A job of 2 ranks, 3 epochs of 5 steps with a checkpoint after every step,
    /// where rank 1 meets `fault` at its eighth step; checks that the job ended
    /// itself and the checkpoint rank 0 wrote before is whole.
    func jobWithFault(_ fault: String, rankTimeout: Int) throws -> JobResult {
        let folder = try temporaryFolder(self)
        let frames = try writeBouncingSquare(in: folder)
        let job = try MPIJob.run(ranks: 2, options(frames, "\(folder)/run", batch: 4, epochs: 3)
                                     + ["--rank-timeout", String(rankTimeout), "--checkpoint-minutes", "0.0001"],
                                 environment: ["FRAMESEQ_MPI_TEST_FAULT": "\(fault):1:8"], deadline: 120)
        XCTAssertFalse(job.timedOut, "the job should end itself: \(job.err)")
        XCTAssertNotEqual(job.status, 0)
        let checkpoint = try Checkpoint.read(contentsOf: "\(folder)/run/checkpoint.safetensors")
        XCTAssertTrue((5 ... 7).contains(checkpoint.step),
                      "written at the first epoch's end (step 5) and after later steps before the fault: \(checkpoint.step)")
        return job
    }

    /// Rank 1 stops answering: rank 0 waits its --rank-timeout, names rank 1 and ends the job.
    func testAHungRankEndsTheJobNamingIt() throws {
        let job = try jobWithFault("hang", rankTimeout: 5)
        XCTAssertLessThan(job.seconds, 60)
        XCTAssertTrue(job.err.contains("rank 1 did not reach the gradient all-reduce"), job.err)
        XCTAssertTrue(job.err.contains("rank 0 waited 5 s (--rank-timeout) and ends the job"), job.err)
    }

    /// Rank 1 is killed (SIGKILL, as by the out-of-memory killer): mpirun ends the job at once and names it.
    func testADeadRankEndsTheJobNamingIt() throws {
        let job = try jobWithFault("kill", rankTimeout: 60)
        XCTAssertLessThan(job.seconds, 50, "mpirun notices the exit; no rank waits for its timeout")
        XCTAssertTrue((job.err + job.out).contains("process rank 1 with PID"), job.err + job.out)
        XCTAssertTrue((job.err + job.out).contains("exited on signal 9"), job.err + job.out)
    }

    func testRanksStartedWithOtherOptionsOrFramesAreRefused() throws {
        let folder = try temporaryFolder(self)
        let frames = try writeBouncingSquare(in: folder)
        let other = try writeBouncingSquare(in: folder, start: 5, name: "other.npy")
        let common = options(frames, "\(folder)/run", batch: 4)
        var seed = common
        seed[seed.firstIndex(of: "--seed")! + 1] = "2"
        let job = try MPIJob.run(ranks: 1, common, segments: [seed])
        XCTAssertEqual(job.status, 2, job.err)
        XCTAssertTrue(job.err.contains("rank 1 was started with other options than rank 0"), job.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(folder)/run"), "nothing was written")
        // The same options on another copy of the frames that differs in content.
        try FileManager.default.createDirectory(atPath: "\(folder)/copy", withIntermediateDirectories: true)
        let copy = "\(folder)/copy/frames.npy"
        try FileManager.default.copyItem(atPath: other, toPath: copy)
        let stale = try MPIJob.run(ranks: 1, options(frames, "\(folder)/run", batch: 4),
                                   segments: [options(copy, "\(folder)/run", batch: 4)])
        XCTAssertEqual(stale.status, 2, stale.err)
        XCTAssertTrue(stale.err.contains("rank 1 reads other frames than rank 0"), stale.err)
    }
}

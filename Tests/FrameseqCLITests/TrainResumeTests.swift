import Foundation
import FrameSequencing
import Recurrent
import XCTest
@testable import FrameseqCLI

/// `frameseq train` saves its state as it goes and `--resume DIR` continues
/// it bit for bit, even after the process was killed inside an epoch.
final class TrainResumeTests: XCTestCase {
    private func arguments(_ frames: String, _ output: String, model: ModelKind = .fcLSTM) -> [String] {
        ["train", "--frames", frames, "--output", output, "--model", model.rawValue, "--hidden", "8", "--epochs", "30",
         "--batch-size", "2", "--context", "3", "--steps", "2", "--test-frames", "6", "--quiet"]
    }

    /// The parameters and optimizer state of a run directory's final model.
    private func finalState(_ directory: String) throws -> [String: [UInt32]] {
        let checkpoint = try Checkpoint.read(contentsOf: directory + "/model.safetensors")
        var state: [String: [UInt32]] = [:]
        for (name, tensor) in checkpoint.parameters { state["param." + name] = tensor.scalars.map(\.bitPattern) }
        for (name, tensor) in checkpoint.optimizerState.tensors { state["optim." + name] = tensor.scalars.map(\.bitPattern) }
        XCTAssertEqual(checkpoint.epoch, 30)
        return state
    }

    func testARunKilledInsideAnEpochResumesBitForBit() throws {
        try checkKilledRunResumesBitForBit(.fcLSTM)
    }

    /// The FC-GRU's state (GRU weights, its Adam moments) round-trips the same way.
    func testAnFCGRURunKilledInsideAnEpochResumesBitForBit() throws {
        try checkKilledRunResumesBitForBit(.fcGRU)
    }

    private func checkKilledRunResumesBitForBit(_ model: ModelKind) throws {
        let binary = try frameseqExecutable(for: self)
        let folder = try temporaryFolder(self)
        let frames = try writeMovingSquareNPY(in: folder, count: 30, size: 8)
        let uninterrupted = CLIRun(arguments(frames, folder + "/whole", model: model))
        XCTAssertEqual(uninterrupted.status, 0, uninterrupted.err)

        // The same run in a child that saves after every step, killed once a save
        // inside an epoch (not at its end) has landed.
        let directory = folder + "/killed"
        let child = Process()
        child.executableURL = binary
        child.arguments = arguments(frames, directory, model: model) + ["--checkpoint-minutes", "0"]
        child.standardOutput = FileHandle.nullDevice
        child.standardError = FileHandle.nullDevice
        try child.run()
        defer { if child.isRunning { kill(child.processIdentifier, SIGKILL) } }
        let deadline = Date().addingTimeInterval(60)
        var position: (epoch: Int, batches: Int)?, killedHistory: [EpochSummary] = []
        while position == nil, child.isRunning, Date() < deadline {
            if let saved = try? Checkpoint.read(contentsOf: directory + "/checkpoint.safetensors"), saved.epoch >= 1,
               let batches = saved.metadata["batches_done_in_epoch"].flatMap(Int.init), batches > 0 {
                kill(child.processIdentifier, SIGKILL)
                position = (saved.epoch, batches)
                killedHistory = try JSONDecoder().decode([EpochSummary].self, from: Data(saved.metadata["history"]!.utf8))
            }
            usleep(1_000)
        }
        child.waitUntilExit()
        let (epoch, batches) = try XCTUnwrap(position, "the child saved no checkpoint inside an epoch before it ended")
        XCTAssertEqual(child.terminationReason, .uncaughtSignal)
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/model.safetensors"), "killed before the end")

        let resumed = CLIRun(["train", "--resume", directory, "--quiet"])
        XCTAssertEqual(resumed.status, 0, resumed.err)
        XCTAssert(resumed.out.contains("resumed from epoch"), resumed.out)
        XCTAssertEqual(try Checkpoint.read(contentsOf: directory + "/model.safetensors").metadata["model.kind"], model.rawValue)
        XCTAssertEqual(try finalState(directory), try finalState(folder + "/whole"),
                       "killed at epoch \(epoch + 1) after \(batches) batches, then resumed")
        let history = try XCTUnwrap(try readMetrics(directory + "/metrics.json")["history"] as? [[String: Any]])
        XCTAssertEqual(history.count, 30, "every epoch's losses, those before the kill included")
        // Continued, not started over (which would also end in the same weights):
        // the epochs before the kill keep the durations the killed process measured.
        XCTAssertEqual(killedHistory.count, epoch)
        for (index, summary) in killedHistory.enumerated() {
            // (to 1e-9 s: metrics.json prints 16 digits, the checkpoint the shortest exact form)
            XCTAssertEqual(try XCTUnwrap(history[index]["seconds"] as? Double), summary.seconds, accuracy: 1e-9,
                           "epoch \(index + 1) was not trained again")
        }
    }

    func testResumeRefusesWhatItCannotContinue() throws {
        let folder = try temporaryFolder(self)
        let frames = try writeMovingSquareNPY(in: folder, count: 30, size: 8)
        var short = arguments(frames, folder + "/run")
        short[short.firstIndex(of: "30")!] = "1"
        XCTAssertEqual(CLIRun(short).status, 0)

        assertFails(CLIRun(["train", "--resume", folder + "/nothing"]), status: 1, mentioning: ["no checkpoint.safetensors"])
        assertFails(CLIRun(["train", "--resume", folder + "/run", "--hidden", "16"]), status: 2,
                    mentioning: ["--hidden cannot change a resumed run"])
        let other = try writeMovingSquareNPY(in: folder, count: 30, size: 10, name: "other.npy")
        assertFails(CLIRun(["train", "--resume", folder + "/run", "--frames", other]), status: 1,
                    mentioning: ["30 frames of (8, 8, 1)", "(10, 10, 1)", "same series"])
        // A checkpoint cut short (a disk that filled up) is named, not trusted.
        let path = folder + "/run/checkpoint.safetensors"
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: path))
        assertFails(CLIRun(["train", "--resume", folder + "/run"]), status: 1, mentioning: ["cannot be read"])
        // A demo checkpoint has a model but no run to continue.
        let demo = CLIRun(["demo", "--quick", "--models", "fc_lstm", "--frames", "40", "--size", "18", "--test-frames", "12",
                           "--epochs", "1", "--output", folder + "/demo", "--quiet"])
        XCTAssertEqual(demo.status, 0, demo.err)
        try FileManager.default.createDirectory(atPath: folder + "/fromdemo", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: folder + "/demo/fc_lstm.safetensors", toPath: folder + "/fromdemo/checkpoint.safetensors")
        assertFails(CLIRun(["train", "--resume", folder + "/fromdemo", "--frames", frames]), status: 1,
                    mentioning: ["train."])
    }
}

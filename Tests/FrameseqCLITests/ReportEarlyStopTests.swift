import Foundation
import FrameSequencing
import Recurrent
import XCTest
@testable import FrameseqCLI

/// A run that stops early leaves metrics.json and report.html of what it did:
/// an error inside training, an interrupt (SIGINT, exit 130) in process and in
/// a child process, and (TrainPlanTests) a refused plan.
final class ReportEarlyStopTests: XCTestCase {
    private func trainArguments(_ frames: String, _ output: String, epochs: Int) -> [String] {
        ["train", "--frames", frames, "--output", output, "--model", "fc_lstm", "--hidden", "8", "--epochs", "\(epochs)",
         "--batch-size", "2", "--context", "3", "--steps", "2", "--test-frames", "6", "--quiet"]
    }

    /// The checkpoint file is swapped for a folder while training runs (it is
    /// written after every step), so a later write fails inside training.
    func testAnErrorDuringTrainingLeavesAReportOfTheStepsBeforeIt() throws {
        let folder = try temporaryFolder(self)
        let frames = try writeMovingSquareNPY(in: folder, count: 30, size: 12)
        let output = folder + "/run", checkpoint = output + "/checkpoint.safetensors"
        let swapped = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            defer { swapped.signal() }
            let deadline = Date().addingTimeInterval(120)
            while Date() < deadline {
                guard FileManager.default.fileExists(atPath: checkpoint) else { usleep(500); continue }
                // The trainer may write again between the two calls: retry until the folder stands.
                try? FileManager.default.removeItem(atPath: checkpoint)
                if (try? FileManager.default.createDirectory(atPath: checkpoint, withIntermediateDirectories: false)) != nil { return }
            }
        }
        let run = CLIRun(trainArguments(frames, output, epochs: 400) + ["--checkpoint-minutes", "0"])
        swapped.wait()
        assertFails(run, status: 1, mentioning: ["checkpoint.safetensors"])
        let metrics = try MetricsFile.read(output + "/metrics.json")
        XCTAssertEqual(metrics.status, .failed)
        XCTAssertEqual("frameseq train: " + (metrics.error ?? ""), run.err, "the record holds the error line")
        let model = try XCTUnwrap(metrics.models["fc_lstm"])
        XCTAssertEqual(model.status, .failed)
        XCTAssertNil(model.mse, "no scores for a model that did not finish")
        let steps = try XCTUnwrap(model.lossByStep, "the steps trained before the error")
        XCTAssertGreaterThanOrEqual(steps.recorded, 1)
        XCTAssertEqual(steps.step.first, 1)
        XCTAssertNotNil(metrics.plan?.measuredPeakRssBytes)
        let page = try checkReport(in: output, charts: ["chart-loss-step"])
        XCTAssert(page.text.contains("Failed:") && page.text.contains("checkpoint.safetensors"), "the page says why")
    }

    /// SIGINT raised in process when the demo starts its second model: the
    /// first is scored, the second stops after one step, the third never
    /// starts, and the run exits with 130 after writing its record.
    func testAnInterruptedDemoRecordsWhatItDid() throws {
        let output = try temporaryFolder(self) + "/demo"
        let raised = LockedFlag()
        let before = signal(SIGINT, SIG_DFL)
        signal(SIGINT, before)
        let run = CLIRun(["demo", "--quick", "--quiet", "--size", "18", "--frames", "32", "--test-frames", "8", "--context", "4",
                          "--steps", "3", "--epochs", "2", "--output", output]) { line in
            if line.hasPrefix("U-Net CNN-LSTM:"), raised.set() { raise(SIGINT) }
        }
        XCTAssertEqual(run.status, 130, run.err)
        XCTAssertEqual(run.err.split(separator: "\n").count, 1, run.err)
        XCTAssert(run.err.hasPrefix("frameseq demo: interrupted while training U-Net CNN-LSTM in epoch 1, after step 1"), run.err)
        let after = signal(SIGINT, before)
        XCTAssertEqual(unsafeBitCast(after, to: Int.self), unsafeBitCast(before, to: Int.self), "the handler before the run is back")

        let metrics = try MetricsFile.read(output + "/metrics.json")
        XCTAssertEqual(metrics.status, .interrupted)
        XCTAssertEqual(metrics.models["fc_lstm"]?.status, .completed)
        XCTAssertNotNil(metrics.models["fc_lstm"]?.closedLoop?.ssimByStep, "scored, SSIM per step too")
        XCTAssertEqual(metrics.models["fc_lstm"]?.history?.count, 2)
        XCTAssertEqual(metrics.models["unet"]?.status, .interrupted)
        XCTAssertEqual(metrics.models["unet"]?.lossByStep?.step, [1], "stopped at the first step boundary")
        XCTAssertEqual(metrics.models["convlstm"]?.status, .notRun)
        XCTAssertNotNil(metrics.baselines["persistence"]?.closedLoop)
        let page = try checkReport(in: output, charts: ["chart-loss-epoch", "chart-loss-step", "chart-mse-horizon",
                                                        "chart-ssim-horizon"])
        XCTAssert(page.text.contains("Stopped by SIGINT"))
        XCTAssert(page.text.contains("not run"), "the model never started is listed as such")
    }

    /// A real `frameseq train` process sent SIGINT: exit 130, an interrupted
    /// record and report, and a checkpoint `--resume` continues from.
    func testAnInterruptedTrainProcessExits130AndResumes() throws {
        let bundle = Bundle(for: Self.self).bundleURL
        let candidates = [bundle, bundle.deletingLastPathComponent()].map { $0.appendingPathComponent("frameseq") }
        guard let binary = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
            throw XCTSkip("no frameseq executable next to the tests (\(candidates.map(\.path)))")
        }
        let folder = try temporaryFolder(self)
        let frames = try writeMovingSquareNPY(in: folder, count: 30, size: 8)
        let output = folder + "/run"
        let child = Process()
        child.executableURL = binary
        child.arguments = trainArguments(frames, output, epochs: 100_000)
        let errors = Pipe()
        (child.standardOutput, child.standardError) = (FileHandle.nullDevice, errors)
        try child.run()
        defer { if child.isRunning { kill(child.processIdentifier, SIGKILL) } }
        let deadline = Date().addingTimeInterval(60)   // the first epoch's checkpoint: training has begun
        while !FileManager.default.fileExists(atPath: output + "/checkpoint.safetensors"), child.isRunning, Date() < deadline {
            usleep(2_000)
        }
        kill(child.processIdentifier, SIGINT)
        let stopDeadline = Date().addingTimeInterval(60)    // a step boundary comes within milliseconds here
        while child.isRunning, Date() < stopDeadline { usleep(5_000) }
        if child.isRunning {
            kill(child.processIdentifier, SIGKILL)
            XCTFail("the run did not stop within 60 s of SIGINT")
        }
        child.waitUntilExit()
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(child.terminationReason, .exit, stderr)
        XCTAssertEqual(child.terminationStatus, 130, stderr)
        XCTAssert(stderr.hasPrefix("frameseq train: interrupted in epoch"), stderr)

        let metrics = try MetricsFile.read(output + "/metrics.json")
        XCTAssertEqual(metrics.status, .interrupted)
        let history = try XCTUnwrap(metrics.models["fc_lstm"]?.history)
        XCTAssertGreaterThanOrEqual(history.count, 1)
        XCTAssertEqual(metrics.history, history, "the top-level history is the model's")
        _ = try checkReport(in: output, charts: ["chart-loss-epoch", "chart-loss-step"])
        let saved = try Checkpoint.read(contentsOf: output + "/checkpoint.safetensors")
        XCTAssertEqual(saved.step, try XCTUnwrap(metrics.models["fc_lstm"]?.lossByStep?.step.last),
                       "the checkpoint holds the step the run stopped at")
        let resumed = CLIRun(["train", "--resume", output, "--epochs", "\(history.count + 1)", "--quiet"])
        XCTAssertEqual(resumed.status, 0, resumed.err)
        XCTAssertEqual(try MetricsFile.read(output + "/metrics.json").status, .completed)
    }
}

/// A flag set once, from whichever thread prints.
private final class LockedFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var isSet = false
    /// Sets the flag; true the first time only.
    func set() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        if isSet { return false }
        isSet = true
        return true
    }
}

import Foundation
import FrameSequencing
import Recurrent
import XCTest
@testable import FrameseqCLI

/// `frameseq train --closed-loop K` and `--horizon K` on tiny data: the run
/// trains, its checkpoint holds the choice, `--resume` and `forecast` use it.
final class MultiStepTrainingCommandTests: XCTestCase {
    private func train(_ frames: String, _ output: String, model: String, _ extra: [String]) -> CLIRun {
        CLIRun(["train", "--frames", frames, "--output", output, "--model", model, "--epochs", "1", "--batch-size", "4",
                "--context", "3", "--steps", "3", "--test-frames", "8", "--hidden", "8", "--filters", "4,4", "--quiet"] + extra)
    }

    func testClosedLoopTrainingIsRecordedResumedAndScoredClosedLoop() throws {
        let folder = try temporaryFolder(self)
        let frames = try writeMovingSquareNPY(in: folder)
        for kind in [ModelKind.fcLSTM, .convLSTM] {
            let output = "\(folder)/\(kind.rawValue)"
            let run = train(frames, output, model: kind.rawValue, ["--closed-loop", "3", "--sampling", "linear:5", "--reverse-sampling"])
            XCTAssertEqual(run.status, 0, run.err)
            let checkpoint = try Checkpoint.read(contentsOf: output + "/checkpoint.safetensors")
            XCTAssertEqual(checkpoint.metadata["train.closed_loop"], "3")
            XCTAssertEqual(checkpoint.metadata["train.sampling"], "linear:5")
            XCTAssertEqual(checkpoint.metadata["train.reverse_sampling"], "true")
            let plan = try TrainingPlan(metadata: checkpoint.metadata, source: "test", showsProgress: false)
            XCTAssertEqual(plan.closedLoop, ClosedLoopPlan(horizon: 3, sampling: .linear(steps: 5), reverse: true))
            // Validation scores the 3-step closed-loop forecast of the held-out windows.
            let history = try XCTUnwrap(try MetricsFile.read(output + "/metrics.json").models[kind.rawValue]?.history)
            XCTAssert(history.allSatisfy { ($0.validationLoss ?? -1) > 0 }, "\(history)")
            let resumed = CLIRun(["train", "--resume", output, "--epochs", "2", "--quiet"])
            XCTAssertEqual(resumed.status, 0, resumed.err)
            XCTAssertEqual(try Checkpoint.read(contentsOf: output + "/checkpoint.safetensors").metadata["train.closed_loop"], "3")
        }
    }

    func testHorizonTrainsTheForecasterOnKFramesAndForecastsKAPass() throws {
        let folder = try temporaryFolder(self)
        let frames = try writeMovingSquareNPY(in: folder)
        let output = folder + "/horizon"
        let run = train(frames, output, model: "convlstm", ["--horizon", "3"])
        XCTAssertEqual(run.status, 0, run.err)
        let checkpoint = try Checkpoint.read(contentsOf: output + "/model.safetensors")
        let settings = try ModelSettings(metadata: checkpoint.metadata, source: "test")
        XCTAssertEqual(settings.horizon, 3)
        guard var model = try settings.makeModel() as? ConvLSTMForecaster else { return XCTFail("a ConvLSTM") }
        XCTAssertEqual(model.horizon, 3)
        try checkpoint.restore(into: &model)
        // `forecast` gives the model's own forecast, three frames a pass.
        let forecast = CLIRun(["forecast", "--checkpoint", output + "/model.safetensors", "--frames", frames, "--steps", "5",
                               "--output", output + "/forecast"])
        XCTAssertEqual(forecast.status, 0, forecast.err)
        XCTAssertEqual(try NPY.read(contentsOf: output + "/forecast/forecast.npy").shape, [5, 8, 8, 1])
    }

    func testAugmentationIsRecordedResumedAndRefusedWithPatches() throws {
        let folder = try temporaryFolder(self)
        let frames = try writeMovingSquareNPY(in: folder)
        let output = folder + "/augmented"
        let run = train(frames, output, model: "fc_lstm", ["--augment", "horizontal,transpose,reverse", "--closed-loop", "2"])
        XCTAssertEqual(run.status, 0, run.err)
        let checkpoint = try Checkpoint.read(contentsOf: output + "/checkpoint.safetensors")
        XCTAssertEqual(checkpoint.metadata["train.augment"], "horizontal,transpose,reverse")
        let plan = try TrainingPlan(metadata: checkpoint.metadata, source: "test", showsProgress: false)
        XCTAssertEqual(plan.augmentation, WindowAugmentation(horizontalFlip: true, transpose: true, timeReversal: true))
        XCTAssertEqual(try MetricsFile.read(output + "/metrics.json").models["fc_lstm"]?.settings?["augmentation"],
                       "horizontal,transpose,reverse")
        let resumed = CLIRun(["train", "--resume", output, "--epochs", "2", "--quiet"])
        XCTAssertEqual(resumed.status, 0, resumed.err)
        XCTAssertEqual(try Checkpoint.read(contentsOf: output + "/checkpoint.safetensors").metadata["train.augment"],
                       "horizontal,transpose,reverse")
        // Time reversal works on patches; flips would move whole patches and not the pixels in them.
        let reversed = train(frames, folder + "/patched", model: "convlstm", ["--augment", "reverse", "--patch", "2"])
        XCTAssertEqual(reversed.status, 0, reversed.err)
        let flipped = train(frames, folder + "/refused", model: "convlstm", ["--augment", "all", "--patch", "2"])
        XCTAssertEqual(flipped.status, 2, flipped.err)
        XCTAssert(flipped.err.contains("--patch 1 or --augment reverse"), flipped.err)
        for value in ["all", "none", "vertical", "horizontal,vertical,transpose,reverse"] {
            XCTAssertEqual(try WindowAugmentation(parsing: value, option: "--augment").optionValue,
                           value == "horizontal,vertical,transpose,reverse" ? "all" : value)
        }
    }

    func testMultiStepOptionsAreCheckedTogether() throws {
        for (arguments, message) in [
            (["--sampling", "linear"], "--sampling needs --closed-loop"),
            (["--reverse-sampling"], "--reverse-sampling needs --closed-loop"),
            (["--closed-loop", "2", "--sampling", "cubic"], "'cubic' is not a sampling schedule"),
            (["--closed-loop", "2", "--sampling", "exponential:1.5"], "'exponential:1.5' is not a sampling schedule"),
            (["--model", "fc_lstm", "--horizon", "3"], "--horizon is the ConvLSTM"),
            (["--horizon", "3", "--closed-loop", "2"], "choose one"),
            (["--augment", "rotate"], "unknown symmetry 'rotate'"),
            (["--augment", "all,none"], "unknown symmetry 'none'"),
        ] {
            let run = CLIRun(["train", "--frames", "x.npy"] + arguments)
            XCTAssertNotEqual(run.status, 0)
            XCTAssert(run.err.contains(message), "\(arguments): \(run.err)")
        }
    }
}

import Foundation
import FrameSequencing
import Recurrent
import XCTest
@testable import FrameseqCLI

/// `--model fc_gru` through every command: closed-loop training, the forecast
/// from its checkpoint, the demo, and what it refuses (resuming is in
/// TrainResumeTests, with the FC-LSTM's).
final class FCGRUCommandTests: XCTestCase {
    private func arguments(_ frames: String, _ output: String, epochs: Int = 1, extra: [String] = []) -> [String] {
        ["train", "--frames", frames, "--output", output, "--model", "fc_gru", "--epochs", "\(epochs)", "--batch-size", "4",
         "--context", "3", "--steps", "2", "--test-frames", "6", "--hidden", "8", "--quiet"] + extra
    }

    /// Trained on closed-loop rollouts, its checkpoint rebuilds an FC-GRU whose
    /// own closed-loop forecast is what `forecast` wrote.
    func testClosedLoopTrainingAndTheForecastIsTheCheckpointedModels() throws {
        let folder = try temporaryFolder(self)
        let bytes = try writeMovingSquareNPY(in: folder, name: "bytes.npy")
        let values = try NPY.read(contentsOf: bytes).tensor().scalars.map { $0 * 2 - 100 }   // floats outside 0...1
        let frames = folder + "/floats.npy"
        try NPY.write(try NumericArray(shape: [30, 8, 8, 1], data: .float32(values)), to: frames)
        let run = CLIRun(arguments(frames, folder + "/model", extra: ["--closed-loop", "2"]))
        XCTAssertEqual(run.status, 0, run.err)
        let record = try MetricsFile.read(folder + "/model/metrics.json")
        XCTAssertEqual(record.models["fc_gru"]?.title, "FC-GRU")
        XCTAssertEqual(record.models["fc_gru"]?.settings?["hidden units"], "8")
        XCTAssertNotNil(record.models["fc_gru"]?.settings?["closed loop"])

        let forecast = CLIRun(["forecast", "--checkpoint", folder + "/model/model.safetensors", "--frames", frames,
                               "--steps", "3", "--from", "20", "--output", folder + "/out"])
        XCTAssertEqual(forecast.status, 0, forecast.err)
        let checkpoint = try Checkpoint.read(contentsOf: folder + "/model/model.safetensors")
        XCTAssertEqual(checkpoint.metadata["model.kind"], "fc_gru")
        var model = try XCTUnwrap(try ModelSettings(metadata: checkpoint.metadata, source: "test").makeModel() as? CNNGRUForecaster)
        try checkpoint.restore(into: &model)
        let scaling = try Normalization(checkpointMetadata: checkpoint.metadata, source: "test")
        let context = try Tensor(shape: [1, 3, 8, 8, 1],
                                 scalars: Array(values[17 * 64 ..< 20 * 64]).map { ($0 - scaling.center[0]) * scaling.factor[0] })
        let expected = scaling.invert(try model.forecastClosedLoop(context: context, steps: 3).scalars)
        let written = try NPY.read(contentsOf: folder + "/out/forecast.npy")
        guard case .float32(let actual) = written.data else { return XCTFail("float input gives a float forecast") }
        XCTAssertEqual(written.shape, [3, 8, 8, 1])
        for (a, e) in zip(actual, expected) { XCTAssertEqual(a, e, accuracy: 1e-4 * max(1, abs(e))) }
    }

    /// The GRU has no recomputation: `--recompute` is refused, and the planner
    /// halves the batch instead of recomputing.
    func testRecomputationIsRefusedAndNeverPlanned() throws {
        let folder = try temporaryFolder(self)
        let frames = try writeMovingSquareNPY(in: folder)
        assertFails(CLIRun(arguments(frames, folder + "/r", extra: ["--recompute", "2"])), status: 2,
                    mentioning: ["--recompute", "fc_gru"])
        let header = SeriesHeader(count: 400, frame: try FrameShape(height: 64, width: 64, channels: 1), isBytes: true, valueBytes: 1)
        func planner(budget: Int) -> Planner {
            Planner(kind: .fcGRU, header: header, heldOut: 50, context: 10, windowStride: 1, steps: 10, kernelSize: 3, seed: 0,
                    budget: MemoryBudget(bytes: budget, origin: "test"))
        }
        let roomy = try planner(budget: 8 << 30).plan(SizeOptions())
        XCTAssertEqual(roomy.batchSize, 8)
        XCTAssertEqual(roomy.settings.patch, 1, "never patched by default")
        XCTAssertNil(try roomy.settings.makeModel() as? CNNLSTMForecaster)
        let eight = roomy.footprint.peakBytes
        let four = try planner(budget: 8 << 30).estimate(roomy.settings, batch: 4).peakBytes
        let tight = try planner(budget: (eight + four) / 2).plan(SizeOptions())
        XCTAssertEqual(tight.settings.recompute, 0)
        XCTAssertEqual(tight.batchSize, 4)
        XCTAssertNil(try planner(budget: 8 << 30).bestRecomputation(roomy.settings, batch: 8))
    }

    /// `demo --models fc_gru` trains it alone; the default list leaves it out.
    func testTheDemoTrainsItOnRequestOnly() throws {
        XCTAssertFalse(DemoCommand.defaultModels.contains(.fcGRU))
        let folder = try temporaryFolder(self)
        let demo = CLIRun(["demo", "--quick", "--models", "fc_gru", "--frames", "40", "--size", "18", "--test-frames", "12",
                           "--epochs", "1", "--output", folder + "/demo", "--quiet"])
        XCTAssertEqual(demo.status, 0, demo.err)
        XCTAssert(demo.out.contains("FC-GRU"), demo.out)
        let checkpoint = try Checkpoint.read(contentsOf: folder + "/demo/fc_gru.safetensors")
        XCTAssertEqual(checkpoint.metadata["model.kind"], "fc_gru")
        XCTAssertEqual(try MetricsFile.read(folder + "/demo/metrics.json").modelOrder, ["fc_gru"])
    }
}

import Foundation
import FrameSequencing
import Recurrent
import XCTest
@testable import FrameseqCLI

/// `frameseq demo` end to end on a tiny configuration (small frames, one epoch):
/// every output exists, reads back, and the baselines agree with the frames.
final class DemoCommandTests: XCTestCase {
    func testTinyDemoWritesMetricsPicturesCheckpointsAndFrames() throws {
        let output = try temporaryFolder(self) + "/demo"
        let run = CLIRun(["demo", "--quick", "--quiet", "--size", "18", "--frames", "32", "--test-frames", "8",
                          "--context", "4", "--steps", "3", "--epochs", "1", "--output", output])
        XCTAssertEqual(run.status, 0, run.err)
        XCTAssert(run.out.contains("persistence"), run.out)

        let metrics = try readMetrics(output + "/metrics.json")
        XCTAssertEqual(DemoCommand.defaultModels.map(\.rawValue), ["fc_lstm", "unet", "convlstm"])
        for kind in DemoCommand.defaultModels {
            _ = try mse(metrics, "models", kind.rawValue)
            let checkpoint = try Checkpoint.read(contentsOf: "\(output)/\(kind.rawValue).safetensors")
            let settings = try ModelSettings(metadata: checkpoint.metadata, source: kind.rawValue)
            XCTAssertEqual(settings.kind, kind)
            XCTAssertEqual(settings.frameShape, try FrameShape(height: 18, width: 18, channels: 1))
            // Two rows (truth, prediction) of 3 frames with 2-pixel borders.
            let picture = try PNG.read(contentsOf: "\(output)/\(kind.rawValue).png")
            XCTAssertEqual(picture.shape, try FrameShape(height: 2 + 2 * 20, width: 2 + 3 * 20, channels: 1))
        }
        let comparison = try PNG.read(contentsOf: output + "/comparison.png")
        XCTAssertEqual(comparison.shape.height, 2 + (2 + DemoCommand.defaultModels.count) * 20, "rows: truth, persistence and every model")
        XCTAssertEqual(ModelKind.allCases.map(\.rawValue), ["fc_lstm", "fc_gru", "cnn_lstm", "unet", "convlstm"])
        // MSE and SSIM (18 x 18 frames hold SSIM's window) by steps ahead, stacked, listed after the comparison.
        let horizons = try PNG.read(contentsOf: output + "/horizons.png")
        XCTAssertEqual(horizons.shape, try FrameShape(height: 2 * 330, width: 960, channels: 3))
        XCTAssert(run.out.contains(output + "/horizons.png"), "the closing line names it")

        // The baselines recomputed here from the frames the demo saved.
        let frames = try NPY.read(contentsOf: output + "/frames.npy").frameStack(scale: 1.0 / 255)
        XCTAssertEqual(frames.count, 32)
        var persistence = 0.0, mean = [Double](repeating: 0, count: 324), meanError = 0.0
        for index in 0 ..< 24 { for (i, v) in try frames.frame(at: index).scalars.enumerated() { mean[i] += Double(v) / 24 } }
        for index in 24 ..< 32 {
            let (now, before) = (try frames.frame(at: index).scalars, try frames.frame(at: index - 1).scalars)
            for i in now.indices {
                persistence += pow(Double(now[i] - before[i]), 2) / (8 * 324)
                meanError += pow(Double(now[i]) - mean[i], 2) / (8 * 324)
            }
        }
        XCTAssertEqual(try mse(metrics, "baselines", "persistence"), persistence, accuracy: 1e-6)
        XCTAssertEqual(try mse(metrics, "baselines", "mean"), meanError, accuracy: 1e-6)
        XCTAssertGreaterThan(persistence, 0.01, "the digits move, so repeating the last frame must be wrong")

        // Per-step SSIM and losses for every model, and the report rendered from them.
        let record = try MetricsFile.read(output + "/metrics.json")
        XCTAssertEqual(record.status, .completed)
        XCTAssertEqual(record.pictures.prefix(2).map(\.file), ["comparison.png", "horizons.png"])
        for (key, entry) in record.models.merging(record.baselines, uniquingKeysWith: { a, _ in a }) {
            XCTAssertEqual(entry.closedLoop?.ssimByStep?.count, 3, "\(key): SSIM at each of the 3 steps")
            XCTAssertNotNil(entry.ssim, "\(key): one-step SSIM")
        }
        XCTAssertNil(record.models[ModelKind.cnnLSTM.rawValue], "the CNN-LSTM trains only when --models names it")
        for kind in DemoCommand.defaultModels {
            XCTAssertEqual(record.models[kind.rawValue]?.history?.count, 1, "\(kind): the epoch's loss")
            XCTAssertEqual(record.models[kind.rawValue]?.lossByStep?.step.first, 1, "\(kind): each step's loss")
            XCTAssertNotNil(record.models[kind.rawValue]?.plan?.estimatedPeakBytes)
        }
        XCTAssert(run.out.contains("SSIM"), "the printed table has SSIM columns")
        _ = try checkReport(in: output, charts: ["chart-loss-epoch", "chart-loss-step", "chart-mse-horizon", "chart-ssim-horizon"])
    }

    func testDemoRefusesBadOptions() {
        assertFails(CLIRun(["demo", "--frames", "ten"]), status: 2, mentioning: ["--frames", "ten"])
        assertFails(CLIRun(["demo", "--models", "gru"]), status: 2, mentioning: ["gru", "convlstm"])
        assertFails(CLIRun(["demo", "--epoch", "3"]), status: 2, mentioning: ["unknown option --epoch"])
        assertFails(CLIRun(["demo", "--frames", "30", "--test-frames", "25"]), status: 2, mentioning: ["too few"])
        assertFails(CLIRun(["demo", "--size", "8"]), status: 2, mentioning: ["--size"])
    }

    func testHelpAndUnknownCommand() {
        for command in ["demo", "train", "forecast", "example"] {
            let run = CLIRun([command, "--help"])
            XCTAssertEqual(run.status, 0)
            XCTAssert(run.out.hasPrefix("Usage: frameseq \(command)"), run.out)
        }
        XCTAssertEqual(CLIRun(["--help"]).status, 0)
        XCTAssertEqual(CLIRun([]).status, 2)
        XCTAssertEqual(CLIRun(["fly"]).status, 2)
    }

    func testMovingDigitsAreSeededAndMove() throws {
        let a = try MovingDigits(size: 32, digitCount: 2, seed: 3).frames(count: 6).tensor()
        let b = try MovingDigits(size: 32, digitCount: 2, seed: 3).frames(count: 6).tensor()
        let c = try MovingDigits(size: 32, digitCount: 2, seed: 4).frames(count: 6).tensor()
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a, c)
        let first = try a.slice(0 ..< 1).scalars, second = try a.slice(1 ..< 2).scalars
        XCTAssertNotEqual(first, second)
        XCTAssertEqual(first.reduce(0, +), second.reduce(0, +), accuracy: 60, "digits move, they do not vanish")
        XCTAssert(first.allSatisfy { $0 == 0 || $0 == 1 })
    }
}

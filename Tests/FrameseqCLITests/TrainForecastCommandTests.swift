import Foundation
import FrameSequencing
import Recurrent
import XCTest
@testable import FrameseqCLI

/// `frameseq train` then `frameseq forecast` on tiny data sets: NPY bytes and
/// floats, PGM and PNG folders, every model kind.
final class TrainForecastCommandTests: XCTestCase {
    private func train(_ frames: String, _ output: String, model: String, extra: [String] = []) -> CLIRun {
        CLIRun(["train", "--frames", frames, "--output", output, "--model", model, "--epochs", "1", "--batch-size", "4",
                "--context", "3", "--steps", "2", "--test-frames", "6", "--hidden", "8", "--filters", "4,4", "--quiet"] + extra)
    }

    func testEveryModelTrainsOnNPYBytesAndForecasts() throws {
        let folder = try temporaryFolder(self)
        let frames = try writeMovingSquareNPY(in: folder)
        for kind in ModelKind.allCases {
            let output = "\(folder)/\(kind.rawValue)"
            let run = train(frames, output, model: kind.rawValue)
            XCTAssertEqual(run.status, 0, run.err)
            let metrics = try readMetrics(output + "/metrics.json")
            _ = try mse(metrics, "models", kind.rawValue)
            _ = try mse(metrics, "baselines", "persistence")
            _ = try mse(metrics, "baselines", "mean")
            // The held-out frames' windows are scored after every epoch (Keras's validation_data).
            let history = try XCTUnwrap(try MetricsFile.read(output + "/metrics.json").models[kind.rawValue]?.history)
            XCTAssertEqual(history.count, 1)
            XCTAssert(history.allSatisfy { ($0.validationLoss ?? -1) > 0 }, "\(kind): \(history)")
            // 8 x 8 frames: too small for SSIM's 11 x 11 window, so no SSIM chart (the page says why).
            let page = try checkReport(in: output, charts: ["chart-loss-epoch", "chart-loss-step", "chart-mse-horizon"])
            XCTAssertFalse(page.chartIDs.contains("chart-ssim-horizon"))
            // The same scores by steps ahead as a picture: the MSE chart alone.
            XCTAssertEqual(try PNG.read(contentsOf: output + "/horizons.png").shape, try FrameShape(height: 330, width: 960, channels: 3))

            let forecast = CLIRun(["forecast", "--checkpoint", output + "/model.safetensors", "--frames", frames,
                                   "--steps", "4", "--output", output + "/forecast"])
            XCTAssertEqual(forecast.status, 0, forecast.err)
            let predicted = try NPY.read(contentsOf: output + "/forecast/forecast.npy")
            XCTAssertEqual(predicted.shape, [4, 8, 8, 1])
            guard case .uint8 = predicted.data else { return XCTFail("byte input gives a byte forecast") }
            XCTAssertEqual(try PNG.read(contentsOf: output + "/forecast/forecast.png").shape.width, 2 + 4 * 10)
            // A true forecast (after the last frame): nothing to score, the training history from the checkpoint.
            let forecastPage = try checkReport(in: output + "/forecast", charts: ["chart-loss-epoch"])
            XCTAssertFalse(forecastPage.chartIDs.contains("chart-mse-horizon"))
        }
    }

    /// The forecast command's frames equal the model's own closed-loop forecast from the checkpoint.
    func testForecastEqualsTheCheckpointedModelsClosedLoop() throws {
        let folder = try temporaryFolder(self)
        let frames = try writeMovingSquareNPY(in: folder, name: "float.npy")
        let values = try NPY.read(contentsOf: frames).tensor().scalars.map { $0 * 2 - 100 }   // floats outside 0...1
        let floats = folder + "/floats.npy"
        try NPY.write(try NumericArray(shape: [30, 8, 8, 1], data: .float32(values)), to: floats)
        XCTAssertEqual(train(floats, folder + "/model", model: "fc_lstm").status, 0)
        let run = CLIRun(["forecast", "--checkpoint", folder + "/model/model.safetensors", "--frames", floats,
                          "--steps", "3", "--from", "20", "--output", folder + "/out"])
        XCTAssertEqual(run.status, 0, run.err)
        XCTAssert(run.out.contains("against the 3 true frames"), run.out)
        let record = try MetricsFile.read(folder + "/out/metrics.json")
        XCTAssertEqual(record.models["fc_lstm"]?.closedLoop?.mseByStep.count, 3, "each scored step")
        XCTAssertNotNil(record.baselines["persistence"]?.closedLoop)
        _ = try checkReport(in: folder + "/out", charts: ["chart-loss-epoch", "chart-mse-horizon"])

        let checkpoint = try Checkpoint.read(contentsOf: folder + "/model/model.safetensors")
        let scaling = try Normalization(checkpointMetadata: checkpoint.metadata, source: "test")
        let fitted = try Normalization.fit(try FrameStack(stacked: values, frameShape: try FrameShape(height: 8, width: 8, channels: 1)),
                                           method: .minMax())
        XCTAssertEqual(scaling.center, fitted.center, "fitted on the training frames, as Normalization.fit fits")
        XCTAssertEqual(scaling.factor, fitted.factor)
        var model = try XCTUnwrap(try ModelSettings(metadata: checkpoint.metadata, source: "test").makeModel() as? CNNLSTMForecaster)
        try checkpoint.restore(into: &model)
        let context = try Tensor(shape: [1, 3, 8, 8, 1],
                                 scalars: Array(values[17 * 64 ..< 20 * 64]).map { ($0 - scaling.center[0]) * scaling.factor[0] })
        let expected = scaling.invert(try model.forecastClosedLoop(context: context, steps: 3).scalars)
        let written = try NPY.read(contentsOf: folder + "/out/forecast.npy")
        guard case .float32(let actual) = written.data else { return XCTFail("float input gives a float forecast") }
        XCTAssertEqual(written.shape, [3, 8, 8, 1])
        for (a, e) in zip(actual, expected) { XCTAssertEqual(a, e, accuracy: 1e-4 * max(1, abs(e))) }
    }

    func testTrainsOnPGMAndRGBPNGFolders() throws {
        let folder = try temporaryFolder(self)
        for (format, channels) in [("pgm", 1), ("png", 3)] {
            let images = "\(folder)/\(format)"
            try FileManager.default.createDirectory(atPath: images, withIntermediateDirectories: true)
            let bytes = movingSquareBytes(count: 24, size: 8, channels: channels)
            let shape = try FrameShape(height: 8, width: 8, channels: channels)
            for index in 0 ..< 24 {   // frame10 after frame9: natural order, not string order
                let image = try ByteImage(shape: shape, pixels: Array(bytes[index * 64 * channels ..< (index + 1) * 64 * channels]))
                let path = "\(images)/frame\(index).\(format)"
                if format == "png" { try PNG.write(image, to: path) } else { try PNM.write(image, to: path) }
            }
            let output = "\(folder)/\(format)-model"
            let run = train(images, output, model: "convlstm")
            XCTAssertEqual(run.status, 0, run.err)
            let checkpoint = try Checkpoint.read(contentsOf: output + "/model.safetensors")
            XCTAssertEqual(try ModelSettings(metadata: checkpoint.metadata, source: "test").frameShape, shape)
            XCTAssertEqual(try PNG.read(contentsOf: output + "/forecast.png").shape.channels, channels)
        }
    }

    /// Pictures the commands write read back as the same pixels.
    func testFilmstripPNGReadsBackIdentically() throws {
        let folder = try temporaryFolder(self)
        let values: [Float] = (0 ..< 120).map { (index: Int) -> Float in Float(index) / 255 }
        let rows = [try Tensor(shape: [2, 5, 4, 3], scalars: values), try Tensor(shape: [2, 5, 4, 3], repeating: 1)]
        let picture = try filmstrip(rows)
        try PNG.write(picture, to: folder + "/strip.png")
        XCTAssertEqual(try PNG.read(contentsOf: folder + "/strip.png"), picture)
        XCTAssertEqual(picture[2, 2, 0], UInt8((values[0] * 255).rounded()))
        let secondRowTop = 2 + 5 + 2
        XCTAssertEqual(picture[secondRowTop, 2, 1], 255)
        XCTAssertEqual(picture[0, 0, 0], 128, "borders are grey")
    }

    /// A forecast from the end of a series reads only the frames before it: an
    /// unreadable image early in the folder does not matter, and one frame PNG
    /// is written per forecast frame.
    func testForecastReadsOnlyTheFramesItNeeds() throws {
        let folder = try temporaryFolder(self)
        let images = folder + "/images"
        try FileManager.default.createDirectory(atPath: images, withIntermediateDirectories: true)
        let pixels = movingSquareBytes(count: 30, size: 8)
        for index in 0 ..< 30 {
            try PNG.write(try ByteImage(shape: FrameShape(height: 8, width: 8, channels: 1),
                                        pixels: Array(pixels[index * 64 ..< (index + 1) * 64])),
                          to: images + "/frame\(index).png")
        }
        XCTAssertEqual(train(images, folder + "/model", model: "convlstm").status, 0)
        try Data("not a PNG".utf8).write(to: URL(fileURLWithPath: images + "/frame2.png"))
        let run = CLIRun(["forecast", "--checkpoint", folder + "/model/model.safetensors", "--frames", images,
                          "--steps", "3", "--output", folder + "/next"])
        XCTAssertEqual(run.status, 0, run.err)
        for index in 30 ..< 33 {
            XCTAssertEqual(try PNG.read(contentsOf: folder + "/next/frame\(index).png").shape,
                           try FrameShape(height: 8, width: 8, channels: 1))
        }
        // From inside the series the broken frame is read, and named.
        let inside = CLIRun(["forecast", "--checkpoint", folder + "/model/model.safetensors", "--frames", images,
                             "--from", "4", "--output", folder + "/inside"])
        assertFails(inside, status: 1, mentioning: ["frame2.png"])
    }

    /// The data map a checkpoint keeps: exactly (center and factor), and from
    /// the lower and upper bound alone for checkpoints written before them.
    func testTheCheckpointKeepsTheDataMap() throws {
        let map = try Normalization(center: [-100], factor: [Float(1.0 / 7.3)])
        XCTAssertEqual(try Normalization(checkpointMetadata: map.checkpointMetadata(range: -100 ... -92.7), source: "test"), map)
        let old = try Normalization(checkpointMetadata: ["data.lower": "-100", "data.upper": "-98"], source: "old")
        XCTAssertEqual(old.center, [-100])
        XCTAssertEqual(old.factor, [0.5])
        XCTAssertTrue(try Normalization(checkpointMetadata: ["data.lower": "0", "data.upper": "1"], source: "old").isIdentity)
        XCTAssertThrowsError(try Normalization(checkpointMetadata: ["data.lower": "1", "data.upper": "1"], source: "bad"))
        XCTAssertThrowsError(try Normalization(checkpointMetadata: [:], source: "none"))
    }
}

import Foundation
import FrameSequencing
import Recurrent
import XCTest
@testable import FrameseqCLI

/// report.html rendered from a metrics.json made here: every model, chart and
/// number, pictures as data URIs, nothing read from outside the folder.
final class ReportPageTests: XCTestCase {
    /// A record with two trained models (one with validation losses spanning
    /// decades), both baselines and two pictures written into `folder`.
    private func record(in folder: String) throws -> MetricsFile {
        let log = TrainingLog()
        for step in 1 ... 1234 { log.recordStep(step, loss: 0.5 / Float(step)) }   // 0.5 down to 4e-4: a log axis
        for epoch in 1 ... 3 {
            let training: Float = 0.5 / Float(epoch * epoch * 10), validation: Float = 0.06 / Float(epoch)
            log.epochs.append(EpochSummary(epoch: epoch, trainingLoss: training, validationLoss: validation,
                                           learningRate: 1e-3, seconds: 2.5))
        }
        log.parameterCount = 56_737
        func scores(_ base: Double) -> ClosedLoopScores {
            ClosedLoopScores(steps: 4, mse: base * 2.5, psnr: 10 * log10(1 / (base * 2.5)), ssim: 0.8 - base,
                             mseByStep: [base, base * 2, base * 3, base * 4], ssimByStep: [0.9 - base, 0.8 - base, 0.75, 0.7])
        }
        var convLSTM = ModelEntry(title: "ConvLSTM", status: .completed, mse: 0.00531, psnr: 22.75, ssim: 0.91234,
                                  closedLoop: scores(0.01), trainSeconds: 7.5, parameters: 56_737,
                                  settings: ["loss": "bce", "filters": "16,16"])
        convLSTM.record(log)
        let fcLSTM = ModelEntry(title: "FC-LSTM", status: .completed, mse: 0.0261, psnr: 15.83, ssim: 0.41,
                                closedLoop: scores(0.026), trainSeconds: 3, parameters: 1_234_567, settings: ["loss": "bce"],
                                history: [EpochRecord(epoch: 1, loss: 0.31, learningRate: 1e-3, seconds: 1)])
        let strip = try ByteImage(shape: FrameShape(height: 6, width: 20, channels: 1), pixels: (0 ..< 120).map { UInt8($0 * 2) })
        try PNG.write(strip, to: folder + "/convlstm.png")
        try PNG.write(strip, to: folder + "/comparison.png")
        return MetricsFile(
            command: "demo", status: .completed, note: "a test record",
            data: DataDescription(kind: "moving digits", frames: 40, height: 18, width: 18, channels: 1, trainFrames: 30,
                                  testFrames: 10, seed: 3),
            context: 4, quick: true, settings: ["steps": "4"], modelOrder: ["convlstm", "fc_lstm"],
            models: ["convlstm": convLSTM, "fc_lstm": fcLSTM],
            baselines: ["persistence": ModelEntry(title: "persistence", mse: 0.0381, psnr: 999, ssim: 0.5, closedLoop: scores(0.04)),
                        "mean": ModelEntry(title: "mean frame", mse: 0.0268, psnr: 15.72, closedLoop: scores(0.027))],
            pictures: [PictureEntry(file: "comparison.png", caption: "rows"), PictureEntry(file: "convlstm.png", caption: "strip")])
    }

    func testThePageShowsEveryModelChartAndNumberOfItsMetricsFile() throws {
        let folder = try temporaryFolder(self)
        try writeRecord(try record(in: folder), to: folder)
        let page = try checkReport(in: folder, charts: ["chart-loss-epoch", "chart-loss-step", "chart-mse-horizon",
                                                        "chart-ssim-horizon"])
        // The numbers of the record made here, as the page must show them.
        for shown in ["0.005310", "22.75", "0.9123", "inf", "1\u{202F}234\u{202F}567"] {
            XCTAssert(page.text.contains(shown), "'\(shown)' on the page")
        }
        XCTAssertEqual(page.cells["metrics-table"]?["mean"]?["ssim"], "\u{2013}", "a missing SSIM is a dash, not a 0")
        // Charts: log scale where losses span decades, baselines as dashed reference lines with a legend.
        XCTAssert(page.text.contains("binary cross-entropy of the batch, log scale"), "the per-step loss axis is logarithmic")
        XCTAssert(page.text.contains("persistence (baseline)") && page.text.contains("mean frame (baseline)"))
        XCTAssert(page.text.contains("ConvLSTM validation"), "validation losses have their own line")
        XCTAssert(page.text.contains("steps ahead (frames"), "the horizon axis says what it counts")
        let html = try String(contentsOfFile: folder + "/report.html", encoding: .utf8)
        XCTAssert(html.contains(#"stroke-dasharray="8 4""#) && html.contains(#"stroke-dasharray="3 3""#))
        XCTAssert(page.text.contains("1234 steps recorded, 500 drawn"), "the thinning is stated")
    }

    /// Each model's page and file agree after a real (tiny) demo: see
    /// DemoCommandTests. Here: a record naming a picture outside its folder.
    func testAPictureOutsideTheFolderIsRefused() throws {
        let folder = try temporaryFolder(self)
        try FileManager.default.createDirectory(atPath: folder + "/run", withIntermediateDirectories: true)
        var record = try record(in: folder + "/run")
        try PNG.write(try ByteImage(shape: FrameShape(height: 2, width: 2, channels: 1), pixels: [1, 2, 3, 4]), to: folder + "/x.png")
        for name in ["../x.png", folder + "/x.png", "/etc/passwd", "sub/x.png", "..", ".", "", ".hidden.png", "x.png\u{0}"] {
            XCTAssertFalse(ReportPictures.isPlainFileName(name), name)
            record.pictures = [PictureEntry(file: name, caption: "outside")]
            XCTAssertThrowsError(try writeRecord(record, to: folder + "/run"), name) { error in
                XCTAssert("\(error)".contains("not a plain file name"), "\(error)")
            }
            XCTAssertFalse(FileManager.default.fileExists(atPath: folder + "/run/report.html"), "\(name): no page written")
        }
        for name in ["convlstm.png", "frame10.png", "fc_lstm-2.png"] { XCTAssert(ReportPictures.isPlainFileName(name), name) }

        // A link in the folder is not followed: it could point anywhere.
        try FileManager.default.createSymbolicLink(atPath: folder + "/run/link.png", withDestinationPath: folder + "/x.png")
        record.pictures = [PictureEntry(file: "link.png", caption: "a link")]
        try writeRecord(record, to: folder + "/run")
        let html = try String(contentsOfFile: folder + "/run/report.html", encoding: .utf8)
        XCTAssertFalse(html.contains("<img"), "nothing embedded through a link")
        XCTAssert(html.contains("link.png is not a regular file"), "the page says why")
    }

    func testAxesTurnLogarithmicWhenValuesSpanMoreThanADecade() {
        let log = ChartAxis.fitting([0.5, 0.002, .nan], allowsLog: true)
        XCTAssertEqual(log.scale, .logarithmic)
        XCTAssertEqual(log.lower, 0.001, accuracy: 1e-15)
        XCTAssertEqual(log.upper, 1, accuracy: 1e-12)
        XCTAssertEqual(log.fraction(0.01)!, 1.0 / 3, accuracy: 1e-12)
        XCTAssertNil(log.fraction(0), "zero has no place on a log axis")
        let linear = ChartAxis.fitting([0.21, 0.29], allowsLog: true)
        XCTAssertEqual(linear.scale, .linear, "less than a decade")
        XCTAssert(linear.lower <= 0.21 && linear.upper >= 0.29 && linear.ticks.count >= 3, "\(linear)")
        XCTAssertEqual(ChartAxis.fitting([-0.1, 0.9], allowsLog: true).scale, .linear, "negative values (SSIM)")
        let epochs = ChartAxis.fitting([1], allowsLog: false, integers: true)
        XCTAssertEqual(epochs.ticks, [0, 1, 2], "one epoch still gets an axis")
        XCTAssertEqual(ChartAxis.fitting([1, 10], allowsLog: false, integers: true).ticks, [1, 2, 4, 6, 8, 10], "step 1 labelled")
        XCTAssertEqual(ChartAxis.fitting([1, 170], allowsLog: false, integers: true).ticks, [1, 50, 100, 150])
        XCTAssertEqual(ChartAxis.niceStep(0.03), 0.05)
        XCTAssertEqual(linear.label(0.25), "0.25")
    }
}

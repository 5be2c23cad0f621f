import Foundation
import FrameSequencing
import XCTest
@testable import FrameseqCLI

/// The pixel charts of horizons.png: the font puts each glyph's pixels where
/// asked, a series lands on the rows its axis maps it to, dashes leave gaps,
/// and the picture a record draws decodes to the size its charts take.
final class RasterChartTests: XCTestCase {
    private let red = Colour(red: 200, green: 0, blue: 0)

    func testTheFontDrawsAGlyphsPixelsWhereAsked() {
        var canvas = RasterCanvas(width: 30, height: 24)
        canvas.text("7", x: 3, y: 4, red, scale: 1)
        canvas.text("1", x: 12, y: 4, red, scale: 2)
        // "7" at scale 1: its top row is full, then a diagonal to the lower left.
        let seven = BitmapFont.glyph("7"), one = BitmapFont.glyph("1")
        XCTAssertEqual(seven, [0b11111, 0b00001, 0b00010, 0b00100, 0b01000, 0b01000, 0b01000])
        for y in 0 ..< 24 {
            for x in 0 ..< 30 {
                var inked = false
                if (3 ..< 8).contains(x), (4 ..< 11).contains(y) { inked = seven[y - 4] >> (7 - x) & 1 == 1 }
                if (12 ..< 22).contains(x), (4 ..< 18).contains(y) { inked = one[(y - 4) / 2] >> (4 - (x - 12) / 2) & 1 == 1 }
                XCTAssertEqual(canvas[x, y], inked ? red : .white, "pixel (\(x), \(y))")
            }
        }
        XCTAssertEqual(BitmapFont.width("17", scale: 2), 22, "two advances less the blank column after the last")
        XCTAssertNotEqual(BitmapFont.glyph("\u{00E9}"), BitmapFont.glyph(" "), "a missing glyph shows as a box")
    }

    func testAConstantSeriesDrawsAHorizontalRunOnTheRowItsAxisMapsItTo() throws {
        let steps = (1 ... 10).map(Double.init)
        let constant = ChartSeries(name: "flat", points: steps.map { ($0, 0.25) }, colour: "#C80000")
        // Grey lines at 0 and 1 set the y axis to 0...1.
        let ends = [0.0, 1].map { value in ChartSeries(name: "\(value)", points: steps.map { ($0, value) }, colour: "#888888") }
        let chart = SVGChart(id: "flat", title: "Flat", xLabel: "steps ahead", yLabel: "value", series: [constant] + ends,
                             allowsLogY: false)
        let canvas = RasterChart(panels: [chart, chart]).canvas()
        XCTAssertEqual(canvas.height, 2 * RasterChart.panelHeight)

        // 0.25 is a quarter of the way up the plot (rows 64 to 264 of each 330-row panel), drawn 2 pixels wide.
        let axes = chart.axes
        XCTAssertEqual([axes.y.lower, axes.y.upper], [0, 1])
        for panel in 0 ..< 2 {
            let plot = RasterChart.plot(panel: panel)
            let y = try XCTUnwrap(axes.y.position(0.25, from: plot.bottom, to: plot.top))
            let row = Int(y.rounded())   // the pen covers y - 1 ..< y + 1: the rows centred at row - 0.5 and row + 0.5
            XCTAssertEqual(row, 214 + 330 * panel)
            let (first, last) = (try XCTUnwrap(axes.x.position(1, from: plot.left, to: plot.right)),
                                 try XCTUnwrap(axes.x.position(10, from: plot.left, to: plot.right)))
            XCTAssertEqual([first, last], [96, 616])
            for x in Int(first) ..< Int(last) {
                XCTAssertEqual(canvas[x, row - 1], red, "panel \(panel): the line at (\(x), \(row - 1))")
                XCTAssertEqual(canvas[x, row], red, "panel \(panel): the line at (\(x), \(row))")
                XCTAssertNotEqual(canvas[x, row - 2], red, "panel \(panel): above the line at (\(x), \(row - 2))")
                XCTAssertNotEqual(canvas[x, row + 1], red, "panel \(panel): below the line at (\(x), \(row + 1))")
            }
        }
    }

    func testADashedLineLeavesGapsAsItsPatternSays() {
        var canvas = RasterCanvas(width: 130, height: 10)
        canvas.line(through: [(5, 5), (125, 5)], red, width: 2, dashes: ChartSeries.Style.reference(dash: "8 4").dashLengths)
        let inked = (0 ..< 130).map { canvas[$0, 5] == red }
        // Dashes of 8 pixels (plus the pen's width) every 12 from x = 5: inked at 5 + 12k + 3, blank at 5 + 12k + 10.
        for k in 0 ..< 10 {
            XCTAssert(inked[5 + 12 * k + 3], "dash \(k)")
            XCTAssertFalse(inked[5 + 12 * k + 10], "gap \(k)")
        }
        XCTAssertEqual(ChartSeries.Style.solid.dashLengths, [])
    }

    func testTheHorizonsPictureDecodesToItsChartsSize() throws {
        let folder = try temporaryFolder(self)
        func scores(_ base: Double, ssim: Bool) -> ClosedLoopScores {
            ClosedLoopScores(steps: 5, mse: base * 3, psnr: 10, ssim: ssim ? 0.5 : nil, mseByStep: (1 ... 5).map { base * Double($0) },
                             ssimByStep: ssim ? [0.9, 0.8, 0.7, 0.6, 0.5] : nil)
        }
        for measuresSSIM in [true, false] {
            var record = MetricsFile(
                command: "train", status: .completed, data: DataDescription(frames: 40, height: 18, width: 18, channels: 1),
                modelOrder: ["convlstm"],
                models: ["convlstm": ModelEntry(title: "ConvLSTM", closedLoop: scores(0.01, ssim: measuresSSIM))],
                baselines: ["persistence": ModelEntry(title: "persistence", closedLoop: scores(0.04, ssim: measuresSSIM))],
                pictures: [PictureEntry(file: "forecast.png", caption: "strip")])
            let drew = try record.addHorizonsPicture(in: folder, at: 1)
            XCTAssertTrue(drew)
            XCTAssertEqual(record.pictures.map(\.file), ["forecast.png", "horizons.png"])
            let picture = try PNG.read(contentsOf: folder + "/horizons.png")
            XCTAssertEqual(picture.shape, try FrameShape(height: (measuresSSIM ? 2 : 1) * 330, width: 960, channels: 3),
                           "MSE\(measuresSSIM ? " and SSIM" : "") stacked")
            // The model's colour (the palette's first) and persistence's dark grey are drawn.
            let colours = Set(stride(from: 0, to: picture.pixels.count, by: 3).map { picture.pixels[$0 ..< $0 + 3] })
            XCTAssert(colours.contains([0x00, 0x72, 0xB2]) && colours.contains([0x22, 0x22, 0x22]), "\(colours.count) colours")
        }
        var unscored = MetricsFile(command: "train", status: .failed,
                                   data: DataDescription(frames: 4, height: 8, width: 8, channels: 1), modelOrder: ["convlstm"],
                                   models: ["convlstm": ModelEntry(title: "ConvLSTM")], baselines: [:], pictures: [])
        try FileManager.default.removeItem(atPath: folder + "/horizons.png")
        let drew = try unscored.addHorizonsPicture(in: folder, at: 1)
        XCTAssertFalse(drew, "no closed-loop scores, no chart")
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder + "/horizons.png"))
        XCTAssertEqual(unscored.pictures, [])
    }
}

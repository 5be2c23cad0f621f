import FrameSequencing

/// Line charts as one picture, for a PNG file beside the filmstrips: the
/// report's charts stacked one above the other, each with its title, the y
/// axis's title, grid lines, ticks and tick labels, the x axis's title, and
/// one legend right of the top chart naming every line once.
///
/// The charts are ``SVGChart`` values, which hold the series, labels and axis
/// rules, so the picture and the report's SVG agree: the same axes
/// (``SVGChart/axes``, ticks and labels from ``ChartAxis``), colours, dash
/// patterns, markers and drawing order (baselines under models). Only the
/// pixels are drawn here, by ``RasterCanvas``; text is ``BitmapFont`` at twice
/// its size, 12 pixels a character. Lines are 2 pixels wide, baselines included.
///
/// Edge behaviour: a legend name too long for the space right of the plot
/// (about 25 characters) is cut at the picture's edge; a chart with no series
/// draws its frame and the axes `0...1`.
struct RasterChart {
    /// Drawn top to bottom.
    var panels: [SVGChart]

    static let width = 960
    /// The height of each chart; the picture is as tall as its charts together.
    static let panelHeight = 330
    /// The plot area within each chart's panel; the legend takes the space right of it.
    static let plot: SVGChart.PlotArea = (left: 96, right: 616, top: 64, bottom: 264)
    static let legendLeft = 646
    /// Each font pixel is drawn as a square of this side.
    static let textScale = 2
    static let titleInk = Colour(hex: "#111111"), labelInk = Colour(hex: "#222222")
    static let gridInk = Colour(hex: "#dddddd"), axisInk = Colour(hex: "#333333")

    /// The picture's height: one ``panelHeight`` per chart (one, empty, for none).
    var height: Int { max(1, panels.count) * Self.panelHeight }

    /// The plot area of panel `index` in picture coordinates.
    static func plot(panel index: Int) -> SVGChart.PlotArea {
        let offset = Double(index * panelHeight)
        return (plot.left, plot.right, plot.top + offset, plot.bottom + offset)
    }

    /// The charts drawn on a white canvas.
    func canvas() -> RasterCanvas {
        var canvas = RasterCanvas(width: Self.width, height: height)
        for (index, chart) in panels.enumerated() { draw(chart, in: Self.plot(panel: index), on: &canvas) }
        drawLegend(on: &canvas)
        return canvas
    }

    /// The picture as an RGB image, for ``PNG/write(_:to:)``.
    func image() throws -> ByteImage { try canvas().image() }

    /// Each line once, by name, in the order the charts list them.
    var legend: [ChartSeries] {
        var seen = Set<String>()
        return panels.flatMap(\.series).filter { seen.insert($0.name).inserted }
    }

    private func draw(_ chart: SVGChart, in plot: SVGChart.PlotArea, on canvas: inout RasterCanvas) {
        let scale = Self.textScale
        let (xAxis, yAxis) = chart.axes
        let (left, right, top, bottom) = (Int(plot.left), Int(plot.right), Int(plot.top), Int(plot.bottom))
        canvas.text(chart.title, x: 12, y: top - 54, Self.titleInk, scale: scale)
        canvas.text(chart.yAxisTitle(yAxis), x: 12, y: top - 30, Self.labelInk, scale: scale)
        // Grid lines and y tick labels, right-aligned and centred on their line.
        for tick in yAxis.ticks {
            guard let y = yAxis.position(tick, from: plot.bottom, to: plot.top) else { continue }
            let row = Int(y.rounded(.down)), label = yAxis.label(tick)
            canvas.fill(x: left ..< right, y: row ..< row + 1, Self.gridInk)
            canvas.text(label, x: left - 8 - BitmapFont.width(label, scale: scale), y: row - BitmapFont.glyphHeight * scale / 2,
                        Self.labelInk, scale: scale)
        }
        for tick in xAxis.ticks {
            guard let x = xAxis.position(tick, from: plot.left, to: plot.right) else { continue }
            let column = Int(x.rounded(.down)), label = xAxis.label(tick)
            canvas.fill(x: column ..< column + 1, y: bottom ..< bottom + 6, Self.axisInk)
            canvas.text(label, x: column - BitmapFont.width(label, scale: scale) / 2, y: bottom + 10, Self.labelInk, scale: scale)
        }
        canvas.fill(x: left - 1 ..< left, y: top ..< bottom + 1, Self.axisInk)
        canvas.fill(x: left - 1 ..< right, y: bottom ..< bottom + 1, Self.axisInk)
        canvas.text(chart.xLabel, x: (left + right) / 2 - BitmapFont.width(chart.xLabel, scale: scale) / 2, y: bottom + 34,
                    Self.titleInk, scale: scale)
        // Lines may overshoot the plot by a marker's radius, so markers at its edges are drawn whole.
        canvas.clip = (left - 4 ..< right + 5, top - 4 ..< bottom + 5)
        for line in chart.drawingOrder {
            let colour = Colour(hex: line.colour)
            let runs = line.runs { SVGChart.position(of: $0, axes: (xAxis, yAxis), plot: plot) }
            for run in runs { canvas.line(through: run, colour, width: 2, dashes: line.style.dashLengths) }
            if line.drawsMarkers {
                for point in runs.joined() { canvas.disc(centre: point, radius: 3, colour) }
            }
        }
        canvas.clip = (0 ..< canvas.width, 0 ..< canvas.height)
    }

    /// Right of the top plot: each line's pattern (and marker) and its name.
    private func drawLegend(on canvas: inout RasterCanvas) {
        let left = Double(Self.legendLeft)
        for (index, line) in legend.enumerated() {
            let y = Self.plot.top + 8 + Double(index * 24)
            let colour = Colour(hex: line.colour)
            canvas.line(through: [(left, y), (left + 30, y)], colour, width: 2, dashes: line.style.dashLengths)
            if line.drawsMarkers { canvas.disc(centre: (left + 15, y), radius: 3, colour) }
            canvas.text(line.name, x: Self.legendLeft + 40, y: Int(y) - BitmapFont.glyphHeight * Self.textScale / 2,
                        Self.labelInk, scale: Self.textScale)
        }
    }
}

extension ChartSeries.Style {
    /// ``dashPattern`` as lengths in pixels (dash, gap, ...); empty for a solid line.
    var dashLengths: [Double] {
        dashPattern?.split(separator: " ").compactMap { Double($0) } ?? []
    }
}

import Foundation

/// One line of an ``SVGChart``.
struct ChartSeries {
    enum Style: Equatable {
        /// A solid line: a model.
        case solid
        /// A dotted line: a model's second measure (validation loss).
        case dotted
        /// A dashed reference line (a baseline), with the SVG dash pattern.
        case reference(dash: String)
    }

    var name: String
    /// (x, y) pairs in drawing order; a point the y axis cannot show (a NaN,
    /// a value at or below 0 on a log scale) breaks the line there.
    var points: [(x: Double, y: Double)]
    /// A CSS colour (`#0072B2`).
    var colour: String
    var style: Style = .solid
    /// Circles at the points (drawn only up to 60 points, where they stay apart).
    var markers = false
}

/// A line chart as inline SVG, drawn without scripts or fonts from anywhere:
/// a title, labelled axes with tick labels and grid lines, a legend beside
/// the plot, and the y axis logarithmic when the values span more than a
/// decade (the label says so).
///
/// The SVG is also well-formed XML (an XHTML page can be parsed with it), with
/// `role="img"` and a `<title>` for screen readers, and its text is dark on
/// white so it prints legibly. Its size is fixed in pixels through `viewBox`,
/// so a stylesheet may scale it to the page.
struct SVGChart {
    /// The element id, unique in the page (`chart-loss-epoch`).
    var id: String
    var title: String
    /// The x axis's quantity and unit (`epoch`, `steps ahead (frames)`).
    var xLabel: String
    var yLabel: String
    var series: [ChartSeries]
    /// Whether x values are counts (ticks on whole numbers).
    var integerX = true
    /// Whether the y axis may be logarithmic (off for SSIM, whose values can be negative).
    var allowsLogY = true

    static let width = 800.0, height = 330.0
    /// The plot area; the legend takes the space right of it.
    static let plot: PlotArea = (left: 76, right: 560, top: 40, bottom: 272)

    /// The `<svg>` element.
    func render() -> String {
        let plot = Self.plot
        let (xAxis, yAxis) = axes
        func px(_ x: Double) -> Double? { xAxis.position(x, from: plot.left, to: plot.right) }
        func py(_ y: Double) -> Double? { yAxis.position(y, from: plot.bottom, to: plot.top) }
        let yTitle = yAxisTitle(yAxis)

        var svg = [##"<svg xmlns="http://www.w3.org/2000/svg" id="\##(escaped(id))" class="chart" role="img" "##
            + ##"aria-labelledby="\##(escaped(id))-title" width="\##(Self.width.svg)" height="\##(Self.height.svg)" "##
            + ##"viewBox="0 0 \##(Self.width.svg) \##(Self.height.svg)" font-family="sans-serif" font-size="12">"##]
        svg.append(##"<title id="\##(escaped(id))-title">\##(escaped(title))</title>"##)
        svg.append(##"<rect x="0" y="0" width="\##(Self.width.svg)" height="\##(Self.height.svg)" fill="#ffffff"/>"##)
        svg.append(##"<text x="\##(plot.left.svg)" y="22" font-size="14" font-weight="bold" fill="#111111">\##(escaped(title))</text>"##)
        svg.append(##"<clipPath id="\##(escaped(id))-plot"><rect x="\##(plot.left.svg)" y="\##((plot.top - 4).svg)" "##
            + ##"width="\##((plot.right - plot.left).svg)" height="\##((plot.bottom - plot.top + 8).svg)"/></clipPath>"##)
        // Grid and tick labels.
        for tick in yAxis.ticks {
            guard let y = py(tick) else { continue }
            svg.append(##"<line x1="\##(plot.left.svg)" y1="\##(y.svg)" x2="\##(plot.right.svg)" y2="\##(y.svg)" stroke="#dddddd"/>"##)
            svg.append(##"<text x="\##((plot.left - 6).svg)" y="\##((y + 4).svg)" text-anchor="end" fill="#222222">"##
                + "\(escaped(yAxis.label(tick)))</text>")
        }
        for tick in xAxis.ticks {
            guard let x = px(tick) else { continue }
            svg.append(##"<line x1="\##(x.svg)" y1="\##(plot.bottom.svg)" x2="\##(x.svg)" y2="\##((plot.bottom + 5).svg)" stroke="#333333"/>"##)
            svg.append(##"<text x="\##(x.svg)" y="\##((plot.bottom + 18).svg)" text-anchor="middle" fill="#222222">"##
                + "\(escaped(xAxis.label(tick)))</text>")
        }
        svg.append(##"<path d="M\##(plot.left.svg),\##(plot.top.svg) V\##(plot.bottom.svg) H\##(plot.right.svg)" "##
            + ##"fill="none" stroke="#333333"/>"##)
        // Axis titles.
        svg.append(##"<text x="\##(((plot.left + plot.right) / 2).svg)" y="\##((plot.bottom + 40).svg)" "##
            + ##"text-anchor="middle" fill="#111111">\##(escaped(xLabel))</text>"##)
        svg.append(##"<text transform="translate(16 \##(((plot.top + plot.bottom) / 2).svg)) rotate(-90)" "##
            + ##"text-anchor="middle" fill="#111111">\##(escaped(yTitle))</text>"##)
        // Lines, references first so models are drawn over them.
        svg.append(##"<g clip-path="url(#\##(escaped(id))-plot)">"##)
        for line in drawingOrder {
            let runs = line.runs { Self.position(of: $0, axes: (xAxis, yAxis), plot: plot) }
            for run in runs {
                svg.append(##"<polyline points="\##(run.map { "\($0.x.svg),\($0.y.svg)" }.joined(separator: " "))" "##
                    + ##"fill="none" stroke="\##(line.colour)" \##(line.style.strokeAttributes)/>"##)
            }
            if line.drawsMarkers {
                svg += runs.joined().map { ##"<circle cx="\##($0.x.svg)" cy="\##($0.y.svg)" r="3" fill="\##(line.colour)"/>"## }
            }
        }
        svg.append("</g>")
        svg.append(legend())
        svg.append("</svg>")
        return svg.joined(separator: "\n")
    }

    /// The legend right of the plot: each line's pattern and its name.
    private func legend() -> String {
        let left = Self.plot.right + 18
        var items: [String] = []
        for (index, line) in series.enumerated() {
            let y = Self.plot.top + 8 + Double(index) * 20
            items.append(##"<line x1="\##(left.svg)" y1="\##(y.svg)" x2="\##((left + 28).svg)" y2="\##(y.svg)" "##
                + ##"stroke="\##(line.colour)" \##(line.style.strokeAttributes)/>"##)
            items.append(##"<text x="\##((left + 36).svg)" y="\##((y + 4).svg)" fill="#222222">\##(escaped(line.name))</text>"##)
        }
        return ##"<g class="legend">"## + items.joined(separator: "\n") + "</g>"
    }
}

extension SVGChart {
    /// A plot's edges in pixels from the picture's top-left corner (`top` < `bottom`).
    typealias PlotArea = (left: Double, right: Double, top: Double, bottom: Double)

    /// The axes fitted to every series' points: x linear (ticked on whole
    /// numbers when `integerX`), y logarithmic when `allowsLogY` and the values
    /// span more than a decade (see ``ChartAxis/fitting(_:allowsLog:integers:)``).
    var axes: (x: ChartAxis, y: ChartAxis) {
        let xs = series.flatMap { $0.points.map(\.x) }, ys = series.flatMap { $0.points.map(\.y) }
        return (ChartAxis.fitting(xs, allowsLog: false, integers: integerX), ChartAxis.fitting(ys, allowsLog: allowsLogY))
    }

    /// Where `point` is drawn in `plot`: x from `left` to `right`, y up from
    /// `bottom` to `top`; nil where either axis cannot show it.
    static func position(of point: (x: Double, y: Double), axes: (x: ChartAxis, y: ChartAxis),
                         plot: PlotArea) -> (x: Double, y: Double)? {
        guard let x = axes.x.position(point.x, from: plot.left, to: plot.right),
              let y = axes.y.position(point.y, from: plot.bottom, to: plot.top)
        else { return nil }
        return (x, y)
    }

    /// The y axis's title: its label, and that the scale is logarithmic when it is.
    func yAxisTitle(_ axis: ChartAxis) -> String {
        yLabel + (axis.scale == .logarithmic ? ", log scale" : "")
    }

    /// The series in drawing order: references first, so models are drawn over them.
    var drawingOrder: [ChartSeries] {
        series.filter { if case .reference = $0.style { true } else { false } }
            + series.filter { if case .reference = $0.style { false } else { true } }
    }
}

extension ChartSeries {
    /// The points as runs of drawing positions: `position` maps a point to
    /// where it is drawn, or to nil where the axes cannot show it, which ends a
    /// run. Empty runs are left out.
    func runs(_ position: ((x: Double, y: Double)) -> (x: Double, y: Double)?) -> [[(x: Double, y: Double)]] {
        var runs: [[(x: Double, y: Double)]] = [[]]
        for point in points {
            if let drawn = position(point) {
                runs[runs.count - 1].append(drawn)
            } else if !runs[runs.count - 1].isEmpty {
                runs.append([])
            }
        }
        return runs.filter { !$0.isEmpty }
    }

    /// Whether circles mark the points: asked for, and at most 60 points, where they stay apart.
    var drawsMarkers: Bool { markers && points.count <= 60 }
}

extension ChartSeries.Style {
    /// The dash pattern as SVG's `stroke-dasharray` takes it (lengths of dash
    /// and gap in pixels, `8 4`); nil for a solid line.
    var dashPattern: String? {
        switch self {
        case .solid: return nil
        case .dotted: return "2 3"
        case .reference(let dash): return dash
        }
    }

    /// Stroke width and dash pattern.
    var strokeAttributes: String {
        let width = if case .reference = self { "1.6" } else { "2" }
        return ##"stroke-width="\##(width)""## + (dashPattern.map { ##" stroke-dasharray="\##($0)""## } ?? "")
    }
}

extension Double {
    /// A coordinate as SVG takes it: one decimal.
    var svg: String { String(format: "%.1f", self) }
}

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
    static let plot = (left: 76.0, right: 560.0, top: 40.0, bottom: 272.0)

    /// The `<svg>` element.
    func render() -> String {
        let plot = Self.plot
        let xs = series.flatMap { $0.points.map(\.x) }, ys = series.flatMap { $0.points.map(\.y) }
        let xAxis = ChartAxis.fitting(xs, allowsLog: false, integers: integerX)
        let yAxis = ChartAxis.fitting(ys, allowsLog: allowsLogY)
        func px(_ x: Double) -> Double? { xAxis.fraction(x).map { plot.left + $0 * (plot.right - plot.left) } }
        func py(_ y: Double) -> Double? { yAxis.fraction(y).map { plot.bottom - $0 * (plot.bottom - plot.top) } }
        let yTitle = yLabel + (yAxis.scale == .logarithmic ? ", log scale" : "")

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
        let ordered = series.filter { if case .reference = $0.style { true } else { false } }
            + series.filter { if case .reference = $0.style { false } else { true } }
        svg.append(##"<g clip-path="url(#\##(escaped(id))-plot)">"##)
        for line in ordered {
            var runs: [[String]] = [[]]
            var dots: [String] = []
            for point in line.points {
                guard let x = px(point.x), let y = py(point.y) else {
                    if !(runs.last!.isEmpty) { runs.append([]) }
                    continue
                }
                runs[runs.count - 1].append("\(x.svg),\(y.svg)")
                dots.append(##"<circle cx="\##(x.svg)" cy="\##(y.svg)" r="3" fill="\##(line.colour)"/>"##)
            }
            for run in runs where !run.isEmpty {
                svg.append(##"<polyline points="\##(run.joined(separator: " "))" fill="none" stroke="\##(line.colour)" "##
                    + ##"\##(line.style.strokeAttributes)/>"##)
            }
            if line.markers && line.points.count <= 60 { svg += dots }
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

extension ChartSeries.Style {
    /// Stroke width and dash pattern.
    var strokeAttributes: String {
        switch self {
        case .solid: return ##"stroke-width="2""##
        case .dotted: return ##"stroke-width="2" stroke-dasharray="2 3""##
        case .reference(let dash): return ##"stroke-width="1.6" stroke-dasharray="\##(dash)""##
        }
    }
}

extension Double {
    /// A coordinate as SVG takes it: one decimal.
    var svg: String { String(format: "%.1f", self) }
}

import Foundation
import FrameSequencing

/// The report's charts, each drawn from metrics.json alone: the loss per
/// epoch and per step of every model, and each model's closed-loop MSE and
/// SSIM per step ahead against the baselines' dashed reference lines.
///
/// A chart without data (no model trained, frames too small for SSIM) is
/// nil; the page says why in its place.
struct ReportCharts {
    let metrics: MetricsFile

    /// Model colours (Okabe and Ito's palette, told apart by most colour-blind
    /// readers and in grey print by their markers and order).
    static let palette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9"]
    /// Each baseline's colour and dash pattern; others get the last one.
    static let references: [String: (colour: String, dash: String)] = [
        "persistence": ("#222222", "8 4"), "mean": ("#777777", "3 3"),
    ]

    /// Chart element ids, in page order.
    static let ids = (lossPerEpoch: "chart-loss-epoch", lossPerStep: "chart-loss-step",
                      msePerHorizon: "chart-mse-horizon", ssimPerHorizon: "chart-ssim-horizon")

    /// The models in run order, with their colours.
    var models: [(key: String, entry: ModelEntry, colour: String)] {
        metrics.modelOrder.enumerated().compactMap { index, key in
            metrics.models[key].map { (key, $0, Self.palette[index % Self.palette.count]) }
        }
    }

    /// The baselines: persistence, the mean frame, then any other by key.
    var baselines: [(key: String, entry: ModelEntry)] {
        let known = ["persistence", "mean"].filter { metrics.baselines[$0] != nil }
        let others = metrics.baselines.keys.filter { !known.contains($0) }.sorted()
        return (known + others).map { ($0, metrics.baselines[$0]!) }
    }

    /// What the loss is, for axis labels: `binary cross-entropy` or `MSE`.
    private var lossName: String {
        let names = Set(models.compactMap { $0.entry.settings?["loss"] })
        switch names.count == 1 ? names.first : nil {
        case "bce": return "binary cross-entropy"
        case "mse": return "MSE"
        default: return "training loss"
        }
    }

    /// Training (solid) and validation (dotted) loss per epoch of each model.
    var lossPerEpoch: SVGChart? {
        var series: [ChartSeries] = []
        for model in models {
            guard let history = model.entry.history, !history.isEmpty else { continue }
            series.append(ChartSeries(name: "\(model.entry.title) training", points: history.map { (Double($0.epoch), $0.loss) },
                                      colour: model.colour, markers: true))
            let validation = history.compactMap { epoch in epoch.validationLoss.map { (Double(epoch.epoch), $0) } }
            if !validation.isEmpty {
                series.append(ChartSeries(name: "\(model.entry.title) validation", points: validation.map { ($0.0, $0.1) },
                                          colour: model.colour, style: .dotted, markers: true))
            }
        }
        guard !series.isEmpty else { return nil }
        return SVGChart(id: Self.ids.lossPerEpoch, title: "Loss per epoch", xLabel: "epoch (passes over the training windows)",
                        yLabel: "\(lossName), mean per pixel", series: series)
    }

    /// Each model's batch loss per optimizer step (thinned as metrics.json keeps it).
    var lossPerStep: SVGChart? {
        let series = models.compactMap { model -> ChartSeries? in
            guard let losses = model.entry.lossByStep, !losses.step.isEmpty else { return nil }
            return ChartSeries(name: model.entry.title, points: zip(losses.step, losses.loss).map { (Double($0), $1) },
                               colour: model.colour, markers: losses.step.count == 1)
        }
        guard !series.isEmpty else { return nil }
        return SVGChart(id: Self.ids.lossPerStep, title: "Loss per step", xLabel: "optimizer step (one batch)",
                        yLabel: "\(lossName) of the batch", series: series)
    }

    /// Closed-loop MSE at each step ahead.
    var msePerHorizon: SVGChart? {
        horizonChart(id: Self.ids.msePerHorizon, title: "Closed-loop MSE by steps ahead",
                     yLabel: "MSE per pixel (values 0 to 1)", allowsLog: true) { $0.mseByStep }
    }

    /// Closed-loop SSIM at each step ahead.
    var ssimPerHorizon: SVGChart? {
        horizonChart(id: Self.ids.ssimPerHorizon, title: "Closed-loop SSIM by steps ahead",
                     yLabel: "SSIM (1 = identical)", allowsLog: false) { $0.ssimByStep }
    }

    /// The file ``horizons`` is written to, beside the filmstrips.
    static let horizonsFile = "horizons.png"

    /// Closed-loop MSE (top) and SSIM (below it, when measured) by steps ahead
    /// as one picture: where each model falls apart against the baselines.
    /// Nil when no model has closed-loop scores.
    var horizons: RasterChart? {
        guard let mse = msePerHorizon else { return nil }
        return RasterChart(panels: [mse] + [ssimPerHorizon].compactMap { $0 })
    }

    private func horizonChart(id: String, title: String, yLabel: String, allowsLog: Bool,
                              _ values: (ClosedLoopScores) -> [Double]?) -> SVGChart? {
        func points(_ entry: ModelEntry) -> [(x: Double, y: Double)]? {
            guard let scores = entry.closedLoop, let values = values(scores), !values.isEmpty else { return nil }
            return values.enumerated().map { (Double($0.offset + 1), $0.element) }
        }
        let lines = models.compactMap { model in
            points(model.entry).map { ChartSeries(name: model.entry.title, points: $0, colour: model.colour, markers: true) }
        }
        guard !lines.isEmpty else { return nil }
        let references = baselines.compactMap { baseline -> ChartSeries? in
            let style = Self.references[baseline.key] ?? Self.references["mean"]!
            return points(baseline.entry).map {
                ChartSeries(name: "\(baseline.entry.title) (baseline)", points: $0, colour: style.colour,
                            style: .reference(dash: style.dash))
            }
        }
        return SVGChart(id: id, title: title, xLabel: "steps ahead (frames, each prediction fed back)",
                        yLabel: yLabel, series: lines + references, allowsLogY: allowsLog)
    }
}

extension MetricsFile {
    /// Draws the record's scores by steps ahead (``ReportCharts/horizons``)
    /// as `folder/horizons.png` and lists it in ``pictures`` at `index`, with a
    /// caption; returns false, writing nothing, when no model has closed-loop
    /// scores. The file is written atomically, as ``PNG/write(_:to:)`` does.
    mutating func addHorizonsPicture(in folder: String, at index: Int) throws -> Bool {
        guard let chart = ReportCharts(metrics: self).horizons else { return false }
        try PNG.write(try chart.image(), to: (folder as NSString).appendingPathComponent(ReportCharts.horizonsFile))
        let steps = chart.panels[0].series.map(\.points.count).max() ?? 0
        let scores = chart.panels.count == 2 ? "MSE (top) and SSIM (bottom)"
            : "MSE (no SSIM: frames under 11 x 11 pixels)"
        pictures.insert(PictureEntry(file: ReportCharts.horizonsFile, caption: "closed-loop \(scores) at each of steps 1 to "
            + "\(steps) ahead, each prediction fed back: where each model falls apart; baselines dashed"),
                        at: min(index, pictures.count))
        return true
    }
}

import Foundation

/// The sections of ``ReportPage`` made of tables and charts, each from
/// metrics.json alone. Table cells carry `data-key` (the model or baseline)
/// and `data-metric` (the metrics.json field) so a reader, or a test, can
/// match every number on the page with the file.
struct ReportSections {
    let metrics: MetricsFile
    private var charts: ReportCharts { ReportCharts(metrics: metrics) }

    /// The data, the options and the models.
    func run() -> String {
        let data = metrics.data
        var rows: [(String, String)] = []
        if let kind = data.kind { rows.append(("frames", kind)) }
        if let source = data.source { rows.append(("source", source)) }
        rows.append(("frame count", "\(data.frames)"))
        rows.append(("frame size", "\(data.height) x \(data.width) pixels, \(data.channels) channel\(data.channels == 1 ? "" : "s")"))
        if let train = data.trainFrames { rows.append(("training frames", "0..<\(train)")) }
        if let test = data.testFrames { rows.append(("held-out frames", "the last \(test)")) }
        if let from = data.from { rows.append(("forecast from", "frame \(from)")) }
        if let context = metrics.context { rows.append(("context", "\(context) frames")) }
        if let seed = data.seed { rows.append(("seed", "\(seed)")) }
        for (key, value) in (metrics.settings ?? [:]).sorted(by: { $0.key < $1.key }) { rows.append((key, value)) }

        var models = [["model", "status", "parameters", "training time", "settings"].header]
        for model in charts.models {
            let entry = model.entry
            let settings = (entry.settings ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
            models.append("<tr data-key=\"\(escaped(model.key))\">" + [
                cell(entry.title, "title", text: true),
                cell(entry.status.map { $0.rawValue.replacingOccurrences(of: "_", with: " ") } ?? "-", "status", text: true),
                cell(entry.parameters.map(ReportFormat.count), "parameters"),
                cell(entry.trainSeconds.map(ReportFormat.duration), "train_seconds"),
                cell(settings.joined(separator: ", "), "settings", text: true),
            ].joined() + "</tr>")
        }
        return section("run", "Run", [
            "<table id=\"data-table\">" + rows.map { "<tr><th>\(escaped($0.0))</th><td class=\"text\">\(escaped($0.1))</td></tr>" }.joined()
                + "</table>",
            charts.models.isEmpty ? "" : "<h3>Models</h3><div class=\"scroll\"><table id=\"models-table\">" + models.joined() + "</table></div>",
        ])
    }

    /// Estimated memory and epoch time against what was measured, per model.
    func plan() -> String {
        let plans = metrics.plan.map { [($0.model, $0)] } ?? charts.models.compactMap { model in model.entry.plan.map { (model.key, $0) } }
        guard !plans.isEmpty else { return "" }
        var rows = [["model", "batch", "steps per epoch", "estimated peak memory", "measured peak memory", "budget",
                     "estimated epoch", "measured epoch"].header]
        for (key, plan) in plans {
            rows.append("<tr data-key=\"\(escaped(key))\">" + [
                cell(metrics.models[key]?.title ?? key, "model", text: true),
                cell("\(plan.batchSize)", "batch_size"), cell("\(plan.stepsPerEpoch)", "steps_per_epoch"),
                cell(ReportFormat.bytes(plan.estimatedPeakBytes), "estimated_peak_bytes"),
                cell(plan.measuredPeakRssBytes.map(ReportFormat.bytes), "measured_peak_rss_bytes"),
                cell(ReportFormat.bytes(plan.budgetBytes), "budget_bytes"),
                cell(plan.estimatedEpochSeconds.map(ReportFormat.duration), "estimated_epoch_seconds"),
                cell(plan.measuredEpochSeconds.map(ReportFormat.duration), "measured_epoch_seconds"),
            ].joined() + "</tr>")
        }
        var notes = ["<p class=\"note\">Budget: \(escaped(plans[0].1.budgetOrigin)). The measured peak is the process's "
            + "peak resident memory (VmHWM) when the record was written\(plans.count > 1 ? ", over every model so far" : "")"
            + "; the estimated epoch is a calibration step's time times the steps of an epoch.</p>"]
        if let plan = metrics.plan {
            let parts = plan.estimatedPartsBytes.sorted { $0.key < $1.key }
                .map { "\($0.key.replacingOccurrences(of: "_", with: " ")) \(ReportFormat.bytes($0.value))" }
            notes.append("<p>Estimated parts: \(escaped(parts.joined(separator: ", "))).</p>")
            if let choices = plan.choices, !choices.isEmpty {
                notes.append("<ul>" + choices.map { "<li>chose \(escaped($0))</li>" }.joined() + "</ul>")
            }
        }
        return section("plan", "Plan against measurement",
                       ["<div class=\"scroll\"><table id=\"plan-table\">" + rows.joined() + "</table></div>"] + notes)
    }

    /// Loss per epoch and per step.
    func training() -> String {
        var parts: [String] = []
        if let chart = charts.lossPerEpoch {
            parts.append(figure(chart, caption: "Mean batch loss of each epoch (validation, where a run holds windows "
                + "out, dotted)."))
        } else {
            parts.append("<p class=\"note\">No epoch finished in this run, so there is no loss per epoch.</p>")
        }
        if let chart = charts.lossPerStep {
            let counts = charts.models.compactMap { model in
                model.entry.lossByStep.map { "\(model.entry.title) \($0.recorded) steps recorded, \($0.step.count) drawn" }
            }
            parts.append(figure(chart, caption: "Each optimizer step's batch loss, thinned evenly to at most "
                + "\(TrainingLog.limit) points with the first and last kept (\(counts.joined(separator: "; ")))."))
        } else {
            parts.append("<p class=\"note\">This record holds no per-step losses.</p>")
        }
        return section("training", "Training", parts)
    }

    /// MSE and SSIM per step ahead, and their numbers.
    func horizons() -> String {
        guard let mse = charts.msePerHorizon else {
            return section("horizons", "Forecasts by horizon",
                           ["<p class=\"note\">No model was scored closed-loop in this run.</p>"])
        }
        var parts = [figure(mse, caption: "Mean squared error at each step of the closed-loop forecast, averaged over "
            + "the held-out starts; the baselines are the dashed reference lines.")]
        if let ssim = charts.ssimPerHorizon {
            parts.append(figure(ssim, caption: "Structural similarity (11 x 11 Gaussian window, as scikit-image) at each "
                + "step; higher is better."))
        } else {
            parts.append("<p class=\"note\">No SSIM: it needs frames of at least 11 x 11 pixels, these are "
                + "\(metrics.data.height) x \(metrics.data.width).</p>")
        }
        let entries = charts.models.map { ($0.key, $0.entry) } + charts.baselines.map { ($0.key, $0.entry) }
        let steps = entries.compactMap { $0.1.closedLoop?.mseByStep.count }.max() ?? 0
        var rows = [(["model", "score"] + (1 ... max(steps, 1)).map { "\($0)" }).header]
        for (key, entry) in entries {
            guard let scores = entry.closedLoop else { continue }
            for (name, values, format) in [("MSE", scores.mseByStep, ReportFormat.score),
                                           ("SSIM", scores.ssimByStep ?? [], ReportFormat.ssim)] where !values.isEmpty {
                let field = name == "MSE" ? "mse_by_step" : "ssim_by_step"
                rows.append("<tr data-key=\"\(escaped(key))\">" + cell(entry.title, "title", text: true) + cell(name, "score", text: true)
                    + values.enumerated().map { cell(format($0.element), "closed_loop.\(field).\($0.offset)") }.joined() + "</tr>")
            }
        }
        parts.append("<h3>By steps ahead</h3><div class=\"scroll\"><table id=\"horizon-table\">" + rows.joined() + "</table></div>")
        return section("horizons", "Forecasts by horizon", parts)
    }

    /// The metrics table: one-step and closed-loop MSE, PSNR and SSIM, baselines first.
    func scores() -> String {
        let entries = charts.baselines.map { ($0.key, $0.entry) } + charts.models.map { ($0.key, $0.entry) }
        let steps = entries.compactMap { $0.1.closedLoop?.steps }.max().map(String.init) ?? "K"
        var rows = [["model", "1-step MSE", "PSNR (dB)", "SSIM", "\(steps)-step MSE", "PSNR (dB)", "SSIM",
                     "training time", "parameters"].header]
        for (key, entry) in entries {
            let loop = entry.closedLoop
            rows.append("<tr data-key=\"\(escaped(key))\">" + [
                cell(entry.title, "title", text: true),
                cell(entry.mse.map(ReportFormat.score), "mse"), cell(entry.psnr.map(ReportFormat.psnr), "psnr"),
                cell(entry.ssim.map(ReportFormat.ssim), "ssim"),
                cell(loop.map { ReportFormat.score($0.mse) }, "closed_loop.mse"),
                cell(loop.map { ReportFormat.psnr($0.psnr) }, "closed_loop.psnr"),
                cell(loop?.ssim.map(ReportFormat.ssim), "closed_loop.ssim"),
                cell(entry.trainSeconds.map(ReportFormat.duration), "train_seconds"),
                cell(entry.parameters.map(ReportFormat.count), "parameters"),
            ].joined() + "</tr>")
        }
        let note = "1-step scores predict each held-out frame from the true frames before it; \(steps)-step scores feed "
            + "each prediction back, averaged over the steps. MSE and PSNR are in model units (values 0 to 1)."
        return section("scores", "Scores", ["<div class=\"scroll\"><table id=\"metrics-table\">" + rows.joined()
            + "</table></div>", "<p class=\"note\">\(escaped(note + (metrics.note.map { " (\($0).)" } ?? "")))</p>"])
    }

    // MARK: Markup

    private func section(_ id: String, _ title: String, _ parts: [String]) -> String {
        "<section id=\"\(id)\">\n<h2>\(escaped(title))</h2>\n" + parts.filter { !$0.isEmpty }.joined(separator: "\n") + "\n</section>"
    }

    private func figure(_ chart: SVGChart, caption: String) -> String {
        "<figure>\n\(chart.render())\n<figcaption>\(escaped(caption))</figcaption>\n</figure>"
    }

    /// A table cell; a missing value is an en dash.
    private func cell(_ value: String?, _ metric: String, text: Bool = false) -> String {
        "<td data-metric=\"\(escaped(metric))\"\(text ? " class=\"text\"" : "")>\(escaped(value ?? "\u{2013}"))</td>"
    }
}

extension Array where Element == String {
    /// A header row of these column titles; text columns (settings) align left.
    fileprivate var header: String {
        "<tr>" + map { "<th\($0 == "settings" || $0 == "score" ? " class=\"text\"" : "")>\(escaped($0))</th>" }.joined() + "</tr>"
    }
}

// MARK: - Text and numbers

/// `text` safe inside an XHTML or SVG element or a quoted attribute: `&`, `<`,
/// `>`, `"` and `'` as the five entities XML knows without a DTD, so the page
/// parses as XML as well as HTML.
func escaped(_ text: String) -> String {
    var result = ""
    result.reserveCapacity(text.utf8.count)
    for character in text {
        switch character {
        case "&": result += "&amp;"
        case "<": result += "&lt;"
        case ">": result += "&gt;"
        case "\"": result += "&quot;"
        case "'": result += "&#39;"
        default: result.append(character)
        }
    }
    return result
}

/// How the report writes numbers. Every number of the page comes from
/// metrics.json through one of these, so a test can read a cell back and
/// compare it with the file to the precision shown.
enum ReportFormat {
    /// A score (MSE, a loss): four significant digits, fixed notation from
    /// 0.001 to 99999 (`0.02613`, `1.250`), else exponent notation
    /// (`2.513e-05`); `nan`, `inf` as such.
    static func score(_ value: Double) -> String {
        guard value.isFinite else { return value.isNaN ? "nan" : (value > 0 ? "inf" : "-inf") }
        let magnitude = abs(value)
        if value == 0 { return "0" }
        guard magnitude >= 1e-3, magnitude < 1e5 else { return String(format: "%.3e", value) }
        let decimals = max(0, 3 - Int(floor(log10(magnitude))))
        return String(format: "%.\(decimals)f", value)
    }

    /// SSIM: four decimals (`0.9312`).
    static func ssim(_ value: Double) -> String { value.isFinite ? String(format: "%.4f", value) : score(value) }

    /// PSNR in decibels, two decimals; 999 (a perfect score) as `inf`.
    static func psnr(_ value: Double) -> String { value >= 999 ? "inf" : String(format: "%.2f", value) }

    /// Seconds as `42 s`, `3.5 min` or `2.1 h`.
    static func duration(_ seconds: Double) -> String { minutes(seconds) }

    /// Bytes as `512 MiB` or `1.2 GiB`.
    static func bytes(_ count: Int) -> String { gibibytes(count) }

    /// A whole number with thin groups (`1 234 567`), for parameter counts.
    static func count(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var groups: [Substring] = []
        var end = digits.endIndex
        while end > digits.startIndex {
            let start = digits.index(end, offsetBy: -3, limitedBy: digits.startIndex) ?? digits.startIndex
            groups.insert(digits[start ..< end], at: 0)
            end = start
        }
        return (value < 0 ? "-" : "") + groups.joined(separator: "\u{202F}")
    }
}

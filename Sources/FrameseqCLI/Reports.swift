import Foundation
import FrameSequencing

/// One row of the results: a model or a baseline.
struct ResultRow {
    var key: String
    var title: String
    var evaluation: Evaluation
    /// Training time in seconds (nil for baselines).
    var trainingSeconds: Double?
    var parameterCount: Int?
}

/// The results table as printed on screen: one-step and closed-loop MSE, PSNR
/// and SSIM (`-` where frames are too small for SSIM) and the training time.
func resultsTable(_ rows: [ResultRow], steps: Int) -> String {
    func pad(_ text: String, _ width: Int, left: Bool = false) -> String {
        let space = String(repeating: " ", count: max(width - text.count, 0))
        return left ? text + space : space + text
    }
    func number(_ value: Double?, _ format: String) -> String { value.map { String(format: format, $0) } ?? "-" }
    var lines = [pad("", 12, left: true) + pad("1-step MSE", 12) + pad("PSNR", 9) + pad("SSIM", 8)
        + pad("\(steps)-step MSE", 13) + pad("PSNR", 9) + pad("SSIM", 8) + pad("train", 9)]
    for row in rows {
        let (oneStep, closedLoop) = (row.evaluation.oneStep, row.evaluation.closedLoop)
        lines.append(pad(row.title, 12, left: true)
            + pad(number(oneStep.mse, "%.5f"), 12) + pad(number(oneStep.psnr, "%.2f dB"), 9) + pad(number(oneStep.ssim, "%.4f"), 8)
            + pad(number(closedLoop.mse, "%.5f"), 13) + pad(number(closedLoop.psnr, "%.2f dB"), 9)
            + pad(number(closedLoop.ssim, "%.4f"), 8) + pad(number(row.trainingSeconds, "%.0f s"), 9))
    }
    return lines.joined(separator: "\n")
}

/// `metrics.json`: `{"models": {key: {"mse", "psnr", "ssim", ...}}, "baselines": {...}}`,
/// where `mse`, `psnr` and `ssim` are the one-step scores and `closed_loop` holds the
/// `steps`-step ones, each step's too (`mse_by_step`, `ssim_by_step`).
func metricsJSON(models: [ResultRow], baselines: [ResultRow], steps: Int, extra: [String: Any]) throws -> Data {
    func entry(_ row: ResultRow) -> [String: Any] {
        var object: [String: Any] = [
            "mse": row.evaluation.oneStep.mse, "psnr": jsonNumber(row.evaluation.oneStep.psnr),
            "closed_loop": ["steps": steps, "mse": row.evaluation.closedLoop.mse,
                            "psnr": jsonNumber(row.evaluation.closedLoop.psnr),
                            "mse_by_step": row.evaluation.closedLoopByStep],
        ]
        // SSIM needs frames of at least 11 x 11 pixels; smaller ones have none.
        if let ssim = row.evaluation.oneStep.ssim { object["ssim"] = ssim }
        if var loop = object["closed_loop"] as? [String: Any], let byStep = row.evaluation.closedLoopSSIMByStep {
            (loop["ssim"], loop["ssim_by_step"]) = (row.evaluation.closedLoop.ssim, byStep)
            object["closed_loop"] = loop
        }
        if let seconds = row.trainingSeconds { object["train_seconds"] = (seconds * 10).rounded() / 10 }
        if let count = row.parameterCount { object["parameters"] = count }
        return object
    }
    var root = extra
    root["models"] = Dictionary(uniqueKeysWithValues: models.map { ($0.key, entry($0)) })
    root["baselines"] = Dictionary(uniqueKeysWithValues: baselines.map { ($0.key, entry($0)) })
    return try JSONSerialization.data(withJSONObject: root, options: [.prettyPrinted, .sortedKeys])
}

/// JSON has no infinity: a perfect score's PSNR is written as 999.
private func jsonNumber(_ value: Double) -> Double { value.isFinite ? value : 999 }

/// Writes `data` to `path` through a temporary file and a rename, so the path
/// never holds half a file.
func writeFile(_ data: Data, to path: String) throws {
    do {
        try data.write(to: URL(fileURLWithPath: path), options: .atomic)
    } catch {
        throw CLIError.failed("cannot write '\(path)': \(error.localizedDescription)")
    }
}

/// Creates `path` (and its parents) unless it is already a directory.
func makeDirectory(_ path: String) throws {
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
        guard isDirectory.boolValue else { throw CLIError.failed("'\(path)' exists and is not a directory") }
        return
    }
    do {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    } catch {
        throw CLIError.failed("cannot create the output folder '\(path)': \(error.localizedDescription)")
    }
}

/// A grid picture: each row a sequence of frames (steps, H, W, C), side by
/// side with a 2-pixel grey border, values clamped to 0...1 (a NaN or infinity
/// throws `nonFinite`: a diverged forecast is not drawn black). Frames of 1 or 3
/// channels are drawn as they are; other channel counts show channel 0.
func filmstrip(_ rows: [Tensor]) throws -> ByteImage {
    let d = rows[0].dimensions
    let (steps, height, width, channels) = (d[0], d[1], d[2], d[3])
    let outChannels = channels == 3 ? 3 : 1
    let gap = 2
    let imageWidth = gap + steps * (width + gap), imageHeight = gap + rows.count * (height + gap)
    var pixels = [UInt8](repeating: 128, count: imageWidth * imageHeight * outChannels)
    for (r, row) in rows.enumerated() {
        guard row.dimensions == d else {
            throw CLIError.failed("picture rows differ in shape: \(row.dimensions) and \(d)")
        }
        let values = try ByteImage.bytes(clampingUnitValues: row.scalars, context: "Picture row \(r)")
        for s in 0 ..< steps {
            for y in 0 ..< height {
                for x in 0 ..< width {
                    let top = gap + r * (height + gap) + y, left = gap + s * (width + gap) + x
                    for c in 0 ..< outChannels {
                        pixels[(top * imageWidth + left) * outChannels + c] = values[((s * height + y) * width + x) * channels + c]
                    }
                }
            }
        }
    }
    return try ByteImage(shape: FrameShape(height: imageHeight, width: imageWidth, channels: outChannels), pixels: pixels)
}

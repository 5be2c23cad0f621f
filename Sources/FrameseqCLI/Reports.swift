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
    let names = max(12, (rows.map(\.title.count).max() ?? 0) + 1)     // "U-Net CNN-LSTM" is longer than the others
    var lines = [pad("", names, left: true) + pad("1-step MSE", 12) + pad("PSNR", 9) + pad("SSIM", 8)
        + pad("\(steps)-step MSE", 13) + pad("PSNR", 9) + pad("SSIM", 8) + pad("train", 9)]
    for row in rows {
        let (oneStep, closedLoop) = (row.evaluation.oneStep, row.evaluation.closedLoop)
        lines.append(pad(row.title, names, left: true)
            + pad(number(oneStep.mse, "%.5f"), 12) + pad(number(oneStep.psnr, "%.2f dB"), 9) + pad(number(oneStep.ssim, "%.4f"), 8)
            + pad(number(closedLoop.mse, "%.5f"), 13) + pad(number(closedLoop.psnr, "%.2f dB"), 9)
            + pad(number(closedLoop.ssim, "%.4f"), 8) + pad(number(row.trainingSeconds, "%.0f s"), 9))
    }
    return lines.joined(separator: "\n")
}

extension ModelEntry {
    /// A scored row: its one-step and closed-loop scores, training time and
    /// size; training details (status, history, plan) are added by the command.
    init(_ row: ResultRow) {
        let evaluation = row.evaluation
        self.init(title: row.title, mse: evaluation.oneStep.mse, psnr: jsonPSNR(evaluation.oneStep.psnr),
                  ssim: evaluation.oneStep.ssim,
                  closedLoop: ClosedLoopScores(steps: evaluation.closedLoopByStep.count, mse: evaluation.closedLoop.mse,
                                               psnr: jsonPSNR(evaluation.closedLoop.psnr), ssim: evaluation.closedLoop.ssim,
                                               mseByStep: evaluation.closedLoopByStep, ssimByStep: evaluation.closedLoopSSIMByStep),
                  trainSeconds: row.trainingSeconds.map { ($0 * 10).rounded() / 10 }, parameters: row.parameterCount)
    }

    /// Adds the training `log` recorded: epochs, thinned step losses, parameters.
    mutating func record(_ log: TrainingLog) {
        history = log.epochRecords
        lossByStep = log.stepLosses
        parameters = parameters ?? log.parameterCount
    }
}

/// JSON has no infinity: a perfect score's PSNR is written as 999.
func jsonPSNR(_ value: Double) -> Double { value.isFinite || value.isNaN ? value : 999 }

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

import Foundation

/// `metrics.json`, the record every `frameseq demo`, `train` and `forecast` run
/// leaves in its output folder, and the only source of `report.html`: the page
/// is rendered from the file read back (``ReportPage``), so the two cannot
/// disagree.
///
/// Scores are in model units (values scaled to 0...1). `mse` and `psnr` of an
/// entry are one-step-ahead scores on the held-out frames, `closed_loop` holds
/// the K-step scores with predictions fed back. A key is absent when its value
/// was not measured: SSIM for frames under 11 x 11 pixels, scores of a model
/// whose training did not finish, the plan of a demo model.
///
/// Non-finite numbers are written as the strings `"nan"`, `"inf"` and `"-inf"`
/// (JSON has no such numbers), except PSNR, whose infinity (a perfect score) is
/// written as 999 as it always was.
struct MetricsFile: Codable, Equatable {
    /// `demo`, `train` or `forecast`.
    var command: String
    var status: RunStatus
    /// The one-line error of a failed or refused run, the interruption's line.
    var error: String?
    var note: String?
    var data: DataDescription
    /// Frames each forecast reads.
    var context: Int?
    /// `demo --quick`.
    var quick: Bool?
    /// The run's options as shown to a reader (`"loss": "bce"`, `"steps": "10"`).
    var settings: [String: String]?
    /// `train`: the plan settled before a frame was read, with what was measured.
    var plan: PlanRecord?
    /// `train`: the model's epochs (as `models.<model>.history`), kept where earlier readers look.
    var history: [EpochRecord]?
    /// The keys of `models` in the order the run took them.
    var modelOrder: [String]
    var models: [String: ModelEntry]
    var baselines: [String: ModelEntry]
    /// Pictures in the output folder, by plain file name, in reading order.
    var pictures: [PictureEntry]

    enum CodingKeys: String, CodingKey {
        case command, status, error, note, data, context, quick, settings, plan, history
        case modelOrder = "model_order", models, baselines, pictures
    }

    /// The file's bytes: pretty-printed, keys sorted.
    func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try encoder.encode(self)
    }

    /// Reads `path`, naming it in the error when it is missing or not this record.
    static func read(_ path: String) throws -> MetricsFile {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw CLIError.failed("cannot read '\(path)': \(error.localizedDescription)")
        }
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        do { return try decoder.decode(MetricsFile.self, from: data) } catch {
            throw CLIError.failed("'\(path)' is not a frameseq metrics.json (\(Frameseq.oneLine(error)))")
        }
    }
}

/// How a run ended.
enum RunStatus: String, Codable, Sendable {
    /// Every step ran.
    case completed
    /// Stopped by SIGINT at a step boundary.
    case interrupted
    /// Stopped by an error.
    case failed
    /// The memory plan did not fit; nothing was trained.
    case refused
}

/// The frames a run read or made.
struct DataDescription: Codable, Equatable {
    /// `moving digits` for the demo's built-in series.
    var kind: String?
    /// The file or folder the frames came from.
    var source: String?
    var frames: Int
    var height: Int
    var width: Int
    var channels: Int
    var trainFrames: Int?
    var testFrames: Int?
    var seed: UInt64?
    /// `forecast`: the index of the first forecast frame.
    var from: Int?

    enum CodingKeys: String, CodingKey {
        case kind, source, frames, height, width, channels, seed, from
        case trainFrames = "train_frames", testFrames = "test_frames"
    }
}

/// A model's or a baseline's record: what it is, how it trained, how it scored.
struct ModelEntry: Codable, Equatable {
    var title: String
    /// A model's training; nil for baselines.
    var status: ModelStatus?
    /// One-step-ahead scores on the held-out frames.
    var mse: Double?
    var psnr: Double?
    var ssim: Double?
    var closedLoop: ClosedLoopScores?
    var trainSeconds: Double?
    var parameters: Int?
    /// Architecture and training options as shown to a reader.
    var settings: [String: String]?
    /// `demo`: the model's estimated memory and epoch time beside the measured ones.
    var plan: PlanRecord?
    var history: [EpochRecord]?
    var lossByStep: StepLosses?

    enum CodingKeys: String, CodingKey {
        case title, status, mse, psnr, ssim, parameters, settings, plan, history
        case closedLoop = "closed_loop", trainSeconds = "train_seconds", lossByStep = "loss_by_step"
    }
}

/// Whether a model's training ran to its end.
enum ModelStatus: String, Codable, Sendable {
    case completed, interrupted, failed
    /// Not reached: the run stopped before this model.
    case notRun = "not_run"
}

/// Closed-loop scores: `steps` frames forecast with each prediction fed back.
struct ClosedLoopScores: Codable, Equatable {
    var steps: Int
    /// Means over all steps.
    var mse: Double
    var psnr: Double
    var ssim: Double?
    /// Step 1...steps ahead, each averaged over the held-out starts.
    var mseByStep: [Double]
    var ssimByStep: [Double]?

    enum CodingKeys: String, CodingKey {
        case steps, mse, psnr, ssim
        case mseByStep = "mse_by_step", ssimByStep = "ssim_by_step"
    }
}

/// One epoch of training, as Keras's `History` keeps it.
struct EpochRecord: Codable, Equatable {
    var epoch: Int
    var loss: Double
    var validationLoss: Double?
    var learningRate: Double
    var seconds: Double

    enum CodingKeys: String, CodingKey {
        case epoch, loss, seconds
        case validationLoss = "validation_loss", learningRate = "learning_rate"
    }
}

/// Per-step training losses, thinned to at most ``StepLossLog/limit`` points
/// (see ``thinnedIndices(count:limit:)``): `step[i]` is the optimizer step
/// (counted from 1 over the run) whose batch loss is `loss[i]`.
struct StepLosses: Codable, Equatable {
    var step: [Int]
    var loss: [Double]
    /// Steps this process recorded before thinning (a resumed run records
    /// only the steps after its resume).
    var recorded: Int
}

/// A picture in the output folder for the report to embed.
struct PictureEntry: Codable, Equatable {
    /// A plain file name in the output folder (no folder part).
    var file: String
    var caption: String
}

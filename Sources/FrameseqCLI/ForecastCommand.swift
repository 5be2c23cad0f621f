import Foundation
import FrameSequencing
import Recurrent

/// `frameseq forecast`: runs a checkpoint written by `train` or `demo` on a
/// user's frames, closed-loop.
struct ForecastCommand {
    static let help = """
    Usage: frameseq forecast --checkpoint FILE --frames PATH [--steps K] [--output DIR]

    Reads the last frames of PATH (as many as the model's context) and forecasts the
    next K frames, each prediction fed back as the next input.

      --checkpoint FILE   a model.safetensors from `frameseq train` (or a
                          <model>.safetensors from `frameseq demo`)
      --frames PATH       an .npy file of frames or a folder of images, as for train
      --steps K           frames to forecast (default 10)
      --from N            forecast the frames from index N on, reading the frames
                          before it; where true frames exist they are scored
                          (default: the end of the series, a true forecast)
      --output DIR        where to write forecast.npy (K, H, W, C; bytes for byte input,
                          floats in the file's units otherwise), one PNG per forecast
                          frame (frameN.png, N its index in the series), forecast.png,
                          all of them in a strip, metrics.json (scores against the true
                          frames that follow --from, if any) and report.html, a page
                          rendered from it (default frameseq-forecast)

    Only the frames the forecast reads (and the true frames it is scored against)
    are read from PATH, so forecasting from the end of a long series of large
    frames takes the memory of a few frames.
    """

    var checkpointPath: String
    var framesPath: String
    var steps: Int
    var start: Int?
    var output: String

    init(_ arguments: [String]) throws {
        var options = try Arguments(arguments, flagNames: [])
        guard let checkpoint = options.string("checkpoint") else {
            throw CLIError.usage("--checkpoint FILE is required (see --help)")
        }
        guard let frames = options.string("frames") else { throw CLIError.usage("--frames PATH is required (see --help)") }
        (checkpointPath, framesPath) = (checkpoint, frames)
        steps = try options.integer("steps", default: 10, in: 1 ... 100_000)
        start = options.string("from") == nil ? nil : try options.integer("from", default: 0, in: 0 ... Int.max)
        output = options.string("output") ?? "frameseq-forecast"
        try options.requireAllRead()
    }

    func run(_ console: Console) throws {
        let checkpoint = try Checkpoint.read(contentsOf: checkpointPath)
        let settings = try ModelSettings(metadata: checkpoint.metadata, source: checkpointPath)
        let scaling = try Normalization(checkpointMetadata: checkpoint.metadata, source: checkpointPath)
        guard let context = checkpoint.metadata["train.context"].flatMap(Int.init), context > 0 else {
            throw CLIError.failed("\(checkpointPath): no 'train.context' in the checkpoint's metadata")
        }
        var model = try settings.makeModel()
        try restore(checkpoint, into: &model)

        // Only the frames the forecast reads and those it is scored against are
        // read: never the whole series, never the series as Float32.
        let header = try SeriesHeader.read(framesPath)
        guard header.frame == settings.frameShape else {
            throw CLIError.failed("\(framesPath) has frames of \(header.frame) but the model in "
                + "\(checkpointPath) was trained on \(settings.frameShape)")
        }
        let from = start ?? header.count
        guard from >= context, from <= header.count else {
            throw CLIError.failed("--from \(from): the model reads \(context) frames before the start and "
                + "\(framesPath) has \(header.count); choose a start in \(context)...\(header.count)")
        }
        let known = min(steps, header.count - from)
        let loaded = try loadFrames(framesPath, range: from - context ..< from + known, header: header)
        let frames = try scaling.apply(to: try loaded.frames.frames(0 ..< context))
        let frame = settings.frameShape
        let contexts = try frames.tensor().reshaped(to: Shape([1, context, frame.height, frame.width, frame.channels]))
        let prediction = try PatchedForecast(model: model, patch: settings.patching)(contexts, steps)
        let sequenceShape = [steps, frame.height, frame.width, frame.channels]

        try makeDirectory(output)
        try writeFrames(prediction.scalars, shape: sequenceShape, scaling: scaling, asBytes: loaded.isBytes,
                        to: "\(output)/forecast.npy")
        var rows = [try prediction.reshaped(to: Shape(sequenceShape))]
        for step in 0 ..< steps where frame.channels == 1 || frame.channels == 3 {     // what PNG holds
            try PNG.write(try ByteImage(clampingUnitValues: try rows[0].slice(step ..< step + 1).reshaped(to: frame.shape)),
                          to: "\(output)/frame\(from + step).png")
        }
        var record = MetricsFile(
            command: "forecast", status: .completed,
            note: "scores (where true frames follow the start) are in model units (values scaled to 0...1), "
                + "for one closed-loop forecast",
            data: DataDescription(source: framesPath, frames: header.count, height: frame.height, width: frame.width,
                                  channels: frame.channels, from: from),
            context: context, settings: ["checkpoint": checkpointPath, "steps": "\(steps)"],
            modelOrder: [settings.kind.rawValue],
            models: [settings.kind.rawValue: ModelEntry(title: settings.kind.title, status: .completed, parameters: model.scalarCount,
                                                        history: try Self.history(in: checkpoint))],
            baselines: [:], pictures: [])
        var scored = ""
        if known > 0 {
            let truth = try scaling.apply(to: try loaded.frames.frames(context ..< context + known)).tensor()
            let predicted = try rows[0].slice(0 ..< known)
            let repeated = try persistence(contexts: contexts, steps: known)
            let modelScores = try closedLoopScores(predicted, truth, frame: frame)
            let persistenceScores = try closedLoopScores(repeated, truth, frame: frame)
            record.models[settings.kind.rawValue]?.closedLoop = modelScores
            record.baselines["persistence"] = ModelEntry(title: "persistence", closedLoop: persistenceScores)
            scored = String(format: "; against the %d true frames: MSE %.5f (persistence %.5f)",
                            known, modelScores.mse, persistenceScores.mse)
            if known == steps { rows.insert(try truth.reshaped(to: Shape(sequenceShape)), at: 0) }
        }
        try PNG.write(try filmstrip(rows), to: "\(output)/forecast.png")
        record.pictures = [PictureEntry(file: "forecast.png", caption: rows.count == 2
            ? "truth (top) and the forecast (bottom) of frames \(from)..<\(from + steps)"
            : "the forecast of frames \(from)..<\(from + steps)")]
        try writeRecord(record, to: output)
        console.print("\(settings.kind.title) from \(checkpointPath): forecast frames \(from)..<\(from + steps) of "
            + "\(framesPath) from the \(context) before\(scored)")
        console.print("Wrote \(output)/forecast.npy (\(sequenceShape.map(String.init).joined(separator: "x")), "
            + "\(loaded.isBytes ? "uint8" : "float32")), the frames as frame\(from).png...frame\(from + steps - 1).png, "
            + "\(output)/forecast.png" + (rows.count == 2 ? " (top: truth, bottom: forecast)" : "")
            + ", \(output)/metrics.json and \(output)/report.html.")
    }

    /// The training epochs a checkpoint of `frameseq train` or `demo` carries, if any.
    private static func history(in checkpoint: Checkpoint) throws -> [EpochRecord]? {
        let history = try checkpoint.trainingHistory()
        return history.isEmpty ? nil : history.map(EpochRecord.init)
    }

    private func restore(_ checkpoint: Checkpoint, into model: inout any ForecastingModel) throws {
        func load<M: ForecastingModel>(_ m: M) throws -> any ForecastingModel {
            var copy = m
            try checkpoint.restore(into: &copy)
            return copy
        }
        model = try load(model)
    }
}

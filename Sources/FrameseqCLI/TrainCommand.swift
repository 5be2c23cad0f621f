import Foundation
import FrameSequencing
import Recurrent

/// `frameseq train`: the demo's pipeline on a user's frames, for one model.
struct TrainCommand {
    static let help = """
    Usage: frameseq train --frames PATH [--output DIR] [options]

    Trains a next-frame forecaster on your frames, holding out the last ones, and
    reports its held-out scores next to persistence and the mean frame.

      --frames PATH        an .npy file of frames (N, H, W, C) or (N, H, W), uint8 or
                           float, or a folder of .png/.pgm/.ppm frames in name order
                           (bytes are read as value/255; floats outside 0...1 are
                           scaled by the training frames' minimum and maximum)
      --output DIR         where to write model.safetensors, metrics.json and
                           forecast.png (default frameseq-train)
      --model NAME         convlstm (default), cnn_lstm or fc_lstm
      --epochs N           passes over the training windows (default 10)
      --batch-size N       windows per optimizer step (default 8)
      --context N          frames each window reads, the forecast's context (default 10)
      --window-stride N    use every N-th training window (default 1)
      --test-frames N      frames held out at the end (default an eighth, at least --steps)
      --steps K            closed-loop forecast length scored on them (default 10)
      --loss NAME          bce (binary cross-entropy, default) or mse; scores are MSE either way
      --learning-rate R    Adam's peak rate (default 0.002), after a warm-up, cosine-annealed
      --clip-norm R        global gradient-norm clipping (default 1)
      --hidden N           LSTM units of fc_lstm and cnn_lstm (default 256)
      --filters LIST       cnn_lstm encoder filters (default 16,32) or convlstm layers' filters
                           (default 16,16), comma-separated
      --kernel-size N      convlstm kernel height and width (default 3)
      --seed N             initialization and shuffling seed (default 0)
      --quiet              no progress bar
    """

    var framesPath: String
    var output: String
    var kind: ModelKind
    var plan: TrainingPlan
    var testFrames: Int?
    var steps: Int
    var hidden: Int
    var filters: [Int]?
    var kernelSize: Int
    var seed: UInt64

    init(_ arguments: [String]) throws {
        var options = try Arguments(arguments, flagNames: ["quiet"])
        guard let frames = options.string("frames") else { throw CLIError.usage("--frames PATH is required (see --help)") }
        framesPath = frames
        output = options.string("output") ?? "frameseq-train"
        let name = options.string("model") ?? ModelKind.convLSTM.rawValue
        guard let kind = ModelKind(rawValue: name) else {
            throw CLIError.usage("--model: unknown model '\(name)' (expected \(ModelKind.names))")
        }
        self.kind = kind
        seed = UInt64(try options.integer("seed", default: 0, in: 0 ... Int.max))
        plan = TrainingPlan(
            contextLength: try options.integer("context", default: 10, in: 1 ... 10_000),
            epochs: try options.integer("epochs", default: 10, in: 1 ... 1_000_000),
            batchSize: try options.integer("batch-size", default: 8, in: 1 ... 1_000_000),
            learningRate: try options.number("learning-rate", default: 2e-3, in: 1e-9 ... 10),
            clipNorm: try options.number("clip-norm", default: 1, in: 1e-9 ... 1e9),
            windowStride: try options.integer("window-stride", default: 1, in: 1 ... 1_000_000),
            seed: seed, showsProgress: !options.flag("quiet"))
        let lossName = options.string("loss") ?? TrainingLoss.bce.rawValue
        guard let loss = TrainingLoss(rawValue: lossName) else {
            throw CLIError.usage("--loss: unknown loss '\(lossName)' (expected \(TrainingLoss.allCases.map(\.rawValue).joined(separator: " or ")))")
        }
        plan.loss = loss
        testFrames = options.string("test-frames") == nil ? nil
            : try options.integer("test-frames", default: 1, in: 1 ... Int.max)
        steps = try options.integer("steps", default: 10, in: 1 ... 100_000)
        hidden = try options.integer("hidden", default: 256, in: 1 ... 1_000_000)
        filters = options.string("filters") == nil ? nil : try options.integerList("filters", default: [], maximum: 4096)
        kernelSize = try options.integer("kernel-size", default: 3, in: 1 ... 31)
        try options.requireAllRead()
    }

    func run(_ console: Console) throws {
        let loaded = try loadFrames(framesPath)
        let count = loaded.frames.count
        let held = testFrames ?? max(steps, count / 8)
        guard count - held >= plan.contextLength + 1 else {
            throw CLIError.failed("\(framesPath) has \(count) frames; holding out \(held) leaves \(count - held), "
                + "too few for one training window of \(plan.contextLength) frames plus its target "
                + "(use a smaller --context or --test-frames, or more frames)")
        }
        let split = try loaded.frames.split(trainCount: count - held, testContext: plan.contextLength)
        let scaling = try ValueScaling.fitted(split.train)
        let trainFrames = try scaling.apply(split.train), test = try scaling.apply(split.test)
        let heldOut = try HeldOutSet(test: test, context: plan.contextLength, steps: steps)
        let settings = ModelSettings(kind: kind, frameShape: loaded.frames.frameShape, hiddenSize: hidden,
                                     filters: filters ?? (kind == .convLSTM ? [16, 16] : [16, 32]),
                                     kernelSize: kernelSize, seed: seed)
        try makeDirectory(output)
        console.print("\(framesPath): \(count) frames of \(loaded.frames.frameShape); training on 0..<\(count - held), "
            + "holding out the last \(held)" + (scaling == .identity ? "" : "; values scaled from \(scaling.lower)...\(scaling.upper)"))
        let trained = try train(settings, on: trainFrames, plan: plan, extraMetadata: scaling.metadata, log: console.print)
        try trained.checkpoint.write(to: "\(output)/model.safetensors")
        let evaluation = try heldOut.evaluate { contexts, steps in
            try trained.model.forecastClosedLoop(context: contexts, steps: steps)
        }
        let model = ResultRow(key: kind.rawValue, title: kind.title, evaluation: evaluation,
                              trainingSeconds: trained.seconds, parameterCount: trained.model.scalarCount)
        let mean = try meanFrame(trainFrames)
        let baselines = [
            ResultRow(key: "persistence", title: "persistence",
                      evaluation: try heldOut.evaluate { try persistence(contexts: $0, steps: $1) }),
            ResultRow(key: "mean", title: "mean frame",
                      evaluation: try heldOut.evaluate { try constantFrame(mean, contexts: $0, steps: $1) }),
        ]
        let extra: [String: Any] = ["data": ["source": framesPath, "frames": count, "test_frames": held,
                                             "height": settings.frameShape.height, "width": settings.frameShape.width,
                                             "channels": settings.frameShape.channels],
                                    "context": plan.contextLength,
                                    "note": "scores are in model units (values scaled to 0...1)"]
        try writeFile(try metricsJSON(models: [model], baselines: baselines, steps: steps, extra: extra),
                      to: "\(output)/metrics.json")
        try PNG.write(try filmstrip([try heldOut.firstTruth(), evaluation.sample]), to: "\(output)/forecast.png")
        console.print("\nHeld-out frames \(count - held)..<\(count) (values in model units, 0...1):")
        console.print(resultsTable(baselines + [model], steps: steps))
        console.print("Wrote \(output)/model.safetensors, \(output)/metrics.json and \(output)/forecast.png "
            + "(top: truth, bottom: \(steps) steps closed-loop).")
    }
}

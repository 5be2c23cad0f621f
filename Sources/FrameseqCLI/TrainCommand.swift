import Foundation
import FrameSequencing
import Recurrent

/// `frameseq train`: the demo's pipeline on a user's frames, for one model.
struct TrainCommand {
    static let help = """
    Usage: frameseq train --frames PATH [--output DIR] [options]
           frameseq train --resume DIR [--epochs N] [--frames PATH]

    Trains a next-frame forecaster on your frames, holding out the last ones, and
    reports its held-out scores next to persistence and the mean frame. The run's
    state is saved to DIR/checkpoint.safetensors at the end of every epoch (and
    every --checkpoint-minutes), so an interrupted run continues with --resume DIR
    exactly as if it had not stopped. Ctrl-C stops training at the next step, saves
    the state there, writes metrics.json and report.html marked interrupted and
    exits with status 130 (a second Ctrl-C ends the process at once). Every run
    from its plan on, refused, failed or completed, leaves metrics.json and
    report.html (a page rendered from it: the plan against what was measured, the
    losses, the scores by steps ahead and the frames).

      --frames PATH        an .npy file of frames (N, H, W, C) or (N, H, W), uint8 or
                           float, or a folder of .png/.pgm/.ppm frames in name order
                           (bytes are read as value/255; floats outside 0...1 are
                           scaled by the training frames' minimum and maximum)
      --output DIR         where to write checkpoint.safetensors, model.safetensors,
                           metrics.json, report.html, forecast.png and horizons.png
                           (default frameseq-train)
      --resume DIR         continue the run whose checkpoint is in DIR, with its model,
                           data and options (--epochs sets a new total; --frames names
                           the same frames elsewhere); writes into DIR
      --checkpoint-minutes M  also save the run's state every M minutes (it is always
                           saved at the end of every epoch)
      --model NAME         convlstm (default), unet (a U-Net with a ConvLSTM bottleneck),
                           cnn_lstm, fc_lstm or fc_gru (fc_lstm with a GRU)
      --epochs N           passes over the training windows (default 10)
      --batch-size N       windows per optimizer step (default 4 for convlstm, 8 for
                           the others)
      --context N          frames each window reads, the forecast's context (default 10)
      --window-stride N    use every N-th training window (default 1)
      --test-frames N      frames held out at the end (default an eighth, at least --steps)
      --steps K            closed-loop forecast length scored on them (default 10)
      --loss NAME          bce (binary cross-entropy, default) or mse; scores are MSE either way
      --horizon K          convlstm: the forecaster runs K frames from the encoder's states
                           and trains on the K frames after each window directly (Shi et
                           al.); forecasts go K frames a pass (default 1)
      --closed-loop K      train on closed-loop rollouts: each window is its context and
                           the K frames after it; after the context the model is fed its
                           own predictions (the loss reaches back through them) or, by a
                           decaying chance, the true frame (scheduled sampling). Validation
                           then scores the K-step closed-loop forecast. Default (or 0):
                           off, each window trains one pass reading true frames only
      --sampling SCHEDULE  with --closed-loop, the chance of feeding the true frame:
                           linear (1 -> 0 over the first two thirds of the steps, default),
                           linear:N (over N steps), exponential:BASE, inverse-sigmoid:K, none
      --reverse-sampling   with --closed-loop, also feed predictions in the context, by a
                           chance falling from 0.5 to 0 (PredRNN-V2's reverse sampling)
      --augment LIST       random symmetries of each training window, its inputs and
                           targets alike, drawn per window and epoch with probability 1/2
                           each: horizontal, vertical (flips), transpose (square frames),
                           reverse (time), comma-separated, or all. Only where the data has
                           them (moving digits do; a satellite's frames have a north, a
                           river flows one way). Flips need --patch 1. Default none
      --learning-rate R    Adam's peak rate (default 0.003 for convlstm and unet, 0.002 for
                           the others), after a warm-up, cosine-annealed
      --clip-norm R        global gradient-norm clipping (default 1)
      --hidden N           LSTM units of fc_lstm and cnn_lstm, GRU units of fc_gru (default
                           256); filters of unet's bottleneck ConvLSTM (default 32)
      --filters LIST       cnn_lstm and unet encoder filters, one per stage (default 16,32),
                           or convlstm layers' filters (default 16,16), comma-separated
      --kernel-size N      convlstm and unet bottleneck kernel height and width (default 3)
      --patch P            space-to-depth patches of P x P pixels: the model sees frames
                           P times smaller on each side with P*P times the channels
                           (frames not divisible by P are padded with zeros at the
                           bottom and right; forecasts are cropped back). Default: the
                           smallest power of two that brings a frame within 128x128
                           pixels for convlstm, unet and cnn_lstm (8 for 785x785), none
                           for fc_lstm and fc_gru
      --recompute K        the recurrent layers keep their states every K steps and
                           recompute the rest in backward: the training record shrinks
                           to a few states for about a third more time a step (gradients
                           are bit for bit the same). 0 keeps every step; default: 0, or
                           the interval the plan picks when the record does not fit.
                           Not for fc_gru (the GRU keeps every step)
      --memory-limit SIZE  the memory the run may take (6G, 512M, ...; default 85% of
                           the memory available when it starts). The run is planned
                           before any frame is read: one line gives the parameters, the
                           estimated peak memory and the minutes per epoch measured on a
                           few steps; a plan over the limit is refused with the options
                           that fit. Without --recompute the plan turns recomputation on,
                           then without --batch-size halves the batch, until it fits
      --seed N             initialization and shuffling seed (default 0)
      --quiet              no progress bar (when standard output is not a terminal,
                           one line per epoch is printed there either way, unless --quiet)
    """

    var framesPath: String?
    var output: String
    var kind: ModelKind
    var plan: TrainingPlan
    var testFrames: Int?
    var steps: Int
    var sizes: SizeOptions
    var kernelSize: Int
    var seed: UInt64
    var memoryLimit: String?
    var quiet: Bool
    var checkpointMinutes: Double?
    /// `--horizon`: frames the ConvLSTM forecasts a pass.
    var horizon = 1
    /// The run directory to continue, with the epochs given on the command line (nil: the stored total).
    var resume: (directory: String, epochs: Int?)?
    /// Data-parallel training (`frameseq-mpi train`): this process is one rank;
    /// `--batch-size` is each rank's share, the step's batch is all of them,
    /// and only rank 0 writes. nil: one process.
    var exchange: (any GradientExchange)?

    /// The processes training together (1 without an exchange).
    var ranks: Int { exchange?.size ?? 1 }
    /// Whether this process writes the run's files: rank 0 or the only one.
    var writes: Bool { (exchange?.rank ?? 0) == 0 }

    /// The options `--resume` accepts; the rest come from the checkpoint.
    static let resumeOptions: Set<String> = ["resume", "frames", "epochs", "quiet", "memory-limit", "checkpoint-minutes"]

    init(_ arguments: [String]) throws {
        var options = try Arguments(arguments, flagNames: ["quiet", "reverse-sampling"])
        quiet = options.flag("quiet")
        memoryLimit = options.string("memory-limit")
        checkpointMinutes = options.string("checkpoint-minutes") == nil ? nil
            : try options.number("checkpoint-minutes", default: 0, in: 0 ... 1e6)
        framesPath = options.string("frames")
        if let directory = options.string("resume") {
            resume = (directory, options.string("epochs") == nil ? nil
                                 : try options.integer("epochs", default: 1, in: 1 ... 1_000_000))
            if let other = options.given.sorted().first(where: { !Self.resumeOptions.contains($0) }) {
                throw CLIError.usage("--\(other) cannot change a resumed run: its settings come from the checkpoint in "
                    + "\(directory) (only --epochs, --frames, --quiet, --memory-limit and --checkpoint-minutes may be given)")
            }
        } else if framesPath == nil {
            throw CLIError.usage("--frames PATH is required (see --help)")
        }
        output = resume?.directory ?? options.string("output") ?? "frameseq-train"
        let name = options.string("model") ?? ModelKind.convLSTM.rawValue
        guard let kind = ModelKind(rawValue: name) else {
            throw CLIError.usage("--model: unknown model '\(name)' (expected \(ModelKind.names))")
        }
        self.kind = kind
        seed = UInt64(try options.integer("seed", default: 0, in: 0 ... Int.max))
        func optional(_ name: String, _ range: ClosedRange<Int>) throws -> Int? {
            options.string(name) == nil ? nil : try options.integer(name, default: range.lowerBound, in: range)
        }
        sizes = SizeOptions(patch: try optional("patch", 1 ... 256), batchSize: try optional("batch-size", 1 ... 1_000_000),
                            hidden: try optional("hidden", 1 ... 1_000_000),
                            filters: options.string("filters") == nil ? nil : try options.integerList("filters", default: [], maximum: 4096),
                            recompute: try optional("recompute", 0 ... 1_000_000))
        plan = TrainingPlan(
            contextLength: try options.integer("context", default: 10, in: 1 ... 10_000),
            epochs: try options.integer("epochs", default: 10, in: 1 ... 1_000_000),
            batchSize: sizes.batchSize ?? kind.defaultBatchSize,
            learningRate: try options.number("learning-rate", default: kind.defaultLearningRate, in: 1e-9 ... 10),
            clipNorm: try options.number("clip-norm", default: 1, in: 1e-9 ... 1e9),
            windowStride: try options.integer("window-stride", default: 1, in: 1 ... 1_000_000),
            seed: seed, showsProgress: !quiet && isatty(STDERR_FILENO) != 0)
        let lossName = options.string("loss") ?? TrainingLoss.bce.rawValue
        guard let loss = TrainingLoss(rawValue: lossName) else {
            throw CLIError.usage("--loss: unknown loss '\(lossName)' (expected \(TrainingLoss.allCases.map(\.rawValue).joined(separator: " or ")))")
        }
        plan.loss = loss
        plan.closedLoop = try Self.closedLoopPlan(&options)
        plan.augmentation = try options.string("augment").map { try WindowAugmentation(parsing: $0, option: "--augment") } ?? .none
        horizon = try options.integer("horizon", default: 1, in: 1 ... 10_000)
        if horizon > 1 && kind != .convLSTM {
            throw CLIError.usage("--horizon is the ConvLSTM encoder-forecaster's (--model convlstm); \(kind.rawValue) predicts one frame a step")
        }
        if horizon > 1 && plan.closedLoop != nil {
            throw CLIError.usage("--horizon \(horizon) trains the forecaster on \(horizon) frames directly and --closed-loop on frames fed "
                + "back one at a time: choose one")
        }
        if let recompute = sizes.recompute, recompute > 0, !kind.recomputes {
            throw CLIError.usage("--recompute is for the LSTM and ConvLSTM models; \(kind.rawValue)'s GRU keeps every step's "
                + "record (drop --recompute, or lower --batch-size, --hidden or --context to fit)")
        }
        testFrames = try optional("test-frames", 1 ... Int.max)
        steps = try options.integer("steps", default: 10, in: 1 ... 100_000)
        kernelSize = try options.integer("kernel-size", default: 3, in: 1 ... 31)
        try options.requireAllRead()
    }
}

extension TrainCommand {
    /// `--closed-loop K`, `--sampling` and `--reverse-sampling` (the last two only with the first).
    static func closedLoopPlan(_ options: inout Arguments) throws -> ClosedLoopPlan? {
        let reverse = options.flag("reverse-sampling")
        let sampling = try options.string("sampling").map { try SamplingPlan(parsing: $0, option: "--sampling") }
        guard options.string("closed-loop") != nil else {
            if sampling != nil || reverse {
                throw CLIError.usage("--\(sampling != nil ? "sampling" : "reverse-sampling") needs --closed-loop K")
            }
            return nil
        }
        let horizon = try options.integer("closed-loop", default: 0, in: 0 ... 10_000)
        guard horizon > 0 else {
            if sampling != nil || reverse {
                throw CLIError.usage("--\(sampling != nil ? "sampling" : "reverse-sampling") needs --closed-loop K of 1 or more")
            }
            return nil
        }
        return ClosedLoopPlan(horizon: horizon, sampling: sampling ?? .linear(steps: nil), reverse: reverse)
    }
}

// MARK: - Resuming

extension TrainCommand {
    /// The checkpoint in a run directory, and its path.
    static func readCheckpoint(in directory: String) throws -> (checkpoint: Checkpoint, path: String) {
        let path = directory + "/checkpoint.safetensors"
        guard FileManager.default.fileExists(atPath: path) else {
            throw CLIError.failed("--resume \(directory): no checkpoint.safetensors there (a run writes it at the end "
                + "of its first epoch; start with --frames instead)")
        }
        do {
            return (try Checkpoint.read(contentsOf: path), path)
        } catch {
            throw CLIError.failed("--resume \(directory): checkpoint.safetensors cannot be read (\(Frameseq.oneLine(error)))")
        }
    }

    /// The value of `key` in a checkpoint's metadata, or an error naming the file.
    static func stored(_ key: String, in checkpoint: Checkpoint, _ path: String) throws -> String {
        guard let value = checkpoint.metadata[key] else {
            throw CLIError.failed("\(path): no '\(key)' in the checkpoint's metadata; was it written by `frameseq train`?")
        }
        return value
    }

    /// The plan of the run a checkpoint continues, checked against the frames
    /// and the memory budget: a checkpoint of another frame size or series,
    /// or one the budget cannot hold, is refused.
    func resumedPlan(_ checkpoint: Checkpoint, path: String, header: SeriesHeader, budget: MemoryBudget) throws
        -> (RunPlan, TrainingPlan, held: Int, steps: Int) {
        let settings = try ModelSettings(metadata: checkpoint.metadata, source: path)
        var plan = try TrainingPlan(metadata: checkpoint.metadata, source: path, showsProgress: self.plan.showsProgress)
        if let epochs = resume?.epochs { plan.epochs = epochs }
        func number(_ key: String) throws -> Int {
            let text = try Self.stored(key, in: checkpoint, path)
            guard let value = Int(text), value > 0 else {
                throw CLIError.failed("\(path): metadata '\(key)' should be a whole number above 0, got '\(text)'")
            }
            return value
        }
        let (held, steps, count) = (try number("train.test_frames"), try number("train.steps"), try number("train.frame_count"))
        guard header.frame == settings.frameShape, header.count == count else {
            throw CLIError.failed("--resume: \(path) continues a run on \(count) frames of \(settings.frameShape), but "
                + "the frames given have \(header.count) of \(header.frame); resume with the same series (--frames PATH)")
        }
        let planner = Planner(kind: settings.kind, header: header, heldOut: held, context: plan.contextLength,
                              windowStride: plan.windowStride, steps: steps, kernelSize: settings.kernelSize,
                              seed: settings.seed, budget: budget, horizon: settings.horizon,
                              rollout: plan.closedLoop?.horizon ?? 0)
        // The step's batch stays the checkpointed run's whatever the rank count; each rank holds its share.
        let share = (plan.batchSize + ranks - 1) / ranks
        let footprint = try planner.estimate(settings, batch: share)
        let runPlan = RunPlan(settings: settings, batchSize: share, windowCount: planner.windowCount,
                              footprint: footprint, evaluationBatch: planner.evaluationBatchSize(share, footprint.activation, settings))
        guard footprint.peakBytes <= budget.bytes else {
            throw PlanRefused(plan: runPlan, description: "--resume: the run needs an estimated \(gibibytes(footprint.peakBytes)) "
                + "but the budget is \(gibibytes(budget.bytes)) (\(budget.origin)); free memory or raise --memory-limit")
        }
        return (runPlan, plan, held, steps)
    }
}

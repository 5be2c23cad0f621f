import Foundation
import FrameSequencing
import Recurrent

/// What `frameseq train` will train and what it will take, settled before a
/// frame is read: the architecture (patch included), the batch, and the
/// library's estimate of the run's peak memory (``TrainingFootprint``).
struct RunPlan {
    var settings: ModelSettings
    var batchSize: Int
    /// Training windows of one epoch.
    var windowCount: Int
    var footprint: TrainingFootprint
    /// Windows per evaluation batch: the training batch, or fewer where
    /// full-size frames would make evaluation the run's peak.
    var evaluationBatch: Int
    /// What the planner chose on its own, and why (empty when everything was given).
    var choices: [String] = []
}

/// A plan over the memory budget, refused before a frame is read: the
/// one-line refusal (the estimate, the budget and options that fit) and the
/// plan itself, which the run's report shows.
struct PlanRefused: Error, CustomStringConvertible {
    var plan: RunPlan
    var description: String
}

/// The sizes a user gave on the command line (nil: the planner picks).
struct SizeOptions {
    var patch: Int?
    var batchSize: Int?
    var hidden: Int?
    var filters: [Int]?
    var recompute: Int?
}

/// Plans `frameseq train`: picks what was not given, estimates, and refuses
/// a run that does not fit in the budget with the options that would.
struct Planner {
    var kind: ModelKind
    var header: SeriesHeader
    var heldOut: Int
    var context: Int
    var windowStride: Int
    var steps: Int
    var kernelSize: Int
    var seed: UInt64
    var budget: MemoryBudget
    /// The ConvLSTM's forecast horizon (`--horizon`).
    var horizon = 1
    /// Frames forecast after the context in closed-loop training (`--closed-loop K`); 0: off.
    var rollout = 0
    /// Estimates already made: a plan and its refusal compare dozens of candidates.
    private let estimates = EstimateCache()

    /// The state grid a ConvLSTM, CNN-LSTM or U-Net is planned for when no patch is
    /// given: the smallest power-of-two patch that brings the frame within
    /// 128 x 128 pixels (785 x 785 -> 8, a 99 x 99 grid; 64 x 64 -> 1).
    static let targetGridPixels = 128 * 128

    func plan(_ given: SizeOptions) throws -> RunPlan {
        var choices: [String] = []
        let hidden = given.hidden ?? kind.defaultHiddenSize
        let filters = given.filters ?? (kind == .convLSTM ? [16, 16] : [16, 32])
        var patch = given.patch ?? 1
        if given.patch == nil, !kind.isFullyConnected {
            while patch < 64 && gridPixels(patch) > Self.targetGridPixels { patch *= 2 }
            if patch > 1 {
                let full = try estimate(settings(hidden: hidden, filters: filters, patch: 1), batch: given.batchSize ?? kind.defaultBatchSize)
                let grid = try SpaceToDepth(blockSize: patch).patchedShape(of: header.frame)
                choices.append("--patch \(patch): the model sees \(header.frameText) frames as \(grid.height)x\(grid.width)x"
                    + "\(grid.channels) (space-to-depth), so a batch's training record takes "
                    + "\(gibibytes(try estimate(settings(hidden: hidden, filters: filters, patch: patch), batch: given.batchSize ?? kind.defaultBatchSize).activation.retainedBytes))"
                    + " instead of \(gibibytes(full.activation.retainedBytes)) unpatched")
            }
        }
        var chosen = settings(hidden: hidden, filters: filters, patch: patch)
        chosen.recompute = given.recompute ?? 0
        var batch = given.batchSize ?? kind.defaultBatchSize
        var footprint = try estimate(chosen, batch: batch)
        if given.recompute == nil, footprint.peakBytes > budget.bytes,
           let (interval, recomputed) = try bestRecomputation(chosen, batch: batch), recomputed.peakBytes <= budget.bytes {
            // Recomputing costs about one more forward pass a step; a smaller batch would change what is learned.
            chosen.recompute = interval
            footprint = recomputed
            choices.append("--recompute \(interval): the recurrent layers keep their states every \(interval) steps and "
                + "recompute the rest in backward, so the training record fits (about a third more time a step)")
        }
        if given.batchSize == nil {
            while footprint.peakBytes > budget.bytes && batch > 1 {
                batch /= 2
                footprint = try estimate(chosen, batch: batch)
            }
            if batch < kind.defaultBatchSize && footprint.peakBytes <= budget.bytes {
                choices.append("--batch-size \(batch): the largest batch up to \(kind.defaultBatchSize) that fits the budget")
            }
        }
        let plan = RunPlan(settings: chosen, batchSize: batch, windowCount: windowCount, footprint: footprint,
                           evaluationBatch: evaluationBatchSize(batch, footprint.activation, chosen), choices: choices)
        guard footprint.peakBytes <= budget.bytes else {
            throw PlanRefused(plan: plan, description: try refusal(chosen, batch: batch, footprint: footprint))
        }
        return plan
    }

    /// The estimate for `settings` at `batch`.
    func estimate(_ settings: ModelSettings, batch: Int) throws -> TrainingFootprint {
        if let known = estimates.values[EstimateCache.Key(settings: settings, batch: batch)] { return known }
        let footprint = try freshEstimate(settings, batch: batch)
        estimates.values[EstimateCache.Key(settings: settings, batch: batch)] = footprint
        return footprint
    }

    private func freshEstimate(_ settings: ModelSettings, batch: Int) throws -> TrainingFootprint {
        let frame = settings.modelFrameShape
        // A closed-loop rollout keeps a record per step over the context and the
        // forecast; each ConvLSTM step also runs the forecaster stack, about
        // as much again.
        let recorded = rollout > 0 ? (context + rollout - 1) * (settings.kind == .convLSTM ? 2 : 1) : context
        let input = [batch, recorded, frame.height, frame.width, frame.channels]
        let (parameters, activation) = try settings.estimate(inputDimensions: input)
        let targetSteps = rollout > 0 ? rollout : settings.trainingTarget == .shifted ? context : settings.horizon
        let batchBytes = 4 * batch * (context + targetSteps) * frame.featureCount
        return TrainingFootprint(
            parameterCount: parameters, optimizerStateFloatsPerParameter: 2, clipsGradients: true, activation: activation,
            // The closed-loop scoring at the end, or each epoch's validation pass
            // over the held-out windows (a forward pass at the training batch, with its own batch buffer).
            evaluationBytes: max(evaluationBytes(batch: evaluationBatchSize(batch, activation, settings), settings: settings),
                                 activation.inferencePeakBytes + batchBytes),
            frameBytes: header.loadedBytes, batchBytes: batchBytes,
            stepsPerEpoch: (windowCount + batch - 1) / batch)
    }

    /// Training windows of one epoch: `context` frames and the frame after
    /// (the `rollout` frames after, in closed-loop training), every
    /// `windowStride`-th start in the training frames.
    var windowCount: Int { max(0, (header.count - heldOut - context - max(rollout, horizon)) / windowStride + 1) }

    func settings(hidden: Int, filters: [Int], patch: Int) -> ModelSettings {
        var settings = ModelSettings(kind: kind, frameShape: header.frame, hiddenSize: hidden, filters: filters,
                                     kernelSize: kernelSize, seed: seed)
        settings.patch = patch
        settings.horizon = horizon
        // Patched frames have many channels (192 for 8 x 8 RGB patches): a 1 x 1
        // embedding to the first layer's filters spares the ConvLSTM's input
        // convolution most of its work.
        if kind == .convLSTM && patch > 1 { settings.embedding = filters[0] }
        return settings
    }

    private func gridPixels(_ patch: Int) -> Int {
        ((header.frame.height + patch - 1) / patch) * ((header.frame.width + patch - 1) / patch)
    }

    /// Held-out evaluation of `batch` windows: their contexts and truths at full
    /// size, the contexts patched, and the forecasts patched and restored, with
    /// the baselines' forecasts beside them.
    private func evaluationBytes(batch: Int, settings: ModelSettings) -> Int {
        let (full, patched) = (header.frame.featureCount, settings.modelFrameShape.featureCount)
        return 4 * batch * (context * (full + patched) + steps * (3 * full + patched))
    }

    /// Evaluation batches no larger than a training step's memory (at least one window).
    func evaluationBatchSize(_ batch: Int, _ activation: ActivationFootprint, _ settings: ModelSettings) -> Int {
        var size = batch
        let ceiling = max(activation.retainedBytes + activation.backwardPeakBytes, 256 << 20)
        while size > 1 && evaluationBytes(batch: size, settings: settings) > ceiling { size /= 2 }
        return size
    }

    // MARK: Refusal

    /// One line: the estimate and what it is made of, the budget, and the
    /// options that would fit with their estimates.
    private func refusal(_ settings: ModelSettings, batch: Int, footprint: TrainingFootprint) throws -> String {
        var line = "the run needs an estimated \(gibibytes(footprint.peakBytes)) (\(settings.kind.rawValue), "
            + "\(footprint.parameterCount) parameters, batch \(batch)\(settings.patch > 1 ? ", patch \(settings.patch)" : "")"
            + "\(settings.recompute > 0 ? ", recompute \(settings.recompute)" : ""): "
            + "\(gibibytes(footprint.modelStateBytes)) of parameters, gradients and Adam state, "
            + "\(gibibytes(footprint.stepBytes)) for one batch's training record and backward pass, "
            + "\(gibibytes(footprint.frameBytes)) of frames) but the budget is \(gibibytes(budget.bytes)) (\(budget.origin))"
        let options = try alternatives(settings, batch: batch)
        line += options.isEmpty
            ? "; nothing smaller fits either: free memory, raise --memory-limit or use fewer or smaller frames"
            : "; options that fit: " + options.map { "\($0.option) (\(gibibytes($0.bytes)))" }.joined(separator: ", ")
        return line
    }

    /// Smaller runs that fit, mildest first: one size changed (the largest
    /// batch, the smallest patch, the most units or filters that fit), then
    /// two at once when no single change does, and the ConvLSTM with a patch.
    private func alternatives(_ settings: ModelSettings, batch: Int) throws -> [(option: String, bytes: Int)] {
        // Each size's candidate values, mildest first, as (option text, change).
        typealias Change = (option: String, apply: (inout ModelSettings, inout Int) -> Void)
        var sizes: [[Change]] = []
        sizes.append(halvings(from: batch).map { value -> Change in ("--batch-size \(value)", { _, b in b = value }) })
        if !settings.kind.isFullyConnected {
            let patches = Array(sequence(first: settings.patch * 2) { $0 * 2 }.prefix { $0 <= 64 })
            sizes.append(patches.map { value -> Change in
                ("--patch \(value)", { s, _ in
                    s.patch = value
                    if s.kind == .convLSTM { s.embedding = s.filters[0] }
                })
            })
        }
        if !settings.kind.isFullyConnected {
            let smallest = settings.filters.min() ?? 1
            let divisors = Array(sequence(first: 2) { $0 * 2 }.prefix { smallest / $0 >= 1 })
            sizes.append(divisors.map { divisor -> Change in
                let filters = settings.filters.map { $0 / divisor }
                let text = "--filters " + filters.map(String.init).joined(separator: ",")
                return (text, { s, _ in
                    s.filters = filters
                    if s.embedding > 0 { s.embedding = filters[0] }
                })
            })
        }
        if settings.kind != .convLSTM {
            let units = halvings(from: settings.hiddenSize).filter { $0 >= 8 }
            sizes.append(units.map { value -> Change in ("--hidden \(value)", { s, _ in s.hiddenSize = value }) })
        }
        func fits(_ changes: [Change]) -> Int? {
            var (candidate, candidateBatch) = (settings, batch)
            for change in changes { change.apply(&candidate, &candidateBatch) }
            guard let bytes = try? estimate(candidate, batch: candidateBatch).peakBytes, bytes <= budget.bytes else { return nil }
            return bytes
        }
        if settings.recompute == 0, let (interval, _) = try bestRecomputation(settings, batch: batch) {
            sizes.append([("--recompute \(interval)", { s, _ in s.recompute = interval })])
        }
        var found: [(option: String, bytes: Int)] = []
        for size in sizes {
            if let change = size.first(where: { fits([$0]) != nil }) { found.append((change.option, fits([change])!)) }
        }
        if found.isEmpty {
            search: for first in sizes.indices {
                for second in sizes.indices where second > first {
                    for a in sizes[first] {
                        if let b = sizes[second].first(where: { fits([a, $0]) != nil }) {
                            found.append((a.option + " " + b.option, fits([a, b])!))
                            continue search
                        }
                    }
                }
            }
        }
        if settings.kind != .convLSTM {
            let convLSTM = Planner(kind: .convLSTM, header: header, heldOut: heldOut, context: context,
                                   windowStride: windowStride, steps: steps, kernelSize: kernelSize, seed: seed, budget: budget,
                                   rollout: rollout)   // the ConvLSTM of the suggestion forecasts one frame a pass
            if let plan = try? convLSTM.plan(SizeOptions()) {
                found.append(("--model convlstm" + (plan.settings.patch > 1 ? " --patch \(plan.settings.patch)" : "")
                                + (plan.batchSize != ModelKind.convLSTM.defaultBatchSize ? " --batch-size \(plan.batchSize)" : ""), plan.footprint.peakBytes))
            }
        }
        return found
    }

    /// The recomputation interval among 1, 2, 3 and 5 steps with the smallest
    /// estimated peak at `batch`, and its estimate (nil for a model without
    /// recurrent records worth recomputing, or one that cannot: the FC-GRU).
    func bestRecomputation(_ settings: ModelSettings, batch: Int) throws -> (Int, TrainingFootprint)? {
        guard settings.kind.recomputes else { return nil }
        var best: (Int, TrainingFootprint)?
        for interval in [1, 2, 3, 5] where interval <= context {
            var candidate = settings
            candidate.recompute = interval
            let footprint = try estimate(candidate, batch: batch)
            if footprint.peakBytes < best?.1.peakBytes ?? Int.max { best = (interval, footprint) }
        }
        return best
    }

    /// `value / 2, value / 4, ..., 1`.
    private func halvings(from value: Int) -> [Int] {
        Array(sequence(first: value / 2) { $0 / 2 }.prefix { $0 >= 1 })
    }
}

/// The estimates one planner has made, by settings and batch.
private final class EstimateCache {
    struct Key: Hashable {
        var settings: ModelSettings
        var batch: Int
    }
    var values: [Key: TrainingFootprint] = [:]
}

import Foundation
import FrameSequencing
import Recurrent

/// Running `frameseq train`: plan, read, train, score, and record. From the
/// plan on, the run keeps a record (metrics.json and report.html) of what it
/// did, written when it ends however it ends: completed, refused by the plan,
/// failed, or interrupted (SIGINT stops training at a step boundary and saves
/// its state for `--resume`).
extension TrainCommand {
    func run(_ console: Console) throws {
        // Planned from the file's header: a run that cannot fit is refused before a frame is read.
        let resumed = try resume.map { try Self.readCheckpoint(in: $0.directory) }
        let framesPath = try self.framesPath ?? resumed.map { try Self.stored("train.frames", in: $0, $1) }!
        let header = try SeriesHeader.read(framesPath)
        let budget = try MemoryBudget(option: memoryLimit)
        var record = MetricsFile(command: "train", status: .completed, note: "scores are in model units (values scaled to 0...1)",
                                 data: DataDescription(source: framesPath, frames: header.count, height: header.frame.height,
                                                       width: header.frame.width, channels: header.frame.channels),
                                 context: plan.contextLength, modelOrder: [], models: [:], baselines: [:], pictures: [])
        var plan = self.plan, held: Int, steps = self.steps, runPlan: RunPlan
        do {
            if let (checkpoint, path) = resumed {
                (runPlan, plan, held, steps) = try resumedPlan(checkpoint, path: path, header: header, budget: budget)
            } else {
                held = testFrames ?? max(steps, header.count / 8)
                record.data.testFrames = held
                let planner = Planner(kind: kind, header: header, heldOut: held, context: plan.contextLength,
                                      windowStride: plan.windowStride, steps: steps, kernelSize: kernelSize, seed: seed,
                                      budget: budget, horizon: horizon, rollout: plan.closedLoop?.horizon ?? 0)
                runPlan = try planner.plan(sizes)
                for choice in runPlan.choices { console.print("chose " + choice) }
                plan.batchSize = runPlan.batchSize * ranks   // the step's batch: every rank's share
            }
        } catch let refusal as PlanRefused {
            describe(&record, refusal.plan, plan, budget: budget, steps: steps, status: .notRun)
            (record.status, record.error) = (.refused, refusal.description)
            if writes, (try? makeDirectory(output)) != nil, (try? writeRecord(record, to: output)) != nil {
                console.print("Wrote \(output)/metrics.json and \(output)/report.html: the plan and why it was refused.")
            }
            throw refusal
        }
        describe(&record, runPlan, plan, budget: budget, steps: steps, status: .notRun)
        (record.data.testFrames, record.data.trainFrames) = (held, header.count - held)
        if ranks > 1 {
            console.print("data-parallel: \(ranks) ranks, \(runPlan.batchSize) windows each, \(plan.batchSize) a step")
        }
        if writes { try makeDirectory(output) }
        let log = TrainingLog()
        do {
            try Interruption.watch {
                try trainAndScore(&record, log: log, runPlan: runPlan, plan: plan, held: held, steps: steps,
                                  framesPath: framesPath, header: header, budget: budget, resumed: resumed?.checkpoint,
                                  console: console)
            }
        } catch let interruption as RunInterrupted {
            throw interruption
        } catch {
            (record.status, record.error) = (.failed, Frameseq.oneLine(error))
            record.models[runPlan.settings.kind.rawValue]?.status = log.parameterCount == nil ? .notRun : .failed
            record.models[runPlan.settings.kind.rawValue]?.record(log)
            record.plan?.record(RunMeasurements(peakResidentBytes: ProcessMemory.peakResidentBytes, history: log.epochs,
                                                estimatedEpochSeconds: log.estimatedEpochSeconds))
            record.history = log.epochRecords
            if writes, (try? writeRecord(record, to: output)) != nil {
                console.print("Wrote \(output)/metrics.json and \(output)/report.html with what the run did before it failed.")
            }
            throw error
        }
    }

    /// Fills the record's plan, settings and the model's entry.
    private func describe(_ record: inout MetricsFile, _ runPlan: RunPlan, _ plan: TrainingPlan, budget: MemoryBudget,
                          steps: Int, status: ModelStatus) {
        let kind = runPlan.settings.kind
        var training = plan
        training.batchSize = runPlan.batchSize
        record.plan = PlanRecord(runPlan, budget: budget)
        record.settings = ["steps": "\(steps)"]
        record.modelOrder = [kind.rawValue]
        record.models[kind.rawValue] = ModelEntry(title: kind.title, status: status,
                                                  settings: settingsDescription(runPlan.settings, training))
    }

    private func trainAndScore(_ record: inout MetricsFile, log: TrainingLog, runPlan: RunPlan, plan: TrainingPlan, held: Int,
                               steps: Int, framesPath: String, header: SeriesHeader, budget: MemoryBudget,
                               resumed: Checkpoint?, console: Console) throws {
        let loaded = try loadFrames(framesPath)
        guard loaded.frames.frameShape == header.frame, loaded.frames.count == header.count else {
            throw CLIError.failed("\(framesPath) changed while it was read: its header said \(header.count) frames of "
                + "\(header.frame), it holds \(loaded.frames.count) of \(loaded.frames.frameShape)")
        }
        let count = loaded.frames.count
        guard count - held >= plan.contextLength + 1 else {
            throw CLIError.failed("\(framesPath) has \(count) frames; holding out \(held) leaves \(count - held), "
                + "too few for one training window of \(plan.contextLength) frames plus its target "
                + "(use a smaller --context or --test-frames, or more frames)")
        }
        let split = try loaded.frames.split(trainCount: count - held, testContext: plan.contextLength)
        let (scaling, valueRange) = try Normalization.fittedForModels(split.train)
        let trainFrames = try scaling.apply(to: split.train), test = try scaling.apply(to: split.test)
        let heldOut = try HeldOutSet(test: test, context: plan.contextLength, steps: steps)
        let settings = runPlan.settings, kind = settings.kind
        console.print("\(framesPath): \(count) frames of \(loaded.frames.frameShape); training on 0..<\(count - held), "
            + "holding out the last \(held)" + (scaling.isIdentity ? "" : "; values scaled from \(valueRange.lowerBound)...\(valueRange.upperBound)"))
        let report = TrainingReport(
            log: console.print,
            calibrated: { stepSeconds, stepsPerEpoch in
                console.print(planLine(runPlan, budget: budget, stepSeconds: stepSeconds, stepsPerEpoch: stepsPerEpoch))
            },
            epochLines: !quiet && isatty(STDOUT_FILENO) == 0)
        var runMetadata = scaling.checkpointMetadata(range: valueRange)
        runMetadata["train.frames"] = framesPath
        runMetadata["train.frame_count"] = String(count)
        runMetadata["train.test_frames"] = String(held)
        runMetadata["train.steps"] = String(steps)
        let policy = CheckpointPolicy(path: "\(output)/checkpoint.safetensors",
                                      interval: checkpointMinutes.map { .milliseconds(Int64($0 * 60_000)) })
        let mean = try meanFrame(trainFrames)
        let trained = try train(settings, on: trainFrames, mean: mean, validation: test, plan: plan, extraMetadata: runMetadata, report: report, log: log,
                                checkpoints: policy, resuming: resumed, exchange: exchange)
        guard writes else { return }   // rank 0 scores, saves and reports; the model is the same on every rank
        func measured() -> RunMeasurements {
            RunMeasurements(peakResidentBytes: ProcessMemory.peakResidentBytes, history: log.epochs,
                            estimatedEpochSeconds: log.estimatedEpochSeconds)
        }
        if log.interrupted || Interruption.requested {
            // The trainer stopped at a step boundary: its checkpoint holds that position exactly.
            try trained.checkpoint.write(to: policy.path)
            record.plan?.record(measured())
            (record.history, record.status) = (log.epochRecords, .interrupted)
            record.models[kind.rawValue]?.status = .interrupted
            record.models[kind.rawValue]?.record(log)
            let line = "interrupted in epoch \(log.position.epoch) after step \(log.position.step); the run's state is in "
                + "\(policy.path) (continue with --resume \(output)); wrote \(output)/metrics.json and \(output)/report.html"
            record.error = line
            try writeRecord(record, to: output)
            throw RunInterrupted(description: line)
        }
        try trained.checkpoint.write(to: "\(output)/model.safetensors")
        let forecast = PatchedForecast(model: trained.model, patch: settings.patching)
        let evaluation = try heldOut.evaluate(batchSize: runPlan.evaluationBatch) { try forecast($0, $1) }
        let model = ResultRow(key: kind.rawValue, title: kind.title, evaluation: evaluation,
                              trainingSeconds: trained.seconds, parameterCount: trained.model.scalarCount)
        let baselines = [
            ResultRow(key: "persistence", title: "persistence",
                      evaluation: try heldOut.evaluate(batchSize: runPlan.evaluationBatch) { try persistence(contexts: $0, steps: $1) }),
            ResultRow(key: "mean", title: "mean frame",
                      evaluation: try heldOut.evaluate(batchSize: runPlan.evaluationBatch) {
                          try constantFrame(mean, contexts: $0, steps: $1)
                      }),
        ]
        let measurements = measured()
        try PNG.write(try filmstrip([try heldOut.firstTruth(), evaluation.sample]), to: "\(output)/forecast.png")
        var entry = ModelEntry(model)
        (entry.status, entry.settings) = (.completed, record.models[kind.rawValue]?.settings)
        entry.record(log)
        record.models[kind.rawValue] = entry
        for row in baselines { record.baselines[row.key] = ModelEntry(row) }
        record.plan?.record(measurements)
        record.history = log.epochRecords
        record.pictures = [PictureEntry(file: "forecast.png", caption: "truth (top) and \(steps) steps forecast "
            + "closed-loop (bottom) from frame \(count - held)")]
        let drewHorizons = try record.addHorizonsPicture(in: output, at: 1)
        try writeRecord(record, to: output)
        console.print("\nHeld-out frames \(count - held)..<\(count) (values in model units, 0...1):")
        console.print(resultsTable(baselines + [model], steps: steps))
        console.print("Peak memory \(gibibytes(measurements.peakResidentBytes)) (estimated \(gibibytes(runPlan.footprint.peakBytes))).")
        console.print("Wrote \(output)/report.html (open it in a browser), \(output)/model.safetensors, \(output)/metrics.json"
            + (drewHorizons ? ", \(output)/\(ReportCharts.horizonsFile) (scores by steps ahead against the baselines)" : "")
            + " and \(output)/forecast.png (top: truth, bottom: \(steps) steps closed-loop).")
    }
}

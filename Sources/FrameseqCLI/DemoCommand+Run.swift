import Foundation
import FrameSequencing
import Recurrent

/// Running the demo: the baselines, then each model trained and scored in
/// turn, its results added to the run's record as they come, so a run that
/// fails or is interrupted still writes metrics.json and report.html with
/// what it did.
extension DemoCommand {
    func run(_ console: Console) throws {
        if let benchmark, writeFramesPath == nil {
            return try Interruption.watch { try runBenchmark(benchmark, console: console) }
        }
        let pixels = try MovingDigits(size: size, digitCount: 2, seed: seed, channels: channels).pixels(count: frameCount)
        let shape = [frameCount, size, size, channels]
        if let path = writeFramesPath {
            try NPY.write(try NumericArray(shape: shape, data: .uint8(pixels)), to: path)
            console.print("Wrote \(path): \(frameCount) frames of two moving digits, \(size)x\(size)x\(channels) uint8 "
                + "(seed \(seed), \(shape.reduce(1, *) / 1_000_000) MB).")
            return
        }
        let frames = try FrameStack(stacked: pixels, frameShape: FrameShape(height: size, width: size, channels: channels),
                                    scale: 1.0 / 255)
        let split = try frames.split(trainCount: frameCount - testFrames, testContext: context)
        let heldOut = try HeldOutSet(test: split.test, context: context, steps: steps)
        try makeDirectory(output)
        // The series itself, so `frameseq train --frames DIR/frames.npy` can pick up from here.
        try NPY.write(try NumericArray(shape: shape, data: .uint8(pixels)), to: "\(output)/frames.npy")
        console.print("""
            frameseq demo\(quick ? " --quick" : ""): \(frameCount) frames of two moving digits, \(size)x\(size)x\(channels) (seed \(seed))
            train on frames 0..<\(split.train.count), forecast the last \(testFrames) \
            (1 step ahead and \(steps) steps closed-loop, \(context) frames of context)
            writing to \(output)/
            """)
        var record = MetricsFile(
            command: "demo", status: .completed,
            note: "mse and psnr are 1-step-ahead scores on the held-out frames; closed_loop feeds predictions back",
            data: DataDescription(kind: "moving digits", frames: frameCount, height: size, width: size, channels: channels,
                                  trainFrames: frameCount - testFrames, testFrames: testFrames, seed: seed),
            context: context, quick: quick, settings: ["steps": "\(steps)"], modelOrder: models.map(\.rawValue),
            models: Dictionary(uniqueKeysWithValues: models.map { kind in
                (kind.rawValue, ModelEntry(title: kind.title, status: .notRun, settings: describe(configuration(kind))))
            }),
            baselines: [:], pictures: [])
        do {
            try Interruption.watch { try trainAndScore(&record, split: split, heldOut: heldOut, console: console) }
        } catch let interruption as RunInterrupted {
            throw interruption
        } catch {
            (record.status, record.error) = (.failed, Frameseq.oneLine(error))
            if (try? writeRecord(record, to: output)) != nil {
                console.print("Wrote \(output)/metrics.json and \(output)/report.html with what the run did before it failed.")
            }
            throw error
        }
    }

    /// The architecture and training options of a model, for the report.
    private func describe(_ configuration: (settings: ModelSettings, plan: TrainingPlan)) -> [String: String] {
        settingsDescription(configuration.settings, configuration.plan)
    }

    private func trainAndScore(_ record: inout MetricsFile, split: ChronologicalSplit,
                               heldOut: HeldOutSet, console: Console) throws {
        let mean = try meanFrame(split.train)
        let baselines = [
            ResultRow(key: "persistence", title: "persistence",
                      evaluation: try heldOut.evaluate { try persistence(contexts: $0, steps: $1) }),
            ResultRow(key: "mean", title: "mean frame",
                      evaluation: try heldOut.evaluate { try constantFrame(mean, contexts: $0, steps: $1) }),
        ]
        for row in baselines { record.baselines[row.key] = ModelEntry(row) }
        let header = SeriesHeader(count: frameCount, frame: try FrameShape(height: size, width: size, channels: channels),
                                  isBytes: true, valueBytes: 1)
        let budget = try MemoryBudget(option: nil)
        var rows: [ResultRow] = []
        for kind in models {
            let (settings, plan) = configuration(kind)
            let planner = Planner(kind: kind, header: header, heldOut: testFrames, context: context, windowStride: 1,
                                  steps: steps, kernelSize: settings.kernelSize, seed: seed, budget: budget,
                                  horizon: settings.horizon, rollout: plan.closedLoop?.horizon ?? 0)
            let footprint = try planner.estimate(settings, batch: plan.batchSize)
            var planRecord = PlanRecord(RunPlan(settings: settings, batchSize: plan.batchSize, windowCount: planner.windowCount,
                                                footprint: footprint, evaluationBatch: 16), budget: budget)
            planRecord.choices = nil
            console.print("")
            let log = TrainingLog()
            let trained: TrainedModel
            do {
                trained = try train(settings, on: split.train, mean: mean, validation: split.test, plan: plan, extraMetadata: ["data.scale": "1"],
                                    report: TrainingReport(log: console.print, calibrated: { _, _ in }, epochLines: false), log: log)
            } catch {
                record.models[kind.rawValue]?.status = .failed
                record.models[kind.rawValue]?.record(log)
                throw error
            }
            planRecord.record(RunMeasurements(peakResidentBytes: ProcessMemory.peakResidentBytes, history: log.epochs,
                                              estimatedEpochSeconds: log.estimatedEpochSeconds))
            record.models[kind.rawValue]?.plan = planRecord
            if log.interrupted {
                record.models[kind.rawValue]?.status = .interrupted
                record.models[kind.rawValue]?.record(log)
                try stop(&record, "interrupted while training \(kind.title) in epoch \(log.position.epoch), after step "
                    + "\(log.position.step)", console: console)
            }
            let forecast = PatchedForecast(model: trained.model, patch: settings.patching)
            let evaluation = try heldOut.evaluate { try forecast($0, $1) }
            try trained.checkpoint.write(to: "\(output)/\(kind.rawValue).safetensors")
            try PNG.write(try filmstrip([try heldOut.firstTruth(), evaluation.sample]), to: "\(output)/\(kind.rawValue).png")
            record.pictures.append(PictureEntry(file: "\(kind.rawValue).png",
                                                caption: "\(kind.title): truth (top) and \(steps) steps forecast closed-loop (bottom)"))
            console.print(String(format: "%@: trained in %.0f s, held-out 1-step MSE %.5f, %d-step MSE %.5f",
                                 kind.title, trained.seconds, evaluation.oneStep.mse, steps, evaluation.closedLoop.mse))
            let row = ResultRow(key: kind.rawValue, title: kind.title, evaluation: evaluation,
                                trainingSeconds: trained.seconds, parameterCount: trained.model.scalarCount)
            rows.append(row)
            var entry = ModelEntry(row)
            (entry.status, entry.settings, entry.plan) = (.completed, record.models[kind.rawValue]?.settings, planRecord)
            entry.record(log)
            record.models[kind.rawValue] = entry
            if Interruption.requested {
                try stop(&record, "interrupted after \(kind.title) was trained and scored", console: console)
            }
        }
        let comparison = [try heldOut.firstTruth(), baselines[0].evaluation.sample] + rows.map(\.evaluation.sample)
        try PNG.write(try filmstrip(comparison), to: "\(output)/comparison.png")
        record.pictures.insert(PictureEntry(file: "comparison.png", caption: "rows: truth, persistence, "
            + rows.map(\.title).joined(separator: ", ") + "; \(steps) steps closed-loop from frame \(frameCount - testFrames)"),
                               at: 0)
        let drewHorizons = try record.addHorizonsPicture(in: output, at: 1)
        try writeRecord(record, to: output)
        console.print("\nHeld-out frames \(frameCount - testFrames)..<\(frameCount):")
        console.print(resultsTable(baselines + rows, steps: steps))
        if let convLSTM = rows.first(where: { $0.key == ModelKind.convLSTM.rawValue }) {
            console.print(String(format: "ConvLSTM 1-step MSE is %.2fx persistence's.",
                                 convLSTM.evaluation.oneStep.mse / baselines[0].evaluation.oneStep.mse))
        }
        console.print("""
            Wrote \(output)/report.html (open it in a browser), \(output)/metrics.json, \(output)/comparison.png (rows: \
            truth, persistence, \(rows.map(\.title).joined(separator: ", ")); \(steps) steps closed-loop from frame \
            \(frameCount - testFrames)),\(drewHorizons ? " \(output)/\(ReportCharts.horizonsFile) (MSE and SSIM by steps ahead)," : "") \
            one <model>.png and <model>.safetensors checkpoint per model, and the frames as frames.npy.
            """)
    }

    /// Writes the record of an interrupted run and throws ``RunInterrupted``.
    private func stop(_ record: inout MetricsFile, _ what: String, console: Console) throws -> Never {
        let line = "\(what); wrote \(output)/metrics.json and \(output)/report.html"
        (record.status, record.error) = (.interrupted, line)
        try writeRecord(record, to: output)
        throw RunInterrupted(description: line)
    }
}

import FrameSequencing
import FrameseqCLI
import Recurrent

/// `train.seed3` of `../shared/BENCHMARKS.md`: one optimizer step of the run
/// `frameseq train` plans by default for 400 frames of 785 x 785 x 3 (moving
/// digits in colour; `--quick`: 100 frames, the same frame size): the batch
/// filled from the byte frames through the plan's patching, forward, loss,
/// backward, clipping and Adam. `epoch_s` projects one epoch of the series,
/// `peak_rss_mb` includes the frames.
enum TrainingWorkloads {
    static func seed3(quick: Bool) -> Workload {
        // The plan is made when the workload runs; its figures are kept for the JSON line.
        final class Plan { var step: DefaultTrainingStep? }
        let plan = Plan()
        return Workload(name: "train.seed3", kernels: GEMMKernelPath.active.rawValue, extraFields: { median in
            guard let step = plan.step else { return [] }
            return [("epoch_s", median * Double(step.stepsPerEpoch)), ("steps_per_epoch", Double(step.stepsPerEpoch)),
                    ("batch", Double(step.batchSize)), ("patch", Double(step.patch)),
                    ("step_gflops", step.flopsPerStep / median / 1e9),
                    ("estimated_peak_mb", Double(step.estimatedPeakBytes) / 1_048_576)]
        }, prepare: {
            let step = try DefaultTrainingStep(count: quick ? 100 : 400, size: 785, channels: 3)
            plan.step = step
            return step.run
        })
    }
}

import Foundation
import FrameSequencing
import Recurrent
import XCTest
@testable import FrameseqCLI

/// `frameseq train` plans before it reads a frame: what it picks, the plan
/// line, refusals with the options that fit, and the planner's estimate
/// against the library's footprint of the model it builds.
final class TrainPlanTests: XCTestCase {
    /// A header of `count` frames of `size` x `size` x `channels` bytes (no file needed).
    private func header(count: Int = 400, size: Int = 785, channels: Int = 3) throws -> SeriesHeader {
        SeriesHeader(count: count, frame: try FrameShape(height: size, width: size, channels: channels), isBytes: true, valueBytes: 1)
    }

    private func planner(_ kind: ModelKind, _ header: SeriesHeader, budget: Int) -> Planner {
        Planner(kind: kind, header: header, heldOut: 50, context: 10, windowStride: 1, steps: 10, kernelSize: 3, seed: 0,
                budget: MemoryBudget(bytes: budget, origin: "test"))
    }

    func testSeedSizeDefaultsPatchAndFitSixGiB() throws {
        let plan = try planner(.convLSTM, try header(), budget: 6 << 30).plan(SizeOptions())
        XCTAssertEqual(plan.settings.patch, 8, "785 x 785 frames within a 128 x 128 grid")
        XCTAssertEqual(plan.settings.modelFrameShape, try FrameShape(height: 99, width: 99, channels: 192))
        XCTAssertEqual(plan.settings.embedding, 16, "patched frames are embedded to the first layer's filters")
        XCTAssertEqual(plan.batchSize, 4, "the ConvLSTM's default batch")
        XCTAssertLessThan(plan.footprint.peakBytes, 6 << 30)
        XCTAssertEqual(plan.windowCount, 340)
        XCTAssertEqual(plan.footprint.stepsPerEpoch, 85)
        XCTAssertEqual(try planner(.fcLSTM, try header(count: 60, size: 64, channels: 1), budget: 1 << 30)
            .plan(SizeOptions()).batchSize, 8, "the LSTMs' default batch")
        XCTAssert(plan.choices.contains { $0.hasPrefix("--patch 8") }, "\(plan.choices)")
        // Small frames are not patched; the FC-LSTM is never patched by default.
        XCTAssertEqual(try planner(.convLSTM, try header(count: 60, size: 64, channels: 1), budget: 1 << 30)
            .plan(SizeOptions()).settings.patch, 1)
        XCTAssertEqual(try planner(.fcLSTM, try header(count: 60, size: 64, channels: 1), budget: 1 << 30)
            .plan(SizeOptions()).settings.patch, 1)
    }

    func testRecomputationThenASmallerBatchUntilItFitsAndSaysSo() throws {
        let sizing = planner(.convLSTM, try header(), budget: 6 << 30)
        let four = try sizing.estimate(sizing.settings(hidden: 256, filters: [16, 16], patch: 8), batch: 4)
        let budget = four.peakBytes / 10 * 9   // the default batch of 4 does not fit
        let planner = planner(.convLSTM, try header(), budget: budget)
        // First the plan recomputes, keeping the batch...
        let plan = try planner.plan(SizeOptions())
        XCTAssertEqual(plan.batchSize, 4)
        XCTAssertGreaterThan(plan.settings.recompute, 0)
        XCTAssertLessThanOrEqual(plan.footprint.peakBytes, budget)
        XCTAssert(plan.choices.contains { $0.hasPrefix("--recompute \(plan.settings.recompute)") }, "\(plan.choices)")
        // ...and without recomputation it halves the batch.
        let stored = try planner.plan(SizeOptions(recompute: 0))
        XCTAssertLessThan(stored.batchSize, 4)
        XCTAssertEqual(stored.settings.recompute, 0)
        XCTAssertLessThanOrEqual(stored.footprint.peakBytes, budget)
        XCTAssert(stored.choices.contains { $0.hasPrefix("--batch-size \(stored.batchSize)") }, "\(stored.choices)")
        // Given sizes that do not fit, recomputation is among the options.
        XCTAssertThrowsError(try planner.plan(SizeOptions(batchSize: 4, recompute: 0))) {
            XCTAssert("\($0)".contains("--recompute"), "\($0)")
        }
    }

    /// Every model is refused, before a frame is read, with one line naming the
    /// estimate, the budget and options that fit, and exits non-zero at once,
    /// leaving only the record of the refused plan and its report.
    func testEveryModelIsRefusedWithTheOptionsThatFit() throws {
        let folder = try temporaryFolder(self)
        let frames = try writeMovingSquareNPY(in: folder, count: 40, size: 96)
        for (kind, limit) in [(ModelKind.fcLSTM, "150M"), (.cnnLSTM, "200M"), (.unet, "100M"), (.convLSTM, "300M")] {
            let started = threadSeconds()
            let run = CLIRun(["train", "--frames", frames, "--model", kind.rawValue, "--output", folder + "/" + kind.rawValue,
                              "--memory-limit", limit, "--batch-size", "8", "--quiet"])
            XCTAssertLessThan(threadSeconds() - started, 5, "\(kind): refused within 5 s")
            assertFails(run, status: 1, mentioning: ["estimated", "budget is \(limit.dropLast()) MiB", "--memory-limit \(limit)",
                                                     kind.rawValue, "options that fit"])
            let output = folder + "/" + kind.rawValue
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: output).sorted(), ["metrics.json", "report.html"],
                           "\(kind): nothing but the record written")
            let metrics = try MetricsFile.read(output + "/metrics.json")
            XCTAssertEqual(metrics.status, .refused)
            XCTAssertEqual("frameseq train: " + (metrics.error ?? ""), run.err, "\(kind): the refusal as printed")
            let plan = try XCTUnwrap(metrics.plan, "\(kind): the plan refused")
            XCTAssertGreaterThan(plan.estimatedPeakBytes, plan.budgetBytes)
            XCTAssertNil(plan.measuredPeakRssBytes, "nothing ran to measure")
            XCTAssertEqual(metrics.models[kind.rawValue]?.status, .notRun)
            let page = try checkReport(in: output, charts: [])
            XCTAssert(page.text.contains("Refused before any frame was read") && page.text.contains("options that fit"))
            XCTAssertEqual(page.cells["plan-table"]?[kind.rawValue]?["estimated_peak_bytes"], gibibytes(plan.estimatedPeakBytes))
        }
        // Nothing fits: said so, with what to do.
        let none = CLIRun(["train", "--frames", frames, "--model", "fc_lstm", "--output", folder + "/none", "--memory-limit", "1M"])
        assertFails(none, status: 1, mentioning: ["nothing smaller fits", "--memory-limit"])
        assertFails(CLIRun(["train", "--frames", frames, "--memory-limit", "lots"]), status: 2, mentioning: ["--memory-limit"])
    }

    /// The seed-size FC-LSTM (2.4 billion parameters) is refused within 5 s
    /// (0.13 s in a release build) from the NPY header alone: the frames are never read.
    func testTheSeedSizeFCLSTMIsRefusedFromTheHeader() throws {
        let folder = try temporaryFolder(self)
        // A sparse file of the seeds' size (739 MB of zeros that take no disk): its
        // header says 400 x 785 x 785 x 3 bytes; reading them would take seconds.
        let path = folder + "/seed.npy"
        var dictionary = Array("{'descr': '|u1', 'fortran_order': False, 'shape': (400, 785, 785, 3), }".utf8)
        dictionary += [UInt8](repeating: 0x20, count: (64 - (10 + dictionary.count + 1) % 64) % 64) + [0x0A]
        let header = [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(dictionary.count & 0xFF), UInt8(dictionary.count >> 8)] + dictionary
        try Data(header).write(to: URL(fileURLWithPath: path))
        let file = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try file.truncate(atOffset: UInt64(header.count + 400 * 785 * 785 * 3))
        try file.close()
        let started = threadSeconds()
        let run = CLIRun(["train", "--frames", path, "--model", "fc_lstm", "--memory-limit", "20G", "--output", folder + "/out"])
        XCTAssertLessThan(threadSeconds() - started, 5)
        assertFails(run, status: 1, mentioning: ["2368416867 parameters", "budget is 20.00 GiB", "--model convlstm --patch 8"])
    }

    /// The planner's estimate without building the model equals the library's
    /// footprint of the model it builds, for every kind (the two routes must
    /// not drift apart).
    func testThePlannersEstimateEqualsTheBuiltModelsFootprint() throws {
        let shape = try FrameShape(height: 20, width: 24, channels: 3)
        for kind in ModelKind.allCases {
            for (patch, recompute) in [(1, 0), (4, 0), (1, 2)] {
                var settings = ModelSettings(kind: kind, frameShape: shape, hiddenSize: 12, filters: [4, 6], kernelSize: 3, seed: 1)
                settings.patch = patch
                settings.recompute = recompute
                if kind == .convLSTM && patch > 1 { settings.embedding = 4 }
                let frame = settings.modelFrameShape
                let input = [3, 5, frame.height, frame.width, frame.channels]
                let (count, estimate) = try settings.estimate(inputDimensions: input)
                let model = try settings.makeModel()
                XCTAssertEqual(count, model.scalarCount, "\(kind) patch \(patch): parameters")
                guard let built = model as? any FootprintEstimating else { return XCTFail("\(kind) estimates nothing") }
                let footprint = try built.activationFootprint(inputDimensions: input)
                XCTAssertEqual(estimate.retainedBytes, footprint.retainedBytes, "\(kind) patch \(patch): retained")
                XCTAssertEqual(estimate.forwardFlops, footprint.forwardFlops, "\(kind) patch \(patch): flops")
                XCTAssertEqual(estimate.outputDimensions.reduce(1, *), footprint.outputDimensions.reduce(1, *))
            }
        }
    }

    /// CPU seconds of the calling thread (planning runs on it alone): unlike the
    /// wall clock, other processes on a busy machine do not stretch it.
    private func threadSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}

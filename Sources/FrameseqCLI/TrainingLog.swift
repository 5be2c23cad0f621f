import Foundation
import Recurrent
import Synchronization

/// What one model's training did, recorded as it goes so a run that stops
/// (an error, an interrupt) can still report it: every finished epoch, every
/// step's batch loss, and how it ended.
///
/// A class because it is filled inside ``train(_:on:plan:extraMetadata:report:log:checkpoints:resuming:)``
/// and read by the caller whether training returned or threw.
final class TrainingLog {
    /// The finished epochs of the run (those before a resume too).
    var epochs: [EpochSummary] = []
    /// Optimizer steps (counted from 1 over the run) this process trained, in order.
    private(set) var steps: [Int] = []
    /// Their batch losses.
    private(set) var losses: [Float] = []
    /// Set when an interrupt stopped training at a step boundary.
    var interrupted = false
    /// The epoch and step reached, for messages: `(epoch in progress, steps done)`.
    var position: (epoch: Int, step: Int) = (1, 0)
    /// A calibration step's seconds times the steps of an epoch, when calibrated.
    var estimatedEpochSeconds: Double?
    /// Parameters of the model being trained.
    var parameterCount: Int?

    /// The most points `loss_by_step` keeps: enough for a chart as wide as a page.
    static let limit = 500

    /// Records step `step`'s batch loss.
    func recordStep(_ step: Int, loss: Float) {
        steps.append(step)
        losses.append(loss)
    }

    /// Training seconds of the finished epochs.
    var seconds: Double { epochs.map(\.seconds).reduce(0, +) }

    /// The epochs as `metrics.json` holds them.
    var epochRecords: [EpochRecord] { epochs.map(EpochRecord.init) }

    /// The step losses thinned to at most ``limit`` points, nil when no step ran.
    var stepLosses: StepLosses? {
        guard !steps.isEmpty else { return nil }
        let kept = thinnedIndices(count: steps.count, limit: Self.limit)
        return StepLosses(step: kept.map { steps[$0] }, loss: kept.map { Double(losses[$0]) }, recorded: steps.count)
    }
}

/// The indices `0 ..< count` kept when thinning a series to at most `limit`
/// points: all of them when they fit, else `limit` indices spread evenly,
/// `round(i * (count - 1) / (limit - 1))` for `i` in `0 ..< limit`, which keeps
/// the first and the last and is the same for the same `count` every time.
///
/// Edge behaviour: `count` 0 gives none; `limit` below 2 is treated as 2 (a
/// first and a last point).
/// - Complexity: O(min(count, limit)).
func thinnedIndices(count: Int, limit: Int) -> [Int] {
    let limit = max(limit, 2)
    guard count > limit else { return Array(0 ..< max(count, 0)) }
    // The spacing (count - 1) / (limit - 1) exceeds 1, so rounding never repeats an index.
    let spacing = Double(count - 1) / Double(limit - 1)
    return (0 ..< limit).map { Int((Double($0) * spacing).rounded()) }
}

// MARK: - Interruption

/// Set by the SIGINT handler, read at step boundaries. An atomic store is one
/// of the few things a signal handler may safely do.
private let interruptRequested = Atomic<Bool>(false)

/// Ctrl-C during a long command: the first SIGINT asks the run to stop at the
/// next step boundary and write what it has (metrics.json marked
/// `interrupted`, the report) before exiting with status 130; a second one
/// ends the process at once, as SIGINT does by default.
///
/// ```swift
/// try Interruption.watch {
///     for step in steps {
///         if Interruption.requested { break }   // a step boundary
///         ...
///     }
/// }
/// ```
enum Interruption {
    /// Whether SIGINT arrived since ``watch(_:)`` began.
    static var requested: Bool { interruptRequested.load(ordering: .relaxed) }

    /// Runs `body` with the handler installed and the request cleared, then
    /// puts back the handler that was there before (the tests run commands in
    /// process, one after another).
    static func watch<T>(_ body: () throws -> T) rethrows -> T {
        interruptRequested.store(false, ordering: .relaxed)
        let previous = signal(SIGINT) { _ in
            interruptRequested.store(true, ordering: .relaxed)
            // The next Ctrl-C is not caught: a user who presses it twice wants out now.
            signal(SIGINT, SIG_DFL)
        }
        defer {
            signal(SIGINT, previous)
            interruptRequested.store(false, ordering: .relaxed)
        }
        return try body()
    }
}

/// A run stopped by SIGINT after writing what it had; `frameseq` exits with
/// status 130 (128 + SIGINT, as a shell reports a process the signal ended).
struct RunInterrupted: Error, CustomStringConvertible {
    /// One line: where the run stopped and what it wrote.
    var description: String
}

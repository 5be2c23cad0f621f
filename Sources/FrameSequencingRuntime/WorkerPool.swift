import Foundation
import Synchronization

/// Persistent worker threads for work too short for `DispatchQueue.concurrentPerform`.
///
/// `concurrentPerform` wakes its second thread too late to help with work under
/// about a millisecond. These workers spin briefly after each job, so back-to-back
/// jobs (one per batch fill, one per timestep) find them awake, then park on a
/// condition variable so an idle process uses no CPU.
///
/// Protocol: one atomic word packs the job's generation, part count and next
/// unclaimed part. A worker runs part `p` only after claiming it with a
/// compare-and-exchange on the current word, and reads the job closure only after
/// such a claim; the caller replaces the closure only once every claimed part has
/// finished. So a worker that wakes late can never run a stale job.
/// (`@unchecked`: the job closure is not `Sendable` and crosses threads under this
/// protocol, which the compiler cannot check; `.ci/run`'s ThreadSanitizer step does.)
package final class WorkerPool: @unchecked Sendable {
    // @unchecked: `job` is a mutable, non-Sendable closure shared with the
    // worker threads (everything else is atomic, `let` or NSCondition).
    // A checked alternative (a Mutex around `job`) cannot hand the
    // non-Sendable, non-escaping closure out to other threads either. Safe by
    // the protocol above: `job` is written only by the one caller holding
    // `busy`, before the release-ordered store that publishes the job's
    // generation, and cleared only after `remaining` reaches 0 (acquire), and
    // it is read only by a thread that claimed a part of that generation; the
    // closure runs no longer than `run`, whose `withoutActuallyEscaping` scope
    // outlives every part.
    /// The pool every module of the package shares: one worker per core beyond
    /// the caller's, of which the environment variable `FRAMESEQ_THREADS` (a
    /// positive integer) may use fewer (`FRAMESEQ_THREADS=1`: all on the caller).
    package static let shared = WorkerPool(
        workers: max(0, ProcessInfo.processInfo.activeProcessorCount - 1),
        threadLimit: ProcessInfo.processInfo.environment["FRAMESEQ_THREADS"].flatMap { Int($0) }.flatMap { $0 > 0 ? $0 : nil })

    /// Threads that run parts, including the calling thread: the workers plus
    /// one, at most ``threadLimit``. Callers size their partitions from it.
    package var threadCount: Int { min(workers + 1, threadLimit) }

    /// The most threads a job uses, including the caller (at least 1). At 1,
    /// ``run(parts:_:)`` runs every part on the calling thread; above, workers
    /// numbered `threadLimit - 1` and up sit jobs out. Meant to be set between
    /// jobs (tests comparing 1 and 2 threads; `FRAMESEQ_THREADS`), not during one.
    package var threadLimit: Int {
        get { limit.load(ordering: .relaxed) }
        set {
            limit.store(max(1, newValue), ordering: .sequentiallyConsistent)
            condition.lock()      // wakes the workers parked for being past the old limit
            condition.broadcast()
            condition.unlock()
        }
    }

    private let workers: Int
    private let limit: Atomic<Int>
    // generation (32 bits) | part count (16 bits) | next part (16 bits)
    private let state = Atomic<UInt64>(0)
    private let remaining = Atomic<Int>(0)
    private let sleepers = Atomic<Int>(0)
    private let busy = Atomic<Bool>(false)
    private let condition = NSCondition()
    private var job: ((Int) -> Void)?
    private static let maximumParts = 0xFFFF
    /// Spin iterations before a worker parks (roughly 50-100 microseconds).
    private static let spinLimit = 20_000

    init(workers: Int, threadLimit: Int? = nil) {
        self.workers = workers
        self.limit = Atomic(max(1, threadLimit ?? workers + 1))
        for index in 0 ..< workers {
            let thread = Thread { [unowned self] in self.workerLoop(index: index) }
            thread.name = "frameseq-worker-\(index)"
            thread.start()
        }
    }

    /// Runs `body(part)` for every part in `0 ..< parts`, on the calling thread and
    /// the workers, and returns when all have finished. Parts must write disjoint
    /// memory. Runs serially when the pool is already busy (a nested or concurrent
    /// call), so it never deadlocks.
    package func run(parts: Int, _ body: (Int) -> Void) {
        guard parts > 1, threadCount > 1, parts <= Self.maximumParts,
              busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged
        else {
            for part in 0 ..< max(0, parts) { body(part) }
            return
        }
        withoutActuallyEscaping(body) { escapable in
            job = escapable
            remaining.store(parts, ordering: .relaxed)
            let generation = (state.load(ordering: .relaxed) >> 32) &+ 1
            state.store((generation << 32) | (UInt64(parts) << 16), ordering: .sequentiallyConsistent)
            if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
                condition.lock()
                condition.broadcast()
                condition.unlock()
            }
            while claimAndRun() {}
            while remaining.load(ordering: .acquiring) > 0 {}
            job = nil   // every claimed part is done: nobody reads `job` now
        }
        busy.store(false, ordering: .releasing)
    }

    /// Claims the next part of the current job and runs it; false when none is left.
    private func claimAndRun() -> Bool {
        var word = state.load(ordering: .acquiring)
        while true {
            let next = Int(word & 0xFFFF)
            let count = Int((word >> 16) & 0xFFFF)
            guard next < count else { return false }
            let (exchanged, current) = state.compareExchange(
                expected: word, desired: word + 1, ordering: .acquiringAndReleasing)
            if exchanged {
                do {
                    let body = job!
                    body(next)
                }
                remaining.subtract(1, ordering: .releasing)
                return true
            }
            word = current
        }
    }

    private func workerLoop(index: Int) {
        // Generation 0 is the pool's state before any job. Starting from it
        // (not from whatever the word holds when this thread gets going) lets a
        // worker that starts after the first job was published still help with
        // it; claiming by compare-and-exchange keeps that safe.
        var seen: UInt64 = 0
        while true {
            // Past the limit: park until it rises, neither spinning through every
            // job nor counting as a sleeper (which would make every `run` wake it).
            if index + 1 >= limit.load(ordering: .relaxed) {
                condition.lock()
                while index + 1 >= limit.load(ordering: .sequentiallyConsistent) { condition.wait() }
                condition.unlock()
            }
            var spins = 0
            while state.load(ordering: .acquiring) >> 32 == seen {
                spins += 1
                if spins < Self.spinLimit { continue }
                condition.lock()
                sleepers.add(1, ordering: .sequentiallyConsistent)
                while state.load(ordering: .sequentiallyConsistent) >> 32 == seen { condition.wait() }
                sleepers.subtract(1, ordering: .sequentiallyConsistent)
                condition.unlock()
            }
            seen = state.load(ordering: .acquiring) >> 32
            // A worker the limit fell below while it spun leaves the job to the
            // others (the caller finishes every part whoever helps).
            if index + 1 < limit.load(ordering: .relaxed) {
                while claimAndRun() {}
            }
        }
    }
}

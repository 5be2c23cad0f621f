import Synchronization

/// The pool's threads working through one loop together, entered once per
/// loop instead of once per step.
///
/// Time loops such as a ConvLSTM's hand work to the pool every step, a few
/// times per step; each `WorkerPool.run` costs a wake-up and, through
/// `withoutActuallyEscaping`, a heap allocation. In a team every thread runs the
/// same loop body (`WorkerPool.run` once, one part per thread) and meets the
/// others only at ``Member/forEach(parts:_:)``, which hands out that phase's
/// parts and returns when all of them are done.
///
/// Rules for the body, which every member runs: it must do the same sequence of
/// `forEach` calls with the same part counts on every thread, and whatever it
/// does outside them must be thread-private (local variables) or idempotent.
/// A member that starts late (a parked worker, or the whole team run serially
/// because the pool was busy) passes phases that are already done without
/// running any of their parts, so the loop never waits for a thread that is
/// not there.
///
/// Parts are claimed dynamically but each part's work is fixed by its index,
/// so results (reductions into per-part buffers included) do not depend on
/// which thread ran which part.
package final class WorkerTeam: Sendable {
    /// Parts claimed so far, over all phases.
    private let claimed = Atomic<Int>(0)
    /// Parts finished so far, over all phases.
    private let finished = Atomic<Int>(0)

    private init() {}

    /// One thread's view of the team: where the current phase's parts start.
    package struct Member: ~Copyable {
        fileprivate let team: WorkerTeam
        fileprivate var base = 0

        /// Runs `body(part)` for every part in `0 ..< parts` across the team and
        /// returns once all of them have finished (their writes are then visible
        /// to this thread). Parts must write disjoint memory.
        package mutating func forEach(parts: Int, _ body: (Int) -> Void) {
            let end = base + max(0, parts)
            while true {
                let next = team.claimed.load(ordering: .relaxed)
                guard next < end else { break }
                if team.claimed.compareExchange(expected: next, desired: next + 1, ordering: .relaxed).exchanged {
                    body(next - base)
                    team.finished.add(1, ordering: .releasing)
                }
            }
            while team.finished.load(ordering: .acquiring) < end {}
            base = end
        }
    }

    /// Runs `body` on up to `threads` of the pool's threads (the caller
    /// included) as one team; returns when every member has returned.
    package static func run(threads: Int, _ body: (inout Member) -> Void) {
        let team = WorkerTeam()
        let members = min(max(1, threads), WorkerPool.shared.threadCount)
        WorkerPool.shared.run(parts: members) { _ in
            var member = Member(team: team)
            body(&member)
        }
    }
}

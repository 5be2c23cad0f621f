import Synchronization
import TestSupport
import XCTest
@testable import FrameSequencingRuntime

/// `WorkerTeam`: every part of every phase runs exactly once, a phase starts
/// only when the one before has finished, and a team whose members start late
/// or run one after another (a busy pool) gives the same result.
final class WorkerTeamTests: XCTestCase {
    /// Phase p has 1 + p % 7 parts; each part marks its slot and checks that
    /// every slot of phase p - 1 is already marked. Returns the slots and
    /// the number of parts that saw an unfinished previous phase.
    func runPhases(_ phases: Int, threads: Int) -> (slots: [Int], early: Int) {
        final class Box: @unchecked Sendable {   // parts write disjoint slots
            var slots: [Int]
            let early = Atomic<Int>(0)
            init(_ count: Int) { slots = Array(repeating: 0, count: count) }
        }
        let box = Box(phases * 7)
        box.slots.withUnsafeMutableBufferPointer { slots in
            WorkerTeam.run(threads: threads) { member in
                for phase in 0 ..< phases {
                    member.forEach(parts: 1 + phase % 7) { part in
                        if phase > 0, (0 ..< 1 + (phase - 1) % 7).contains(where: { slots[(phase - 1) * 7 + $0] != 1 }) {
                            box.early.add(1, ordering: .relaxed)
                        }
                        slots[phase * 7 + part] += 1
                    }
                }
            }
        }
        return (box.slots, box.early.load(ordering: .relaxed))
    }

    func expected(_ phases: Int) -> [Int] {
        (0 ..< phases * 7).map { $0 % 7 < 1 + ($0 / 7) % 7 ? 1 : 0 }
    }

    func testEveryPartRunsOnceAfterThePreviousPhase() {
        for threads in [1, 2, 4] {
            let (slots, early) = runPhases(500, threads: threads)
            XCTAssertEqual(slots, expected(500), "threads \(threads)")
            XCTAssertEqual(early, 0, "threads \(threads): a phase started before the previous one finished")
        }
    }

    func testATeamInsideABusyPoolRunsItsMembersOneAfterAnother() {
        // The pool is busy with the outer job, so each inner team runs serially:
        // its second member finds every phase done and passes them.
        let results = Locked<[[Int]]>([])
        WorkerPool.shared.run(parts: 2) { _ in
            let (slots, early) = runPhases(50, threads: 2)
            XCTAssertEqual(early, 0)
            results.withLock { $0.append(slots) }
        }
        XCTAssertEqual(results.withLock { $0 }, [expected(50), expected(50)])
    }
}

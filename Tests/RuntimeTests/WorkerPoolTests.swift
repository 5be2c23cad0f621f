import Foundation
import Synchronization
import XCTest
@testable import FrameSequencingRuntime

/// `WorkerPool.threadLimit`: a worker past the limit sits jobs out and helps
/// again once the limit rises (the setter's broadcast wakes it where it parked;
/// that it parks rather than spins is not observable here).
final class WorkerPoolTests: XCTestCase {
    /// Runs two parts, each waiting (at most `patience` seconds) for the other to
    /// start, and returns whether they overlapped: only two threads can.
    func partsOverlap(on pool: WorkerPool, patience: Double = 2) -> Bool {
        let started = Atomic<Int>(0)
        let overlapped = Atomic<Int>(0)
        pool.run(parts: 2) { _ in
            started.add(1, ordering: .sequentiallyConsistent)
            let deadline = Date().addingTimeInterval(patience)
            while started.load(ordering: .sequentiallyConsistent) < 2, Date() < deadline {}
            if started.load(ordering: .sequentiallyConsistent) == 2 { overlapped.add(1, ordering: .relaxed) }
        }
        return overlapped.load(ordering: .relaxed) == 2
    }

    func testWorkerPastTheLimitSitsOutThenHelpsWhenItRises() {
        let pool = WorkerPool(workers: 1, threadLimit: 1)
        XCTAssertEqual(pool.threadCount, 1)
        Thread.sleep(forTimeInterval: 0.01)   // the worker reaches its parked state
        pool.threadLimit = 2
        XCTAssertTrue(partsOverlap(on: pool), "the parked worker woke when the limit rose")
        pool.threadLimit = 1
        XCTAssertFalse(partsOverlap(on: pool, patience: 0.2), "with the limit at 1 the caller runs both parts")
        pool.threadLimit = 2
        XCTAssertTrue(partsOverlap(on: pool), "and helps again after the limit rose a second time")
    }
}

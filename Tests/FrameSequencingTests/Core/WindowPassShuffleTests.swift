import FrameSequencing
import TestSupport
import XCTest

/// Laws of the per-pass shuffle (`batches(size:shuffleSeed:pass:)`) over seeded
/// random (window count, batch size, subset, seed): each pass is a permutation,
/// passes differ, and the order is a function of (seed, pass) alone.
final class WindowPassShuffleTests: XCTestCase {
    static let passes = 6

    /// Random windows, a random subset of them and a batch size.
    static func randomCase(_ g: inout SeededGenerator) throws -> (windows: FrameWindows, subset: Range<Int>, size: Int) {
        let n = 24 + g.next(below: 50)   // at least 11 windows: 11! orders
        let windows = try TestData.labelledFrames(count: n, height: 1, width: 1, channels: 1)
            .windows(WindowParameters(sequenceLength: 1 + g.next(below: 4), sequenceStride: 1 + g.next(below: 2)))
        let lower = g.next(below: windows.count / 3)
        let upper = windows.count - g.next(below: windows.count / 3)
        return (windows, lower ..< upper, 1 + g.next(below: 9))
    }

    func testEveryWindowExactlyOncePerPass() throws {
        var g = SeededGenerator(seed: 4)
        for trial in 0 ..< 100 {
            let (windows, subset, size) = try Self.randomCase(&g)
            let seed = g.next()
            for pass in 0 ..< Self.passes {
                let context = "trial \(trial): \(windows.count) windows, subset \(subset), size \(size), seed \(seed), pass \(pass)"
                let all = try windows.batches(size: size, shuffleSeed: seed, pass: pass)
                XCTAssertEqual(all.flatMap { $0 }.sorted(), Array(windows.indices), context)
                XCTAssertEqual(all.count, (windows.count + size - 1) / size, context)
                let some = try windows.batches(of: subset, size: size, shuffleSeed: seed, pass: pass)
                XCTAssertEqual(some.flatMap { $0 }.sorted(), Array(subset), context)
                // Dropping the short last batch: each window at most once, full batches only.
                if subset.count >= size {
                    let full = try windows.batches(of: subset, size: size, shuffleSeed: seed, pass: pass, keepShortLastBatch: false)
                    let seen = full.flatMap { $0 }
                    XCTAssertEqual(Set(seen).count, seen.count, context)
                    XCTAssertEqual(seen.count, subset.count / size * size, context)
                    XCTAssertTrue(full.allSatisfy { $0.count == size }, context)
                }
            }
        }
    }

    func testOrdersDifferAcrossPassesAndSeeds() throws {
        var g = SeededGenerator(seed: 5)
        for trial in 0 ..< 100 {
            let (windows, _, size) = try Self.randomCase(&g)
            let seed = g.next()
            let context = "trial \(trial): \(windows.count) windows, seed \(seed)"
            let orders = try (0 ..< Self.passes).map { try windows.batches(size: size, shuffleSeed: seed, pass: $0).order }
            XCTAssertEqual(Set(orders).count, Self.passes, "\(context): two passes share an order")
            XCTAssertFalse(orders.contains(Array(windows.indices)), "\(context): a pass is not shuffled")
            // Another seed, the next one too, gives other orders for every pass, and
            // neighbouring seeds do not replay each other's passes one pass apart.
            for other in [seed &+ 1, seed ^ 0x8000_0000_0000_0000] {
                let others = try (0 ..< Self.passes).map { try windows.batches(size: size, shuffleSeed: other, pass: $0).order }
                XCTAssertTrue(Set(orders).isDisjoint(with: others), "\(context): seed \(other) repeats an order")
            }
        }
    }

    func testTheSameSeedAndPassGiveTheSameOrder() throws {
        var g = SeededGenerator(seed: 6)
        for _ in 0 ..< 50 {
            let (windows, subset, size) = try Self.randomCase(&g)
            let seed = g.next()
            // Passes asked for in any order, or alone (a resumed run), give the same batches.
            let forward = try (0 ..< Self.passes).map { try windows.batches(of: subset, size: size, shuffleSeed: seed, pass: $0).order }
            let backward = try (0 ..< Self.passes).reversed().map {
                try windows.batches(of: subset, size: size, shuffleSeed: seed, pass: $0).order
            }
            XCTAssertEqual(forward, backward.reversed())
            // The documented derivation: pass k is the fixed order of the pass seed.
            for pass in 0 ..< Self.passes {
                let direct = try windows.batches(of: subset, size: size, shuffleSeed: SeededGenerator.passSeed(seed, pass: pass))
                XCTAssertEqual(forward[pass], direct.order)
            }
        }
    }

    func testThePassSeedIsTheGeneratorsValueAfterPassSteps() {
        var g = SeededGenerator(seed: 7)
        for _ in 0 ..< 20 {
            let seed = g.next()
            var stream = SeededGenerator(seed: seed)
            for pass in 0 ..< 50 {
                XCTAssertEqual(SeededGenerator.passSeed(seed, pass: pass), stream.next(), "seed \(seed), pass \(pass)")
            }
        }
    }

    func testANegativePassIsRefused() throws {
        let windows = try TestData.labelledFrames(count: 10, height: 1, width: 1, channels: 1).windows(WindowParameters(sequenceLength: 2))
        assertThrows(.invalidArgument, "pass") { try windows.batches(size: 2, shuffleSeed: 1, pass: -1) }
        assertThrows(.invalidArgument, "pass") { try windows.batches(of: 0 ..< 4, size: 2, shuffleSeed: 1, pass: -3) }
    }

    func testAnEmptyRangeIsRefusedNamingTheRange() throws {
        let windows = try TestData.labelledFrames(count: 10, height: 1, width: 1, channels: 1).windows(WindowParameters(sequenceLength: 2))
        assertThrows(.invalidArgument, "non-empty range of 0..<9") { try windows.batches(of: 4 ..< 4, size: 2) }
        assertThrows(.invalidArgument, "4..<4") { try windows.batches(of: 4 ..< 4, size: 2, shuffleSeed: 1, pass: 0) }
    }
}

import FrameSequencing
import TestSupport
import XCTest

/// Seeded random (count, length, stride, rate, start, end, target) against a
/// brute-force reference written straight from Keras's definition.
final class WindowPropertyTests: XCTestCase {
    /// Window and target frame indices by enumeration: windows start at `start`,
    /// `start + stride`, ... and stop at the first whose frames or target do not fit.
    static func reference(frameCount n: Int, _ p: WindowParameters) -> [(inputs: [Int], targets: [Int])] {
        let (start, end) = (p.startIndex ?? 0, p.endIndex ?? n)
        let (t, r) = (p.sequenceLength, p.samplingRate)
        var result: [(inputs: [Int], targets: [Int])] = []
        var s = start
        while true {
            let inputs = (0 ..< t).map { s + $0 * r }
            guard inputs.last! < end else { break }
            var targets: [Int] = []
            var limit = end
            switch p.target {
            case .none: break
            case .offset(let k): targets = [s + k]; limit = n
            case .frameAfter(let k): targets = [s + (t - 1 + k) * r]
            case .nextFrames(let k): targets = (1 ... k).map { s + (t - 1 + $0) * r }
            case .shifted: targets = (0 ..< t).map { s + ($0 + 1) * r }
            }
            guard targets.allSatisfy({ $0 < limit }) else { break }
            result.append((inputs, targets))
            s += p.sequenceStride
        }
        return result
    }

    static func randomParameters(_ g: inout SeededGenerator, frameCount n: Int) -> WindowParameters {
        let length = 1 + g.next(below: min(n, 8))
        let rate = 1 + g.next(below: 3)
        let start: Int? = g.next(below: 3) == 0 ? g.next(below: max(1, n / 3)) : nil
        let end: Int? = g.next(below: 3) == 0 ? n - g.next(below: max(1, n / 3)) : nil
        let targets: [WindowTarget] = [.none, .offset(g.next(below: 6)), .frameAfter(steps: 1 + g.next(below: 3)),
                                       .nextFrames(count: 1 + g.next(below: 3)), .shifted]
        return WindowParameters(sequenceLength: length, sequenceStride: 1 + g.next(below: 4), samplingRate: rate,
                                startIndex: start, endIndex: end, target: targets[g.next(below: targets.count)])
    }

    func testWindowsMatchTheReferenceOnRandomParameters() throws {
        var g = SeededGenerator(seed: 2026)
        var checkedWindows = 0
        for trial in 0 ..< 300 {
            let n = 2 + g.next(below: 40)
            let frames = try TestData.labelledFrames(count: n, height: 1 + g.next(below: 3), width: 2, channels: 1 + g.next(below: 2))
            let parameters = Self.randomParameters(&g, frameCount: n)
            let expected = Self.reference(frameCount: n, parameters)
            let context = "trial \(trial): n \(n), \(parameters)"
            guard !expected.isEmpty else {
                XCTAssertThrowsError(try frames.windows(parameters), context)
                continue
            }
            let windows = try frames.windows(parameters)
            XCTAssertEqual(windows.count, expected.count, context)
            let f = frames.featureCount
            let all = try windows.inputs()
            let allTargets = try windows.targets()
            for (i, window) in windows.enumerated() {
                XCTAssertEqual(Array(window.frameIndices), expected[i].inputs, context)
                XCTAssertEqual(Array(window.targetFrameIndices), expected[i].targets, context)
                // Every element equals its source frame's element.
                let view = try window.inputs()
                let source = try expected[i].inputs.flatMap { try frames.frame(at: $0).scalars }
                XCTAssertEqual(view.scalars, source, context)
                XCTAssertEqual(try all.slice(i ..< i + 1).scalars, source, context)
                if let target = try window.target() {
                    let sourceTarget = try expected[i].targets.flatMap { try frames.frame(at: $0).scalars }
                    XCTAssertEqual(target.scalars, sourceTarget, context)
                    XCTAssertEqual(try allTargets!.slice(i ..< i + 1).scalars, sourceTarget, context)
                }
                XCTAssertEqual(view.count, parameters.sequenceLength * f)
                checkedWindows += 1
            }
            try assertBatchesEqualMaterialized(windows, seed: UInt64(trial), context: context)
        }
        XCTAssertGreaterThan(checkedWindows, 1000)
    }

    /// Batches in every layout, shuffled or not, hold exactly the materialized windows.
    func assertBatchesEqualMaterialized(_ windows: FrameWindows, seed: UInt64, context: String) throws {
        let all = try windows.inputs()
        let allTargets = try windows.targets()
        let size = 1 + Int(seed % 5)
        let batches = try windows.batches(size: size, shuffleSeed: seed % 2 == 0 ? seed : nil)
        XCTAssertEqual(batches.count, (windows.count + size - 1) / size, context)
        XCTAssertEqual(batches.flatMap { $0 }.sorted(), Array(windows.indices), context)
        for layout in [SequenceLayout.batchMajor, .timeMajor, .spatial] {
            var buffer = try batches.makeBuffer(layout: layout)
            for index in batches.indices {
                try batches.fill(index, into: &buffer)
                let members = Array(batches[index])
                XCTAssertEqual(buffer.windowIndices, members, context)
                let expected = try members.flatMap { try all.slice($0 ..< $0 + 1).scalars }
                var inputs = buffer.inputs
                if layout == .timeMajor { inputs = try transposeFirstTwo(inputs) }
                XCTAssertEqual(inputs.scalars, expected, "\(context) \(layout)")
                if let allTargets, let targets = buffer.targets {
                    let expectedTargets = try members.flatMap { try allTargets.slice($0 ..< $0 + 1).scalars }
                    let sequence = targets.shape.rank == 3 && layout == .timeMajor
                    XCTAssertEqual((sequence ? try transposeFirstTwo(targets) : targets).scalars, expectedTargets, context)
                }
            }
        }
    }

    func testDroppingTheShortLastBatch() throws {
        let windows = try TestData.labelledFrames(count: 20, height: 1, width: 1, channels: 1)
            .windows(WindowParameters(sequenceLength: 3))   // 18 windows
        XCTAssertEqual(try windows.batches(size: 4).count, 5)
        XCTAssertEqual(try windows.batches(size: 4, keepShortLastBatch: false).count, 4)
        let last = try windows.batches(size: 4).batch(4)
        XCTAssertEqual(last.inputs.dimensions, [2, 3, 1])
        XCTAssertThrowsError(try windows.batches(size: 19, keepShortLastBatch: false))
        XCTAssertThrowsError(try windows.batches(size: 0))
    }

    func testShufflingIsSeededAndDeterministic() throws {
        let windows = try TestData.labelledFrames(count: 60, height: 1, width: 1, channels: 1)
            .windows(WindowParameters(sequenceLength: 4))
        let a = try windows.batches(size: 5, shuffleSeed: 7).order
        let b = try windows.batches(size: 5, shuffleSeed: 7).order
        let c = try windows.batches(size: 5, shuffleSeed: 8).order
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a, c)
        XCTAssertNotEqual(a, Array(windows.indices))
        XCTAssertEqual(a.sorted(), Array(windows.indices))
        // Pinned so the order cannot silently change between releases.
        XCTAssertEqual(Array(a.prefix(6)), Self.pinnedShuffle, "seeded order changed: \(Array(a.prefix(6)))")
    }
    static let pinnedShuffle = [40, 45, 27, 20, 56, 53]
}

/// (A, B, rest...) -> (B, A, rest...), as a new tensor.
func transposeFirstTwo(_ t: Tensor) throws -> Tensor {
    let d = t.dimensions
    let inner = t.count / max(1, d[0] * d[1])
    var out = [Float](repeating: 0, count: t.count)
    let s = t.scalars
    for a in 0 ..< d[0] { for b in 0 ..< d[1] { for k in 0 ..< inner {
        out[(b * d[0] + a) * inner + k] = s[(a * d[1] + b) * inner + k]
    } } }
    return try Tensor(shape: Shape([d[1], d[0]] + d.dropFirst(2)), scalars: out)
}

/// Extreme parameter values must give a result or a typed error, never a trap.
final class HostileParameterTests: XCTestCase {
    func testExtremeWindowParametersNeverTrap() throws {
        let extremes = [Int.min, -1, 0, 1, 2, 3, 7, Int.max / 2, Int.max - 1, Int.max]
        var g = SeededGenerator(seed: 99)
        let frames = try TestData.labelledFrames(count: 9, height: 1, width: 1, channels: 1)
        func pick() -> Int { g.next(below: 4) == 0 ? 1 + g.next(below: 12) : extremes[g.next(below: extremes.count)] }
        var accepted = 0
        for _ in 0 ..< 20_000 {
            let targets: [WindowTarget] = [.none, .offset(pick()), .frameAfter(steps: pick()), .nextFrames(count: pick()), .shifted]
            let p = WindowParameters(
                sequenceLength: pick(), sequenceStride: pick(), samplingRate: pick(),
                startIndex: g.next(below: 2) == 0 ? nil : pick(), endIndex: g.next(below: 2) == 0 ? nil : pick(),
                target: targets[g.next(below: targets.count)],
                shortWindows: g.next(below: 2) == 0 ? .drop : .padAndMask(value: 0))
            do {
                let windows = try frames.windows(p)
                accepted += 1
                _ = try windows.inputs()
                _ = try windows.targets()
                _ = windows.lengths
                _ = try windows.batches(size: pick()).batch(0)
            } catch is FrameSequencingError {
                continue
            }
        }
        XCTAssertGreaterThan(accepted, 100)
    }
}

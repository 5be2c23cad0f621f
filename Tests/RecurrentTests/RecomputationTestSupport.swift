import FrameSequencing
import FrameSequencingRuntime
import Recurrent
import XCTest

/// Fails unless `actual` and `expected` hold the same floats bit for bit (so
/// -0 differs from 0 and NaNs must have the same payload), naming the first
/// element that differs and both values.
func assertBitwiseEqual(_ name: String, _ actual: [Float], _ expected: [Float],
                        file: StaticString = #filePath, line: UInt = #line) {
    guard actual.count == expected.count else {
        return XCTFail("\(name): \(actual.count) elements, expected \(expected.count)", file: file, line: line)
    }
    if let i = actual.indices.first(where: { actual[$0].bitPattern != expected[$0].bitPattern }) {
        let differing = actual.indices.filter { actual[$0].bitPattern != expected[$0].bitPattern }.count
        XCTFail("\(name): \(differing) of \(actual.count) elements differ; first at \(i): expected \(expected[i]) "
                + "(0x\(String(expected[i].bitPattern, radix: 16))), got \(actual[i]) (0x\(String(actual[i].bitPattern, radix: 16)))",
                file: file, line: line)
    }
}

/// Runs `body` with the shared pool limited to `threads` threads, restoring the limit after.
func withThreadLimit<R>(_ threads: Int, _ body: () throws -> R) rethrows -> R {
    let saved = WorkerPool.shared.threadLimit
    WorkerPool.shared.threadLimit = threads
    defer { WorkerPool.shared.threadLimit = saved }
    return try body()
}

/// The thread counts to compare on this machine: 1, and 2 when the pool has two threads.
var recomputationThreadCounts: [Int] {
    WorkerPool.shared.threadLimit >= 2 && ProcessInfo.processInfo.activeProcessorCount >= 2 ? [1, 2] : [1]
}

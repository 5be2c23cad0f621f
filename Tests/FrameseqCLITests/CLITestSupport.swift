import Foundation
import FrameSequencing
import Synchronization
import XCTest
@testable import FrameseqCLI

/// Runs the command line in process and keeps what it printed.
struct CLIRun {
    let status: Int32
    let out: String
    let err: String

    /// Runs `arguments`; `onLine` sees each standard-output line as it is printed.
    init(_ arguments: [String], onLine: @escaping @Sendable (String) -> Void = { _ in }) {
        let (outLines, errLines) = (Lines(), Lines())
        status = Frameseq.run(arguments, console: Console(out: { outLines.append($0); onLine($0) }, err: errLines.append))
        (out, err) = (outLines.text, errLines.text)
    }

    /// Printed lines, appended from whichever thread prints.
    private final class Lines: Sendable {
        private let lines = Mutex<[String]>([])
        @Sendable func append(_ line: String) { lines.withLock { $0.append(line) } }
        var text: String { lines.withLock { $0.joined(separator: "\n") } }
    }
}

/// A fresh temporary folder, removed when the test ends.
func temporaryFolder(_ test: XCTestCase) throws -> String {
    let path = NSTemporaryDirectory() + "frameseq-cli-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
    return path
}

/// `count` frames (count, size, size, channels) of a 3x3 bright square moving
/// one pixel a frame along the diagonal (wrapping), as bytes.
func movingSquareBytes(count: Int, size: Int, channels: Int = 1) -> [UInt8] {
    var bytes = [UInt8](repeating: 10, count: count * size * size * channels)
    for frame in 0 ..< count {
        let corner = frame % (size - 2)
        for y in corner ..< corner + 3 {
            for x in corner ..< corner + 3 {
                for c in 0 ..< channels { bytes[((frame * size + y) * size + x) * channels + c] = UInt8(200 + 20 * c) }
            }
        }
    }
    return bytes
}

/// Writes the moving square as an NPY file and returns its path.
func writeMovingSquareNPY(in folder: String, count: Int = 30, size: Int = 8, channels: Int = 1,
                          name: String = "frames.npy") throws -> String {
    let path = folder + "/" + name
    try NPY.write(try NumericArray(shape: [count, size, size, channels],
                                   data: .uint8(movingSquareBytes(count: count, size: size, channels: channels))), to: path)
    return path
}

/// Reads a metrics.json file as nested dictionaries.
func readMetrics(_ path: String) throws -> [String: Any] {
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    return try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
}

/// `metrics[group][key]["mse"]`, failing the test when absent or not a finite number.
func mse(_ metrics: [String: Any], _ group: String, _ key: String, file: StaticString = #filePath,
         line: UInt = #line) throws -> Double {
    let entry = try XCTUnwrap((metrics[group] as? [String: Any])?[key] as? [String: Any], "\(group).\(key)", file: file, line: line)
    let value = try XCTUnwrap(entry["mse"] as? Double, "\(group).\(key).mse", file: file, line: line)
    XCTAssertNotNil(entry["psnr"] as? Double, "\(group).\(key).psnr", file: file, line: line)
    XCTAssert(value.isFinite && value >= 0, "\(group).\(key).mse = \(value)", file: file, line: line)
    return value
}

/// Asserts a failed run: the status, and one error line naming the command and containing `fragments`.
func assertFails(_ run: CLIRun, status: Int32, mentioning fragments: [String], file: StaticString = #filePath,
                 line: UInt = #line) {
    XCTAssertEqual(run.status, status, "stderr: \(run.err)", file: file, line: line)
    XCTAssertEqual(run.err.split(separator: "\n").count, 1, "one error line, got: \(run.err)", file: file, line: line)
    XCTAssert(run.err.hasPrefix("frameseq "), run.err, file: file, line: line)
    for fragment in fragments {
        XCTAssert(run.err.contains(fragment), "'\(fragment)' not in: \(run.err)", file: file, line: line)
    }
}

/// The `frameseq` executable built next to the test bundle (Linux runs the
/// tests from .build/<triple>/debug/<package>PackageTests.xctest; macOS from a bundle there).
func frameseqExecutable(for test: XCTestCase) throws -> URL {
    let bundle = Bundle(for: type(of: test)).bundleURL
    let candidates = [bundle, bundle.deletingLastPathComponent()].map { $0.appendingPathComponent("frameseq") }
    guard let binary = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
        throw XCTSkip("no frameseq executable next to the tests (\(candidates.map(\.path)))")
    }
    return binary
}

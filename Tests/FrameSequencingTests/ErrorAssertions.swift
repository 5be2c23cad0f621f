import FrameSequencing
import XCTest

/// The kinds of `FrameSequencingError` the file readers and writers throw.
enum ErrorKind {
    case malformed, truncated, unsupported, fileSystem, sizeOverflow, memoryLimit, elementCount, invalidArgument
    case frameShapeMismatch, imageShapeMismatch, nonFinite, shapeMismatch, windowLongerThanData
}

extension XCTestCase {
    /// Asserts that `body` throws a `FrameSequencingError` of `kind` whose
    /// description contains `text` (case-insensitive), so a test names the exact check.
    /// Shared by the array (`IOTests`) and image (`ImageIOTests`) file tests.
    func assertThrows<T>(
        _ kind: ErrorKind, _ text: String = "", file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> T
    ) {
        do {
            let value = try body()
            XCTFail("expected \(kind) error, got a value: \(String(describing: value).prefix(200))", file: file, line: line)
        } catch let error as FrameSequencingError {
            let actual: ErrorKind?
            switch error {
            case .malformedFile: actual = .malformed
            case .truncatedFile: actual = .truncated
            case .unsupportedFormat: actual = .unsupported
            case .fileSystem: actual = .fileSystem
            case .sizeOverflow: actual = .sizeOverflow
            case .exceedsMemoryLimit: actual = .memoryLimit
            case .elementCountMismatch: actual = .elementCount
            case .invalidArgument: actual = .invalidArgument
            case .frameShapeMismatch: actual = .frameShapeMismatch
            case .imageShapeMismatch: actual = .imageShapeMismatch
            case .nonFinite: actual = .nonFinite
            case .shapeMismatch: actual = .shapeMismatch
            case .windowLongerThanData: actual = .windowLongerThanData
            default: actual = nil
            }
            XCTAssertEqual(actual, kind, "wrong error: \(error)", file: file, line: line)
            if !text.isEmpty {
                XCTAssertTrue(error.description.lowercased().contains(text.lowercased()),
                              "error '\(error)' does not mention '\(text)'", file: file, line: line)
            }
        } catch {
            XCTFail("expected FrameSequencingError.\(kind), got \(error)", file: file, line: line)
        }
    }
}

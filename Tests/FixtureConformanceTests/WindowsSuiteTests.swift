import FrameSequencing
import TestSupport
import XCTest

/// The `windows` checker fails a case with a tensor missing, a tensor it would
/// pass over, or a wrong target: shown on altered copies of committed cases.
final class WindowsSuiteTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = try TestData.temporaryDirectory("windows-suite")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// A committed case, altered by `change`, written to a temporary file and read back.
    private func altered(_ name: String, _ change: (inout [String: NumericArray], inout [String: String]) throws -> Void)
        throws -> FixtureCase {
        // The package's own cases, whatever FIXTURES_DIR says (this file is <root>/Tests/FixtureConformanceTests/).
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let original = try SafeTensors.read(contentsOf: root.path + "/Fixtures/windows/\(name).safetensors")
        var arrays = Dictionary(uniqueKeysWithValues: original.names.map { ($0, original[$0]!) })
        var metadata = original.metadata
        try change(&arrays, &metadata)
        let path = directory + "/\(name).safetensors"
        try SafeTensors(tensors: arrays.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }, metadata: metadata).write(to: path)
        return try FixtureCase(suite: "windows", path: path)
    }

    /// What the harness decides for a case: an error, a failed comparison or an unchecked tensor.
    private func verdict(_ fixture: FixtureCase) -> String {
        do {
            let comparisons = try WindowsSuite.check(fixture)
            if let missed = fixture.unconsumed.first { return "unchecked \(missed)" }
            return comparisons.first { !$0.passed }.map { "FAIL \($0)" } ?? "ok"
        } catch {
            return "error \(error)"
        }
    }

    func testTheUnalteredCaseIsOk() throws {
        XCTAssertEqual(verdict(try altered("targets_array_k3") { _, _ in }), "ok")
    }

    func testAMissingTargetsArrayOrTargetsFails() throws {
        for name in ["targets_array", "targets"] {
            let result = verdict(try altered("targets_array_k3") { arrays, _ in arrays[name] = nil })
            XCTAssertTrue(result.hasPrefix("error") && result.contains("'\(name)' is missing"), result)
        }
    }

    func testATargetsArrayWithoutItsMetadataIsNotPassedOver() throws {
        let result = verdict(try altered("targets_array_k3") { _, metadata in metadata["targets"] = nil })
        XCTAssertTrue(result.contains("unchecked targets"), result)   // targets and targets_array both unread
    }

    func testAnExtraTensorIsNotPassedOver() throws {
        let extra = try altered("stride1") { arrays, _ in
            arrays["targets_array"] = NumericArray(try Tensor(shape: [12, 2]))
        }
        XCTAssertEqual(verdict(extra), "unchecked targets_array")
    }

    func testAWrongTargetFailsAtItsIndex() throws {
        let result = verdict(try altered("targets_array_k3") { arrays, _ in
            var targets = try arrays["targets"]!.tensor()
            targets.withUnsafeMutableBufferPointer { $0[7] += 1 }
            arrays["targets"] = NumericArray(targets)
        })
        XCTAssertTrue(result.hasPrefix("FAIL targets at 7"), result)
    }

    func testUnknownTargetsMetadataAndAnOffsetBesideAnArrayAreRefused() throws {
        let unknown = verdict(try altered("targets_array_k3") { _, metadata in metadata["targets"] = "\"frames\"" })
        XCTAssertTrue(unknown.hasPrefix("error") && unknown.contains("targets"), unknown)
        let both = verdict(try altered("targets_array_k3") { _, metadata in metadata["target_offset"] = "4" })
        XCTAssertTrue(both.hasPrefix("error") && both.contains("target_offset"), both)
    }
}

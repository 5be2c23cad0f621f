import Foundation
import XCTest

/// The README's examples cannot drift: `ReadmeExamples.swift` holds every
/// ```swift block as a region of one function, compiled with this target, and
/// these tests check that the regions are the README's blocks and that they run.
final class ReadmeSyncTests: XCTestCase {
    private static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()

    /// README blocks (without `import` lines) against the generated regions, line by line.
    func testBlocksMatchReadme() throws {
        let readme = try String(contentsOf: Self.directory.appendingPathComponent("../../README.md"), encoding: .utf8)
        let source = try String(contentsOf: Self.directory.appendingPathComponent("ReadmeExamples.swift"), encoding: .utf8)
        let blocks = Self.swiftBlocks(readme)
        let regions = Self.regions(source)
        XCTAssertGreaterThan(blocks.count, 5, "the README's swift blocks were not found")
        XCTAssertEqual(blocks.count, regions.count,
                       "README has \(blocks.count) swift blocks, ReadmeExamples.swift \(regions.count) regions; run sync_readme.py")
        let topLevel = Set(source.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            .filter { $0.hasPrefix("import ") })
        for (number, (block, region)) in zip(blocks, regions).enumerated() {
            let code = block.filter { !$0.hasPrefix("import ") }
            for line in block where line.hasPrefix("import ") {
                XCTAssertTrue(topLevel.contains(line), "README block \(number + 1): '\(line)' is missing at the top of ReadmeExamples.swift")
            }
            if let index = Array(zip(code, region)).firstIndex(where: { $0 != $1 }) ?? (code.count == region.count ? nil : min(code.count, region.count)) {
                let expected = index < code.count ? code[index] : "(end of block)"
                let actual = index < region.count ? region[index] : "(end of region)"
                XCTFail("README block \(number + 1), line \(index + 1): README has '\(expected)', ReadmeExamples.swift '\(actual)'; run sync_readme.py")
            }
        }
    }

    /// Every example runs, in order, on the data `ReadmeSetup` makes, and its values
    /// are what the comments say (`checkReadme`). An optimized build runs them in 8 seconds
    /// (`.ci/run`'s release step); a debug build's unoptimized convolutions take five and a
    /// half minutes, so there it is skipped unless `FRAMESEQ_README_RUN=1`. Compiling
    /// this target and `testBlocksMatchReadme` still check every example in a debug run.
    func testReadmeRunsInOrder() throws {
        #if DEBUG
        if ProcessInfo.processInfo.environment["FRAMESEQ_README_RUN"] != "1" {
            throw XCTSkip("the README's examples run in optimized builds (.ci/run's release step); FRAMESEQ_README_RUN=1 runs them here")
        }
        #endif
        let setup = try ReadmeSetup.enter()
        defer { setup.leave() }
        try runReadme(setup)
    }

    /// The ```swift blocks, minus the `swift package-manifest` one (a Package.swift fragment).
    static func swiftBlocks(_ text: String) -> [[String]] {
        var blocks: [[String]] = []
        var current: [String]?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if current == nil {
                if line == "```swift" { current = [] }
            } else if line == "```" {
                blocks.append(current!)
                current = nil
            } else {
                current!.append(line)
            }
        }
        return blocks
    }

    /// The marked regions of `ReadmeExamples.swift`, with the function body's indentation removed.
    static func regions(_ source: String) -> [[String]] {
        var regions: [[String]] = []
        var current: [String]?
        for line in source.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if line.hasPrefix("    // README block "), line.hasSuffix("(begin)") {
                current = []
            } else if line.hasPrefix("    // README block "), line.hasSuffix("(end)") {
                regions.append(current ?? [])
                current = nil
            } else if current != nil {
                current!.append(line.hasPrefix("    ") ? String(line.dropFirst(4)) : line)
            }
        }
        return regions
    }
}

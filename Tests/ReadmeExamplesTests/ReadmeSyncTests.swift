import Foundation
import XCTest

/// The README's and the DocC articles' examples cannot drift: `ReadmeExamples.swift`
/// and `ArticleExamples.swift` hold every ```swift block as a region of one function
/// per document, compiled with this target, and these tests check that the regions
/// are the documents' blocks and that they run.
final class ReadmeSyncTests: XCTestCase {
    private static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()

    /// README blocks (without `import` lines) against the generated regions, line by line.
    func testBlocksMatchReadme() throws {
        try checkRegions(document: "README.md", label: "README", source: "ReadmeExamples.swift")
    }

    /// The DocC articles' blocks against theirs.
    func testBlocksMatchArticles() throws {
        XCTAssertEqual(articleExamples.count, 4)
        for (path, _) in articleExamples {
            try checkRegions(document: path, label: URL(fileURLWithPath: path).lastPathComponent, source: "ArticleExamples.swift")
        }
    }

    /// Every article's examples run, in order (small data: debug builds run them too).
    func testArticlesRun() throws {
        for (path, run) in articleExamples {
            XCTAssertNoThrow(try run(), path)
        }
    }

    private func checkRegions(document: String, label: String, source file: String) throws {
        let text = try String(contentsOf: Self.directory.appendingPathComponent("../../" + document), encoding: .utf8)
        let source = try String(contentsOf: Self.directory.appendingPathComponent(file), encoding: .utf8)
        let blocks = Self.swiftBlocks(text)
        let regions = Self.regions(source, label: label)
        XCTAssertGreaterThan(blocks.count, 0, "\(document): no swift blocks found")
        XCTAssertEqual(blocks.count, regions.count,
                       "\(document) has \(blocks.count) swift blocks, \(file) \(regions.count) regions; run sync_readme.py")
        let topLevel = Set(source.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            .filter { $0.hasPrefix("import ") })
        for (number, (block, region)) in zip(blocks, regions).enumerated() {
            let code = block.filter { !$0.hasPrefix("import ") }
            for line in block where line.hasPrefix("import ") {
                XCTAssertTrue(topLevel.contains(line), "\(document) block \(number + 1): '\(line)' is missing at the top of \(file)")
            }
            let firstDifference = Array(zip(code, region)).firstIndex { $0 != $1 }
            if let index = firstDifference ?? (code.count == region.count ? nil : min(code.count, region.count)) {
                let expected = index < code.count ? code[index] : "(end of block)"
                let actual = index < region.count ? region[index] : "(end of region)"
                XCTFail("\(document) block \(number + 1), line \(index + 1): the document has '\(expected)', "
                        + "\(file) '\(actual)'; run sync_readme.py")
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

    /// The regions of `source` marked `// <label> block N (begin)` ... `(end)`, with the
    /// function body's indentation removed.
    static func regions(_ source: String, label: String) -> [[String]] {
        var regions: [[String]] = []
        var current: [String]?
        for line in source.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if line.hasPrefix("    // \(label) block "), line.hasSuffix("(begin)") {
                current = []
            } else if line.hasPrefix("    // \(label) block "), line.hasSuffix("(end)") {
                regions.append(current ?? [])
                current = nil
            } else if current != nil {
                current!.append(line.hasPrefix("    ") ? String(line.dropFirst(4)) : line)
            }
        }
        return regions
    }
}

import FrameSequencing
import XCTest

/// What errors report as the expected shape: exact sizes, named free axes and
/// multiples, checked and printed.
final class ShapeRequirementTests: XCTestCase {
    func testAxesAreCheckedAndPrinted() {
        let required: ShapeRequirement = [.any("batch"), .any("timesteps"), 12]
        XCTAssertTrue(required.isSatisfied(by: [4, 10, 12]))
        XCTAssertTrue(required.isSatisfied(by: [0, 1, 12]))
        XCTAssertFalse(required.isSatisfied(by: [4, 10, 11]))
        XCTAssertFalse(required.isSatisfied(by: [4, 12]), "another rank")
        XCTAssertEqual(required.description, "(batch, timesteps, 12)")
        XCTAssertNil(required.exactDimensions)

        let kernel: ShapeRequirement = [3, 3, .multiple(of: 4, "4 * filters")]
        XCTAssertTrue(kernel.isSatisfied(by: [3, 3, 8]))
        XCTAssertFalse(kernel.isSatisfied(by: [3, 3, 6]))
        XCTAssertFalse(kernel.isSatisfied(by: [3, 3, 0]), "a multiple must be positive")
        XCTAssertEqual(kernel.description, "(3, 3, 4 * filters a multiple of 4)")

        let exact = ShapeRequirement(exactly: [2, 5])
        XCTAssertEqual(exact, [2, 5])
        XCTAssertEqual(exact.exactDimensions, [2, 5])
        XCTAssertEqual(ShapeRequirement(exactly: []).description, "()")
    }

    func testErrorsPrintBothShapesAlike() throws {
        XCTAssertThrowsError(try padSequences([try Tensor(shape: [2, 3]), try Tensor(shape: [4, 2])], padding: .pre, truncating: .pre)) { error in
            XCTAssertTrue("\(error)".contains("has shape (4, 2), expected"), "\(error)")
        }
    }
}

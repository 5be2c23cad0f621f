import FrameSequencing
import TestSupport
import XCTest

/// Normalizations of known statistics, the identity, and what the CLI keeps in
/// a checkpoint: the same map as the fitted one.
final class NormalizationStatisticsTests: XCTestCase {
    func testKnownStatisticsEqualTheFittedMap() throws {
        let frames = try FrameStack(stacked: (0 ..< 32).map { Float($0) * 0.75 - 3 }, frameShape: try FrameShape(height: 2, width: 2, channels: 2))
        let fitted = try Normalization.fit(frames, method: .zScore, perChannel: true)
        let restored = try Normalization(center: fitted.center, factor: fitted.factor, lower: fitted.lower, method: .zScore)
        XCTAssertEqual(restored, fitted)
        XCTAssertEqual(try restored.apply(to: frames).tensor(), try fitted.apply(to: frames).tensor())
        XCTAssertFalse(restored.isIdentity)
        for (center, factor) in [([Float](), [Float]()), ([0], [1, 2]), ([0], [0]), ([.nan], [1])] {
            XCTAssertThrowsError(try Normalization(center: center, factor: factor), "center \(center), factor \(factor)") { error in
                guard case FrameSequencingError.invalidArgument = error else { return XCTFail("\(error)") }
            }
        }
    }

    func testTheIdentityLeavesFramesAsTheyAre() throws {
        let bytes = try FrameStack(stacked: [UInt8](0 ..< 12), frameShape: try FrameShape(height: 2, width: 2, channels: 1), scale: 1.0 / 255)
        let same = try Normalization.identity.apply(to: bytes)
        XCTAssertEqual(same.elementKind, bytes.elementKind, "byte frames stay bytes")
        XCTAssertEqual(try same.tensor(), try bytes.tensor())
        XCTAssertTrue(try Normalization(center: [0, 0], factor: [1, 1]).isIdentity)
        XCTAssertThrowsError(try Normalization(center: [0, 0, 0], factor: [1, 1, 1]).apply(to: bytes) as FrameStack,
                             "an identity of 3 channels refuses frames of 4 values each, as any normalization does")
        let values = try Tensor(shape: [3], scalars: [-1, 0.5, 7])
        XCTAssertEqual(try Normalization.identity.invert(values), values)
    }
}

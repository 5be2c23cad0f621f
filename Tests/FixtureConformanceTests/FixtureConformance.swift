import FrameSequencing
import TestSupport
import XCTest

/// Checks every reference fixture under `Fixtures/` (or `$FIXTURES_DIR`) against
/// this package, printing one line per case as `../shared/FIXTURES.md` specifies.
final class FixtureConformance: XCTestCase {
    /// A suite's checker: reads the case's tensors and returns one comparison per
    /// expected tensor. Thrown errors fail the case with the file's name.
    typealias Checker = @Sendable (FixtureCase) throws -> [Comparison]

    /// Every suite the fixture contract names. A folder with another name fails the run.
    static let contractSuites: Set<String> = [
        "windows", "pad_sequences", "lstm", "keras_lstm", "keras_convlstm2d", "keras_conv2d",
        "keras_conv2d_transpose", "keras_maxpool2d", "keras_dense", "keras_cnn_lstm", "torch_optim",
        "space_to_depth", "ssim", "torch_rollout", "keras_concatenate", "gru", "keras_gru",
    ]

    /// The suites this package checks so far.
    static let checkers: [String: Checker] = [
        "windows": WindowsSuite.check,
        "pad_sequences": PadSequencesSuite.check,
        "lstm": LSTMSuite.check,
        "keras_lstm": KerasLSTMSuite.check,
        "keras_dense": KerasDenseSuite.check,
        "keras_conv2d": KerasConv2DSuite.check,
        "keras_conv2d_transpose": KerasConv2DTransposeSuite.check,
        "keras_maxpool2d": KerasMaxPool2DSuite.check,
        "keras_cnn_lstm": KerasCNNLSTMSuite.check,
        "torch_optim": TorchOptimSuite.check,
        "keras_convlstm2d": KerasConvLSTM2DSuite.check,
        "space_to_depth": SpaceToDepthSuite.check,
        "ssim": SSIMSuite.check,
        "torch_rollout": TorchRolloutSuite.check,
        "keras_concatenate": KerasConcatenateSuite.check,
        "gru": GRUSuite.check,
        "keras_gru": KerasGRUSuite.check,
    ]

    func testEveryFixtureCase() throws {
        let root = fixturesDirectory()
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root, isDirectory: &isDirectory), isDirectory.boolValue else {
            return XCTFail("fixtures folder \(root) does not exist (FIXTURES_DIR or the package's Fixtures/)")
        }
        var checked = 0
        let suites = try FileManager.default.contentsOfDirectory(atPath: root).sorted().filter {
            var isSuite: ObjCBool = false
            return FileManager.default.fileExists(atPath: root + "/" + $0, isDirectory: &isSuite) && isSuite.boolValue
                && !$0.hasPrefix(".") && $0 != "__pycache__"
        }
        for suite in suites {
            guard Self.contractSuites.contains(suite) else {
                XCTFail("fixture suite '\(suite)' in \(root) is not a suite of the fixture contract")
                continue
            }
            guard let checker = Self.checkers[suite] else {
                XCTFail("fixture suite '\(suite)' is in the contract but this package does not check it yet")
                continue
            }
            let files = try FileManager.default.contentsOfDirectory(atPath: root + "/" + suite)
                .filter { $0.hasSuffix(".safetensors") }.sorted()
            for file in files {
                checked += 1
                run(suite: suite, path: root + "/" + suite + "/" + file, checker: checker)
            }
        }
        print("fixtures: \(checked) cases checked under \(root)")
    }

    private func run(suite: String, path: String, checker: Checker) {
        let label = "fixture \(suite)/\(URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent)"
        do {
            let fixture = try FixtureCase(suite: suite, path: path)
            if let declared = try fixture.string("suite"), declared != suite {
                throw FixtureError.badMetadata(path, "suite", "\(declared), but the file is in folder \(suite)")
            }
            let comparisons = try checker(fixture)
            if let missed = fixture.unconsumed.first {
                throw FixtureError.badMetadata(path, "tensors", "'\(missed)' is not checked by the \(suite) suite")
            }
            if let failed = comparisons.first(where: { !$0.passed }) {
                print("\(label): FAIL \(failed)")
                XCTFail("\(label): FAIL \(failed) (\(path))")
            } else {
                let worst = comparisons.max { $0.worstError < $1.worstError }
                print("\(label): ok (worst \(worst.map { "\($0.name) \($0.worstError)" } ?? "none"))")
            }
        } catch {
            print("\(label): FAIL \(error)")
            XCTFail("\(label): FAIL \(error)")
        }
    }
}

/// Throws `wrongShape` unless `actual` has the dimensions of `expected`.
func requireSameShape(_ fixture: FixtureCase, _ name: String, expected: Tensor, actual: Tensor) throws {
    guard expected.dimensions == actual.dimensions else {
        throw FixtureError.wrongShape(fixture.path, name, expected: expected.dimensions, actual: actual.dimensions)
    }
}

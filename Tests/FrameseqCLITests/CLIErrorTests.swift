import Foundation
import FrameSequencing
import XCTest
@testable import FrameseqCLI

/// Bad input to `train` and `forecast`: a non-zero status and one error line
/// naming the file and the problem, never a crash.
final class CLIErrorTests: XCTestCase {
    func testMissingAndUnknownOptions() {
        assertFails(CLIRun(["train"]), status: 2, mentioning: ["--frames PATH is required"])
        assertFails(CLIRun(["train", "--frames", "x.npy", "--modle", "fc_lstm"]), status: 2, mentioning: ["--modle"])
        assertFails(CLIRun(["train", "--frames", "x.npy", "--model", "gru"]), status: 2, mentioning: ["gru"])
        assertFails(CLIRun(["train", "--frames", "x.npy", "--epochs", "0"]), status: 2, mentioning: ["--epochs", "0"])
        assertFails(CLIRun(["train", "--frames", "x.npy", "--filters", "4,,4"]), status: 2, mentioning: ["--filters"])
        assertFails(CLIRun(["train", "--frames"]), status: 2, mentioning: ["--frames needs a value"])
        assertFails(CLIRun(["forecast", "--frames", "x.npy"]), status: 2, mentioning: ["--checkpoint"])
    }

    func testUnreadableOrInconsistentFrames() throws {
        let folder = try temporaryFolder(self)
        assertFails(CLIRun(["train", "--frames", folder + "/none.npy"]), status: 1, mentioning: ["none.npy", "no such file"])
        let text = folder + "/frames.txt"
        try Data("1 2 3".utf8).write(to: URL(fileURLWithPath: text))
        assertFails(CLIRun(["train", "--frames", text]), status: 1, mentioning: ["frames.txt", ".npy"])

        // A truncated NPY: the header promises more frames than the file holds.
        let good = try writeMovingSquareNPY(in: folder)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: good))
        let truncated = folder + "/truncated.npy"
        try bytes.prefix(bytes.count - 100).write(to: URL(fileURLWithPath: truncated))
        assertFails(CLIRun(["train", "--frames", truncated, "--quiet", "--output", folder + "/out-truncated"]), status: 1,
                    mentioning: ["truncated.npy"])

        // A lying header: a shape of 10^15 frames in a small file.
        let header = String(decoding: bytes.prefix(128), as: UTF8.self).replacingOccurrences(of: "(30, 8, 8, 1)", with: "(999999999999999, 8, 8, 1)")
        XCTAssert(header.contains("999999999999999"))
        let lying = folder + "/lying.npy"
        var lyingBytes = Data(header.utf8.prefix(10))
        let dictionary = "{'descr': '|u1', 'fortran_order': False, 'shape': (999999999999999, 8, 8, 1), }"
        let padded = dictionary + String(repeating: " ", count: 118 - dictionary.count) + "\n"
        lyingBytes = Data([0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(padded.utf8.count), 0]) + Data(padded.utf8) + Data(count: 64)
        try lyingBytes.write(to: URL(fileURLWithPath: lying))
        assertFails(CLIRun(["train", "--frames", lying, "--quiet", "--output", folder + "/out-lying"]), status: 1, mentioning: ["lying.npy"])

        let integers = folder + "/ints.npy"
        try NPY.write(try NumericArray(shape: [30, 4, 4], data: .int64(Array(repeating: 1, count: 480))), to: integers)
        assertFails(CLIRun(["train", "--frames", integers]), status: 1, mentioning: ["ints.npy", "int64"])

        var values = [Float](repeating: 0.5, count: 30 * 16)
        values[3 * 16 + 5] = .nan
        let nan = folder + "/nan.npy"
        try NPY.write(try NumericArray(shape: [30, 4, 4, 1], data: .float32(values)), to: nan)
        assertFails(CLIRun(["train", "--frames", nan, "--quiet", "--output", folder + "/out-nan"]), status: 1, mentioning: ["frame 3", "nan"])
        // Planned, then failed reading the frames: the record says so.
        let record = try MetricsFile.read(folder + "/out-nan/metrics.json")
        XCTAssertEqual(record.status, .failed)
        XCTAssert(record.error?.contains("frame 3") == true, "\(record.error ?? "no error")")
        XCTAssertEqual(record.models["convlstm"]?.status, .notRun)

        let few = try writeMovingSquareNPY(in: folder, count: 8, name: "few.npy")
        assertFails(CLIRun(["train", "--frames", few, "--quiet", "--output", folder + "/out-few"]), status: 1, mentioning: ["few.npy", "too few"])

        // A folder whose images disagree in size.
        let images = folder + "/images"
        try FileManager.default.createDirectory(atPath: images, withIntermediateDirectories: true)
        try PNM.write(try ByteImage(shape: FrameShape(height: 4, width: 4, channels: 1), pixels: .init(repeating: 1, count: 16)),
                      to: images + "/a1.pgm")
        try PNM.write(try ByteImage(shape: FrameShape(height: 4, width: 5, channels: 1), pixels: .init(repeating: 1, count: 20)),
                      to: images + "/a2.pgm")
        assertFails(CLIRun(["train", "--frames", images, "--output", folder + "/out-images"]), status: 1, mentioning: ["a2.pgm", "a1.pgm"])
        let empty = folder + "/empty"
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        assertFails(CLIRun(["train", "--frames", empty]), status: 1, mentioning: ["empty"])
    }

    func testForecastRefusesWrongCheckpointsAndFrames() throws {
        let folder = try temporaryFolder(self)
        let frames = try writeMovingSquareNPY(in: folder)
        // Frames are not a checkpoint.
        assertFails(CLIRun(["forecast", "--checkpoint", frames, "--frames", frames]), status: 1, mentioning: ["frames.npy"])
        let garbage = folder + "/garbage.safetensors"
        try Data([200, 0, 0, 0, 0, 0, 0, 0, 0x7b]).write(to: URL(fileURLWithPath: garbage))
        assertFails(CLIRun(["forecast", "--checkpoint", garbage, "--frames", frames]), status: 1, mentioning: ["garbage.safetensors"])

        XCTAssertEqual(CLIRun(["train", "--frames", frames, "--output", folder + "/m", "--model", "fc_lstm", "--epochs", "1",
                               "--context", "3", "--steps", "2", "--test-frames", "6", "--hidden", "4", "--quiet"]).status, 0)
        let model = folder + "/m/model.safetensors"
        let other = try writeMovingSquareNPY(in: folder, size: 6, name: "small.npy")
        assertFails(CLIRun(["forecast", "--checkpoint", model, "--frames", other]), status: 1, mentioning: ["small.npy", "trained on"])
        assertFails(CLIRun(["forecast", "--checkpoint", model, "--frames", frames, "--from", "2"]), status: 1,
                    mentioning: ["--from 2"])
        assertFails(CLIRun(["forecast", "--checkpoint", model, "--frames", frames, "--output", frames]), status: 1,
                    mentioning: ["not a directory"])
    }

    /// The built executable itself: a hostile file ends with status 1 and one
    /// line on standard error, not a signal.
    func testExecutableExitsWithStatusNotSignal() throws {
        let binary = try frameseqExecutable(for: self)
        let folder = try temporaryFolder(self)
        let hostile = folder + "/hostile.png"
        try Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13] + Array("IHDR".utf8)
                 + [0x7f, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff, 8, 0, 0, 0, 0, 0, 0, 0, 0]).write(to: URL(fileURLWithPath: hostile))
        let images = folder + "/images"
        try FileManager.default.createDirectory(atPath: images, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: hostile, toPath: images + "/0.png")
        let process = Process()
        process.executableURL = binary
        process.arguments = ["train", "--frames", images]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = Pipe()
        try process.run()
        process.waitUntilExit()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(process.terminationReason, .exit)
        XCTAssertEqual(process.terminationStatus, 1)
        XCTAssertEqual(message.split(separator: "\n").count, 1, message)
        XCTAssert(message.contains("0.png"), message)
    }

    /// A diverged forecast (NaN or infinity) is refused, not saved or drawn as black pixels.
    func testNonFiniteFramesAreNotWrittenAsPixels() throws {
        var values = [Float](repeating: 0.5, count: 2 * 3 * 3)
        values[7] = .nan
        let frames = try Tensor(shape: Shape([2, 3, 3, 1]), scalars: values)
        XCTAssertThrowsError(try filmstrip([frames])) { XCTAssert("\($0)".contains("nan"), "\($0)") }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("frameseq-nonfinite-\(UUID()).npy").path
        XCTAssertThrowsError(try writeFrames(values, shape: [2, 3, 3, 1], scaling: .identity, asBytes: true, to: path)) {
            XCTAssert("\($0)".contains("index 7"), "\($0)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path), "nothing written")
    }
}

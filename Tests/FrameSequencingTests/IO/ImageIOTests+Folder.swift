import Foundation
import FrameSequencing
import TestSupport
import XCTest
@testable import FrameSequencingIO

/// Folders of frames read as one series, the natural name order, and the doc
/// comment examples of the image types.
extension ImageIOTests {
    /// A `height x width x channels` image whose every sample is `value`.
    func flatImage(_ value: UInt8, height: Int = 4, width: Int = 3, channels: Int = 1) throws -> ByteImage {
        let shape = try FrameShape(height: height, width: width, channels: channels)
        return try ByteImage(shape: shape, pixels: [UInt8](repeating: value, count: shape.featureCount))
    }

    func testNaturalNameOrderComparesDigitRunsByValue() {
        let expected = ["1frame", "2", "9frame", "10", "10frame", "a", "a0", "a01", "a1", "a1b", "a1c", "a2",
                        "frame", "frame2.png", "frame10.png", "img_009", "img_9", "img_010", "x99", "x100", "x100a"]
        var generator = SeededGenerator(seed: 13)
        for _ in 0 ..< 20 {
            var shuffled = expected
            generator.shuffle(&shuffled)
            XCTAssertEqual(shuffled.sorted(by: ImageFolder.precedesInNameOrder), expected)
        }
        for name in expected { XCTAssertFalse(ImageFolder.precedesInNameOrder(name, name), name) }
        // Zero-padded names sort as plain byte order does.
        let padded = (0 ..< 120).map { "frame" + String(repeating: "0", count: 4 - String($0).count) + String($0) + ".png" }
        XCTAssertEqual(padded.sorted(by: ImageFolder.precedesInNameOrder), padded.sorted())
    }

    func testImageFolderReadsImageFilesInNaturalOrderAndSkipsTheRest() throws {
        let directory = try scratchDirectory()
        try PNG.write(flatImage(1), to: directory + "/frame1.png")
        try PNM.write(flatImage(2), to: directory + "/frame2.pgm")
        try PNG.write(flatImage(3), to: directory + "/frame3.PNG")
        try PNG.write(flatImage(10), to: directory + "/frame10.png")
        // Left out: other extensions, hidden files (unreadable here) and subfolders.
        try Data("notes".utf8).write(to: URL(fileURLWithPath: directory + "/notes.txt"))
        try Data("not a png".utf8).write(to: URL(fileURLWithPath: directory + "/._frame1.png"))
        try FileManager.default.createDirectory(atPath: directory + "/sub", withIntermediateDirectories: false)
        try PNG.write(flatImage(99), to: directory + "/sub/frame0.png")

        XCTAssertEqual(try ImageFolder.imagePaths(in: directory),
                       ["frame1.png", "frame2.pgm", "frame3.PNG", "frame10.png"].map { directory + "/" + $0 })
        let frames = try ImageFolder.read(directory: directory + "/", scale: 0.5)
        XCTAssertEqual(frames.count, 4)
        XCTAssertEqual(frames.frameShape, try FrameShape(height: 4, width: 3, channels: 1))
        XCTAssertEqual(frames.storage, .bytes([1, 2, 3, 10].flatMap { [UInt8](repeating: $0, count: 12) }, scale: 0.5))
        XCTAssertEqual(try frames.frame(at: 3).scalars, [Float](repeating: 5, count: 12))
    }

    func testImageFolderMixesPNGAndPPMFramesOfOneShape() throws {
        let directory = try scratchDirectory()
        let images = try (0 ..< 3).map { try sampleImage(height: 5, width: 6, channels: 3, kind: "random", seed: UInt64($0)) }
        try PNG.write(images[0], to: directory + "/a.png")
        try PNM.write(images[1], to: directory + "/b.ppm")
        try PNM.write(images[2], to: directory + "/c.pnm")
        let frames = try ImageFolder.read(directory: directory, scale: 1.0 / 255)
        XCTAssertEqual(frames.storage, .bytes(images.flatMap(\.pixels), scale: 1.0 / 255))
        XCTAssertEqual(try frames.tensor(), try FrameStack(images: images, scale: 1.0 / 255).tensor())
    }

    func testImageFolderNamesTheFirstFileOfAnotherShape() throws {
        let directory = try scratchDirectory()
        try PNG.write(flatImage(1), to: directory + "/f1.png")
        try PNG.write(flatImage(2), to: directory + "/f2.png")
        try PNG.write(flatImage(3, channels: 3), to: directory + "/f3.png")   // RGB
        try PNG.write(flatImage(4, height: 5), to: directory + "/f10.png")     // taller
        assertThrows(.imageShapeMismatch, "'\(directory)/f3.png' (frame 2 in name order) has shape (4, 3, 3)") {
            try ImageFolder.read(directory: directory)
        }
        assertThrows(.imageShapeMismatch, "first image '\(directory)/f1.png' has shape (4, 3, 1)") {
            try ImageFolder.read(directory: directory)
        }
        try FileManager.default.removeItem(atPath: directory + "/f3.png")
        assertThrows(.imageShapeMismatch, "f10.png' (frame 2 in name order) has shape (5, 3, 1)") {
            try ImageFolder.read(directory: directory)
        }
        // FrameStack(images:) reports the index.
        assertThrows(.frameShapeMismatch, "Frame 1") { try FrameStack(images: [flatImage(1), flatImage(1, width: 2)]) }
        assertThrows(.invalidArgument, "at least one image") { try FrameStack(images: []) }
    }

    func testImageFolderRefusesEmptyMissingAndBadFolders() throws {
        let directory = try scratchDirectory()
        assertThrows(.invalidArgument, "image folder '\(directory)'") { try ImageFolder.read(directory: directory) }
        try Data("x".utf8).write(to: URL(fileURLWithPath: directory + "/readme.md"))
        assertThrows(.invalidArgument, "at least one .png, .pgm, .ppm or .pnm file") { try ImageFolder.read(directory: directory) }
        assertThrows(.fileSystem, "No such file") { try ImageFolder.read(directory: directory + "/missing") }
        assertThrows(.fileSystem, "Not a directory") { try ImageFolder.read(directory: directory + "/readme.md") }

        // A corrupt file is named in the error.
        try PNG.write(flatImage(1), to: directory + "/a1.png")
        try Data([0x89, 0x50, 0x4E]).write(to: URL(fileURLWithPath: directory + "/a2.png"))
        assertThrows(.truncated, "a2.png") { try ImageFolder.read(directory: directory) }
        // A folder named like an image is not a regular file.
        try FileManager.default.removeItem(atPath: directory + "/a2.png")
        try FileManager.default.createDirectory(atPath: directory + "/a3.png", withIntermediateDirectories: false)
        assertThrows(.fileSystem, "not a regular file") { try ImageFolder.read(directory: directory) }
        try FileManager.default.removeItem(atPath: directory + "/a3.png")

        // The stack is checked against the limit once the frame size is known:
        // 20 frames of 12 bytes, each file (about 70 bytes) within the limit.
        for index in 2 ... 20 { try PNG.write(flatImage(UInt8(index)), to: directory + "/a\(index).png") }
        assertThrows(.memoryLimit, "20 frames") { try ImageFolder.read(directory: directory, limits: FileReadLimits(maximumBytes: 200)) }
        XCTAssertEqual(try ImageFolder.read(directory: directory, limits: FileReadLimits(maximumBytes: 240)).count, 20)
        assertThrows(.unsupported, "'gif'") { try ImageFolder.readImage(contentsOf: directory + "/x.gif") }
        assertThrows(.nonFinite) { try ImageFolder.read(directory: directory, scale: .nan) }
    }

    func testDocCommentExamplesOfTheImageTypes() throws {
        // The examples use relative paths: run them in a scratch directory.
        let directory = try scratchDirectory()
        let previous = FileManager.default.currentDirectoryPath
        XCTAssertTrue(FileManager.default.changeCurrentDirectoryPath(directory), "cd \(directory)")
        defer { _ = FileManager.default.changeCurrentDirectoryPath(previous) }

        // ByteImage
        let image = try ByteImage(shape: FrameShape(height: 2, width: 3, channels: 1), pixels: [0, 50, 100, 150, 200, 250])
        XCTAssertEqual(image[1, 2, 0], 250)
        let stack = try FrameStack(images: [image, image], scale: 1.0 / 255)
        XCTAssertEqual([stack.count, stack.frameShape.height, stack.frameShape.width, stack.frameShape.channels], [2, 2, 3, 1])

        // PNG
        let rgb = try ByteImage(shape: FrameShape(height: 2, width: 2, channels: 3), pixels: Array(0 ..< 12))
        try PNG.write(rgb, to: "frame.png")
        XCTAssertEqual(try PNG.read(contentsOf: "frame.png"), rgb)

        // PNM
        let pixmap = try ByteImage(shape: FrameShape(height: 1, width: 2, channels: 3), pixels: [255, 0, 0, 0, 0, 255])
        try PNM.write(pixmap, to: "frame.ppm")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: "frame.ppm")), Data("P6\n2 1\n255\n".utf8 + [255, 0, 0, 0, 0, 255]))
        XCTAssertEqual(try PNM.read(contentsOf: "frame.ppm"), pixmap)

        // ImageFolder
        try FileManager.default.createDirectory(atPath: "frames", withIntermediateDirectories: false)
        for index in [2, 10, 1] { try PNG.write(flatImage(UInt8(index)), to: "frames/frame\(index).png") }
        let frames = try ImageFolder.read(directory: "frames", scale: 1.0 / 255)
        XCTAssertEqual(frames.count, 3)
        XCTAssertEqual(try frames.frame(at: 2).scalars.first, 10.0 / 255)
        XCTAssertTrue(ImageFolder.precedesInNameOrder("frame2.png", "frame10.png"))
    }
}

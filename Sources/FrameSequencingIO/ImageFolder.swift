import FrameSequencingCore

/// A folder of image files read as one image time series: every PNG, PGM, PPM
/// and PNM file directly in it, in natural name order.
///
/// Natural order compares runs of digits by their value and everything else
/// byte by byte, so `frame2.png` comes before `frame10.png` and `img_9` before
/// `img_010`; names equal in that order (`f01`, `f1`) fall back to plain byte
/// order. Zero-padded names (`frame0001.png`) sort the same either way.
/// Hidden files (names starting with `.`), subfolders' contents and files with
/// other extensions are left out; extensions are matched in any case
/// (`.PNG`). Each file is read by the reader its extension names (``PNG`` or
/// ``PNM``), so every image becomes grey (1 channel) or RGB (3 channels).
///
/// ```swift
/// let frames = try ImageFolder.read(directory: "frames", scale: 1.0 / 255)   // (N, H, W, C) bytes
/// let order = ImageFolder.precedesInNameOrder("frame2.png", "frame10.png")    // true
/// ```
public enum ImageFolder {
    /// The extensions read, lower case.
    public static let fileExtensions: Set<String> = ["png", "pgm", "ppm", "pnm"]

    /// The paths (`directory/name`) of the image files directly in `directory`, in
    /// natural name order; empty when there are none.
    ///
    /// Throws `fileSystem` when the directory cannot be opened or listed.
    /// - Complexity: O(n log n) comparisons of names for n entries.
    public static func imagePaths(in directory: String) throws -> [String] {
        let names = try directoryEntries(directory).filter { name in
            !name.hasPrefix(".") && fileExtensions.contains(fileExtension(of: name))
        }
        let prefix = directory.hasSuffix("/") ? directory : directory + "/"
        return names.sorted(by: precedesInNameOrder).map { prefix + $0 }
    }

    /// Reads one image file with the reader its extension names: `.png` with
    /// ``PNG``, `.pgm`, `.ppm` and `.pnm` with ``PNM`` (in any case).
    ///
    /// Throws `unsupportedFormat` for other extensions, and whatever the reader throws.
    public static func readImage(contentsOf path: String, limits: FileReadLimits = .default) throws -> ByteImage {
        let fileExtension = fileExtension(of: path)
        switch fileExtension {
        case "png": return try PNG.read(contentsOf: path, limits: limits)
        case "pgm", "ppm", "pnm": return try PNM.read(contentsOf: path, limits: limits)
        default:
            throw FrameSequencingError.unsupportedFormat(
                path: path, expected: "a .png, .pgm, .ppm or .pnm file", actual: "the extension '\(fileExtension)'")
        }
    }

    /// Every image of `directory` in natural name order, stacked as (frames,
    /// height, width, channels) bytes read as `Float(byte) * scale` (pass
    /// `1.0 / 255` for values in 0...1).
    ///
    /// `limits` bounds each file and the whole stack, which is checked as soon
    /// as the first image gives the frame size, before the stack is allocated.
    /// Throws `invalidArgument` naming the folder when it holds no image file,
    /// `imageShapeMismatch` naming the first file whose (height, width,
    /// channels) differs from the first file's, `exceedsMemoryLimit` above
    /// `limits`, `nonFinite` for a NaN or infinite `scale`, `fileSystem` when
    /// the folder cannot be listed, and whatever reading a file throws (with
    /// that file's path).
    public static func read(directory: String, scale: Float = 1, limits: FileReadLimits = .default) throws -> FrameStack {
        let paths = try imagePaths(in: directory)
        guard let firstPath = paths.first else {
            throw FrameSequencingError.invalidArgument(
                name: "image folder '\(directory)'", expected: "at least one .png, .pgm, .ppm or .pnm file", actual: "none")
        }
        let first = try readImage(contentsOf: firstPath, limits: limits)
        let shape = first.shape
        let (total, overflow) = shape.featureCount.multipliedReportingOverflow(by: paths.count)
        guard !overflow else { throw FrameSequencingError.sizeOverflow(shape: [paths.count, shape.height, shape.width, shape.channels]) }
        try limits.check(total, for: "The \(paths.count) frames of shape \(shape) in '\(directory)'")
        var bytes = [UInt8]()
        bytes.reserveCapacity(total)
        bytes += first.pixels
        for (index, path) in paths.enumerated().dropFirst() {
            let image = try readImage(contentsOf: path, limits: limits)
            guard image.shape == shape else {
                throw FrameSequencingError.imageShapeMismatch(
                    path: path, index: index, expected: shape, actual: image.shape, firstPath: firstPath)
            }
            bytes += image.pixels
        }
        return try FrameStack(stacked: bytes, frameShape: shape, scale: scale)
    }

    /// The lower-cased text after the last dot of the path's last component, or "".
    private static func fileExtension(of path: String) -> String {
        let name = path.split(separator: "/", omittingEmptySubsequences: false).last ?? ""
        guard let dot = name.lastIndex(of: ".") else { return "" }
        return name[name.index(after: dot)...].lowercased()
    }

    /// Whether `first` comes before `second` in natural name order: digit runs
    /// compared by value (leading zeros ignored), other bytes by value, then
    /// plain byte order for names that are otherwise equal.
    public static func precedesInNameOrder(_ first: String, _ second: String) -> Bool {
        let (a, b) = (Array(first.utf8), Array(second.utf8))
        func isDigit(_ byte: UInt8) -> Bool { (0x30 ... 0x39).contains(byte) }
        var (i, j) = (0, 0)
        while i < a.count && j < b.count {
            guard isDigit(a[i]) && isDigit(b[j]) else {
                if a[i] != b[j] { return a[i] < b[j] }
                i += 1
                j += 1
                continue
            }
            // The digit runs without leading zeros (keeping one digit of "000").
            var (startA, startB) = (i, j)
            while i < a.count && isDigit(a[i]) { i += 1 }
            while j < b.count && isDigit(b[j]) { j += 1 }
            while startA < i - 1 && a[startA] == 0x30 { startA += 1 }
            while startB < j - 1 && b[startB] == 0x30 { startB += 1 }
            if i - startA != j - startB { return i - startA < j - startB }
            if let k = (0 ..< i - startA).first(where: { a[startA + $0] != b[startB + $0] }) {
                return a[startA + k] < b[startB + k]
            }
        }
        if i < a.count || j < b.count { return i == a.count }
        return a.lexicographicallyPrecedes(b)
    }
}

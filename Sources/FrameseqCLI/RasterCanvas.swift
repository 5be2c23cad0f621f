import FrameSequencing

/// An 8-bit RGB colour.
struct Colour: Equatable {
    var red: UInt8, green: UInt8, blue: UInt8

    static let white = Colour(red: 255, green: 255, blue: 255)

    /// The colour of a CSS hex colour, `#0072B2` (as ``ChartSeries`` holds them).
    ///
    /// Traps on anything but `#` and six hex digits: the charts' colours are
    /// the package's own constants, so another form is a bug here.
    init(hex: String) {
        let digits = hex.dropFirst()
        guard hex.first == "#", digits.count == 6, let value = UInt32(digits, radix: 16) else {
            preconditionFailure("'\(hex)' is not a #rrggbb colour")
        }
        self.init(red: UInt8(value >> 16), green: UInt8(value >> 8 & 0xFF), blue: UInt8(value & 0xFF))
    }

    init(red: UInt8, green: UInt8, blue: UInt8) {
        (self.red, self.green, self.blue) = (red, green, blue)
    }
}

/// A picture drawn pixel by pixel: filled rectangles, lines of any width,
/// solid or dashed, filled discs and text in ``BitmapFont``, for charts
/// written as PNG with nothing but this package (``RasterChart``).
///
/// Coordinates are pixels from the top-left corner, x to the right and y
/// down; pixel (i, j) covers the square from (i, j) to (i + 1, j + 1), so its
/// centre is at (i + 0.5, j + 0.5), as in SVG. Shapes are not anti-aliased: a
/// pixel takes the colour when its centre is inside the shape. Drawing lands
/// only inside ``clip`` (the whole canvas unless narrowed).
struct RasterCanvas {
    let width: Int
    let height: Int
    /// (height, width, 3) samples: row 0 left to right, red, green, blue.
    private(set) var pixels: [UInt8]
    /// The columns and rows drawing may change; kept inside the canvas.
    var clip: (x: Range<Int>, y: Range<Int>) {
        didSet { clip = (clip.x.clamped(to: 0 ..< width), clip.y.clamped(to: 0 ..< height)) }
    }

    /// A `width` x `height` canvas filled with `background`.
    init(width: Int, height: Int, background: Colour = .white) {
        precondition(width > 0 && height > 0, "a canvas needs pixels, not \(width) x \(height)")
        (self.width, self.height) = (width, height)
        pixels = [UInt8](repeating: 0, count: width * height * 3)
        clip = (0 ..< width, 0 ..< height)
        fill(x: 0 ..< width, y: 0 ..< height, background)
    }

    /// The colour of pixel (`x`, `y`); traps outside the canvas.
    subscript(x: Int, y: Int) -> Colour {
        precondition((0 ..< width).contains(x) && (0 ..< height).contains(y), "pixel (\(x), \(y)) is outside the canvas")
        let at = (y * width + x) * 3
        return Colour(red: pixels[at], green: pixels[at + 1], blue: pixels[at + 2])
    }

    /// Paints the pixels of columns `x` and rows `y` that are inside ``clip``.
    mutating func fill(x: Range<Int>, y: Range<Int>, _ colour: Colour) {
        for row in y.clamped(to: clip.y) {
            for column in x.clamped(to: clip.x) {
                let at = (row * width + column) * 3
                (pixels[at], pixels[at + 1], pixels[at + 2]) = (colour.red, colour.green, colour.blue)
            }
        }
    }

    /// A line through `points` in order, `width` pixels thick (a square pen:
    /// a horizontal line at y covers the `width` rows whose centres lie in
    /// y - width/2 ..< y + width/2), dashed when `dashes` holds lengths of
    /// dash, gap, dash, ... in pixels, the pattern running on across the
    /// corners. Fewer than two points draw nothing.
    mutating func line(through points: [(x: Double, y: Double)], _ colour: Colour, width: Double = 2, dashes: [Double] = []) {
        let period = dashes.reduce(0, +)
        var travelled = 0.0
        for (from, to) in zip(points, points.dropFirst()) {
            let length = ((to.x - from.x) * (to.x - from.x) + (to.y - from.y) * (to.y - from.y)).squareRoot()
            // Four pen positions a pixel leave no gaps at any slope.
            let count = max(1, Int((length * 4).rounded(.up)))
            for index in 0 ... count {
                let t = Double(index) / Double(count)
                if period > 0, !Self.isDash(at: travelled + t * length, dashes, period: period) { continue }
                square(centre: (from.x + t * (to.x - from.x), from.y + t * (to.y - from.y)), side: width, colour)
            }
            travelled += length
        }
    }

    /// Whether `distance` along a line falls on a dash (even entries of `dashes`) rather than a gap.
    private static func isDash(at distance: Double, _ dashes: [Double], period: Double) -> Bool {
        var phase = distance.truncatingRemainder(dividingBy: period)
        for (index, length) in dashes.enumerated() {
            if phase < length { return index % 2 == 0 }
            phase -= length
        }
        return false
    }

    /// The pixels whose centres lie in the `side` x `side` square around `centre`.
    private mutating func square(centre: (x: Double, y: Double), side: Double, _ colour: Colour) {
        func span(_ middle: Double) -> Range<Int> {
            let low = Int((middle - side / 2 - 0.5).rounded(.up)), high = Int((middle + side / 2 - 0.5).rounded(.up))
            return low ..< max(low, high)
        }
        fill(x: span(centre.x), y: span(centre.y), colour)
    }

    /// The pixels whose centres lie within `radius` of `centre`.
    mutating func disc(centre: (x: Double, y: Double), radius: Double, _ colour: Colour) {
        let rows = Int((centre.y - radius).rounded(.down)) ... Int((centre.y + radius).rounded(.up))
        let columns = Int((centre.x - radius).rounded(.down)) ... Int((centre.x + radius).rounded(.up))
        for row in rows {
            for column in columns {
                let (dx, dy) = (Double(column) + 0.5 - centre.x, Double(row) + 0.5 - centre.y)
                if dx * dx + dy * dy <= radius * radius { fill(x: column ..< column + 1, y: row ..< row + 1, colour) }
            }
        }
    }

    /// `text` in ``BitmapFont``, each font pixel a `scale` x `scale` square,
    /// its first glyph's top-left corner at (`x`, `y`); one line, left to right.
    mutating func text(_ text: String, x: Int, y: Int, _ colour: Colour, scale: Int = 2) {
        for (index, character) in text.enumerated() {
            let left = x + index * BitmapFont.advance * scale
            for (row, bits) in BitmapFont.glyph(character).enumerated() {
                for column in 0 ..< BitmapFont.glyphWidth where bits >> (BitmapFont.glyphWidth - 1 - column) & 1 == 1 {
                    fill(x: left + column * scale ..< left + (column + 1) * scale, y: y + row * scale ..< y + (row + 1) * scale, colour)
                }
            }
        }
    }

    /// The canvas as an RGB image, for ``PNG/write(_:to:)``.
    func image() throws -> ByteImage {
        try ByteImage(shape: FrameShape(height: height, width: width, channels: 3), pixels: pixels)
    }
}

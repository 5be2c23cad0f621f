import FrameSequencing

/// The demo's built-in image time series: digits drawn from a 5 x 7 bitmap
/// font (``BitmapFont``) moving in straight lines across a dark square frame
/// and bouncing off its edges, in the spirit of Moving MNIST. Seeded: the same
/// seed gives the same frames.
///
/// Sizes scale with the frame: a font pixel is `size / 32` pixels (at least 2;
/// 10 x 14-pixel digits with 2-pixel strokes at 64 x 64, 120 x 168 at 785 x 785),
/// and each digit keeps its velocity, one or two half font pixels a frame on
/// each axis (1 or 2 pixels at 64, 12 or 24 at 785), until it bounces. So the next frame follows from the last few: what a
/// forecaster can learn and what repeating the last frame (persistence) cannot.
/// With 3 channels each digit has its own seeded colour (overlaps take the
/// brighter value per channel).
struct MovingDigits {
    let size: Int
    let digitCount: Int
    let seed: UInt64
    var channels = 1

    /// The font's (``BitmapFont``), which the charts' labels use too.
    static let glyphWidth = BitmapFont.glyphWidth, glyphHeight = BitmapFont.glyphHeight

    /// Frame pixels per font pixel.
    var scale: Int { max(2, size / 32) }
    /// Pixels per frame of the slower speed (the faster is twice this).
    var speed: Int { max(1, scale / 2) }

    /// `count` frames (count, size, size, channels) as pixels: 0 (background) and
    /// up to 255 (strokes; 255 in every channel of a grey series).
    func pixels(count: Int) throws -> [UInt8] {
        let side = Self.glyphWidth * scale, tall = Self.glyphHeight * scale
        guard size >= tall + 4 else {
            throw CLIError.usage("frames of \(size) pixels are too small for \(tall)-pixel digits (at least \(tall + 4))")
        }
        guard channels == 1 || channels == 3 else {
            throw CLIError.usage("moving digits have 1 (grey) or 3 (colour) channels, not \(channels)")
        }
        var generator = SeededGenerator(seed: seed)
        struct Mover { var digit, x, y, dx, dy: Int; var colour: [UInt8] }
        var digits: [Int] = []
        while digits.count < digitCount {   // distinct digits while there are enough
            let digit = generator.next(below: 10)
            if !digits.contains(digit) || digitCount > 10 { digits.append(digit) }
        }
        var movers = digits.map { digit in
            Mover(digit: digit,
                  x: generator.next(below: size - side + 1), y: generator.next(below: size - tall + 1),
                  dx: speed * (1 + generator.next(below: 2)) * (generator.next(below: 2) == 0 ? -1 : 1),
                  dy: speed * (1 + generator.next(below: 2)) * (generator.next(below: 2) == 0 ? -1 : 1),
                  colour: [255])
        }
        if channels == 3 {
            // Drawn after the grey series' draws, so a grey series does not depend on it.
            for index in movers.indices {
                movers[index].colour = (0 ..< 3).map { _ in UInt8(96 + generator.next(below: 160)) }
                movers[index].colour[generator.next(below: 3)] = 255      // one full channel: every digit is bright
            }
        }
        let frameSize = size * size * channels
        var bytes = [UInt8](repeating: 0, count: count * frameSize)
        for frame in 0 ..< count {
            for mover in movers {
                let glyph = BitmapFont.glyph(Character(String(mover.digit)))
                for row in 0 ..< tall {
                    let bits = glyph[row / scale]
                    for column in 0 ..< side where bits & (1 << (Self.glyphWidth - 1 - column / scale)) != 0 {
                        let at = frame * frameSize + ((mover.y + row) * size + mover.x + column) * channels
                        for c in 0 ..< channels { bytes[at + c] = max(bytes[at + c], mover.colour[c % mover.colour.count]) }
                    }
                }
            }
            for index in movers.indices {
                if !(0 ... size - side).contains(movers[index].x + movers[index].dx) { movers[index].dx.negate() }
                if !(0 ... size - tall).contains(movers[index].y + movers[index].dy) { movers[index].dy.negate() }
                movers[index].x += movers[index].dx
                movers[index].y += movers[index].dy
            }
        }
        return bytes
    }

    /// `count` independent sequences of `length` frames, one after another
    /// (count * length, size, size, channels) as pixels: sequence `i` of draw
    /// `draw` has digits, places and velocities of its own, seeded by this
    /// generator's seed, the draw and `i`. A new draw is a new set of
    /// sequences, as OpenSTL's Moving MNIST training set is drawn afresh every
    /// epoch; the same draw is the same pixels.
    func sequences(count: Int, length: Int, draw: UInt64) throws -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count * length * size * size * channels)
        for index in 0 ..< count {
            let one = MovingDigits(size: size, digitCount: digitCount, seed: Self.sequenceSeed(seed, draw: draw, index: index),
                                   channels: channels)
            bytes += try one.pixels(count: length)
        }
        return bytes
    }

    /// The seed of sequence `index` of `draw` (SplitMix64's finalizer over the three).
    static func sequenceSeed(_ seed: UInt64, draw: UInt64, index: Int) -> UInt64 {
        var z = seed &+ 0x9E37_79B9_7F4A_7C15 &* (draw &+ 1) &+ 0xBF58_476D_1CE4_E5B9 &* UInt64(index + 1)
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// The same frames with values 0...1.
    func frames(count: Int) throws -> FrameStack {
        try FrameStack(stacked: try pixels(count: count),
                       frameShape: FrameShape(height: size, width: size, channels: channels), scale: 1.0 / 255)
    }
}

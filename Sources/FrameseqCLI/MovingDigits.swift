import FrameSequencing

/// The demo's built-in image time series: digits drawn from a 5 x 7 bitmap
/// font at twice its size (10 x 14 pixels, strokes 2 pixels wide) moving in
/// straight lines across a dark square frame and bouncing off its edges, in
/// the spirit of Moving MNIST. Seeded: the same seed gives the same frames.
///
/// Each digit keeps its velocity (1 or 2 pixels a frame on each axis) until it
/// bounces, so the next frame follows from the last few: what a forecaster can
/// learn and what repeating the last frame (persistence) cannot.
struct MovingDigits {
    let size: Int
    let digitCount: Int
    let seed: UInt64

    static let glyphWidth = 5, glyphHeight = 7, scale = 2

    /// `count` frames (count, size, size, 1) as pixels: 0 (background) and 255 (stroke).
    func pixels(count: Int) throws -> [UInt8] {
        let side = Self.glyphWidth * Self.scale, tall = Self.glyphHeight * Self.scale
        guard size >= tall + 4 else {
            throw CLIError.usage("frames of \(size) pixels are too small for \(tall)-pixel digits (at least \(tall + 4))")
        }
        var generator = SeededGenerator(seed: seed)
        struct Mover { var digit, x, y, dx, dy: Int }
        var digits: [Int] = []
        while digits.count < digitCount {   // distinct digits while there are enough
            let digit = generator.next(below: 10)
            if !digits.contains(digit) || digitCount > 10 { digits.append(digit) }
        }
        var movers = digits.map { digit in
            Mover(digit: digit,
                  x: generator.next(below: size - side + 1), y: generator.next(below: size - tall + 1),
                  dx: (1 + generator.next(below: 2)) * (generator.next(below: 2) == 0 ? -1 : 1),
                  dy: (1 + generator.next(below: 2)) * (generator.next(below: 2) == 0 ? -1 : 1))
        }
        let frameSize = size * size
        var bytes = [UInt8](repeating: 0, count: count * frameSize)
        for frame in 0 ..< count {
            for mover in movers {
                let glyph = Self.glyphs[mover.digit]
                for row in 0 ..< tall {
                    let bits = glyph[row / Self.scale]
                    for column in 0 ..< side where bits & (1 << (Self.glyphWidth - 1 - column / Self.scale)) != 0 {
                        bytes[frame * frameSize + (mover.y + row) * size + mover.x + column] = 255
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

    /// The same frames with values 0 and 1.
    func frames(count: Int) throws -> FrameStack {
        try FrameStack(stacked: try pixels(count: count), frameShape: FrameShape(height: size, width: size, channels: 1),
                       scale: 1.0 / 255)
    }

    /// The digits 0-9, one 5-bit row pattern per line (most significant bit left).
    static let glyphs: [[UInt8]] = [
        [0b01110, 0b10001, 0b10011, 0b10101, 0b11001, 0b10001, 0b01110],   // 0
        [0b00100, 0b01100, 0b00100, 0b00100, 0b00100, 0b00100, 0b01110],   // 1
        [0b01110, 0b10001, 0b00001, 0b00010, 0b00100, 0b01000, 0b11111],   // 2
        [0b11111, 0b00010, 0b00100, 0b00010, 0b00001, 0b10001, 0b01110],   // 3
        [0b00010, 0b00110, 0b01010, 0b10010, 0b11111, 0b00010, 0b00010],   // 4
        [0b11111, 0b10000, 0b11110, 0b00001, 0b00001, 0b10001, 0b01110],   // 5
        [0b00110, 0b01000, 0b10000, 0b11110, 0b10001, 0b10001, 0b01110],   // 6
        [0b11111, 0b00001, 0b00010, 0b00100, 0b01000, 0b01000, 0b01000],   // 7
        [0b01110, 0b10001, 0b10001, 0b01110, 0b10001, 0b10001, 0b01110],   // 8
        [0b01110, 0b10001, 0b10001, 0b01111, 0b00001, 0b00010, 0b01100],   // 9
    ]
}

import FrameSequencingCore

/// A JSON value (RFC 8259) as read from a safetensors header.
///
/// Objects keep their keys in source order and numbers keep their text, so a
/// reader can refuse `1.0` or `1e3` where an integer is meant and can tell values
/// above 2^53 apart exactly (Foundation's parser rounds them through `Double`).
indirect enum JSONValue {
    case object([(key: String, value: JSONValue)])
    case array([JSONValue])
    case string(String)
    /// The number's text, valid JSON number syntax.
    case number(String)
    case boolean(Bool)
    case null

    /// The value as a non-negative integer that fits in `Int`, or `nil`.
    var nonNegativeInteger: Int? {
        guard case .number(let text) = self, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return Int(text)
    }

    /// A short description for error messages ("a string", "the number 1.5").
    var summary: String {
        switch self {
        case .object: return "an object"
        case .array: return "an array"
        case .string(let text): return "the string \"\(text.prefix(40))\""
        case .number(let text): return "the number \(text.prefix(40))"
        case .boolean(let value): return "\(value)"
        case .null: return "null"
        }
    }
}

/// A strict recursive-descent JSON parser over UTF-8 bytes.
///
/// Refuses (with `malformedFile` naming `path` and the byte position) invalid
/// UTF-8, anything beyond one value surrounded by whitespace, duplicate keys in an
/// object, unescaped control characters, lone surrogate escapes and nesting deeper
/// than ``maximumDepth``. Runs in time linear in the input and never traps.
struct JSONParser {
    /// Nesting deeper than this is refused (a safetensors header needs 3 levels).
    static let maximumDepth = 64

    private let bytes: [UInt8]
    private let path: String
    private var position = 0

    /// The single JSON value in `bytes`.
    static func parse(_ bytes: [UInt8], path: String) throws -> JSONValue {
        var parser = JSONParser(bytes: bytes, path: path)
        guard String(validating: bytes, as: UTF8.self) != nil else { throw parser.failure("the text is not valid UTF-8") }
        let value = try parser.value(depth: 1)
        parser.skipWhitespace()
        guard parser.position == bytes.count else { throw parser.failure("text follows the JSON value") }
        return value
    }

    private mutating func value(depth: Int) throws -> JSONValue {
        guard depth <= JSONParser.maximumDepth else { throw failure("values are nested too deeply") }
        skipWhitespace()
        guard let byte = peek() else { throw failure("the text ends where a value was expected") }
        switch byte {
        case UInt8(ascii: "{"): return try object(depth: depth)
        case UInt8(ascii: "["):
            position += 1
            var items: [JSONValue] = []
            skipWhitespace()
            if consume(UInt8(ascii: "]")) { return .array(items) }
            repeat { items.append(try value(depth: depth + 1)); skipWhitespace() } while consume(UInt8(ascii: ","))
            try expect(UInt8(ascii: "]"))
            return .array(items)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "-"), UInt8(ascii: "0") ... UInt8(ascii: "9"): return .number(try number())
        case UInt8(ascii: "t"): try literal("true"); return .boolean(true)
        case UInt8(ascii: "f"): try literal("false"); return .boolean(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        default: throw failure("unexpected character \(printable(byte))")
        }
    }

    private mutating func object(depth: Int) throws -> JSONValue {
        position += 1
        var entries: [(key: String, value: JSONValue)] = []
        var seen = Set<String>()
        skipWhitespace()
        if consume(UInt8(ascii: "}")) { return .object(entries) }
        repeat {
            skipWhitespace()
            guard peek() == UInt8(ascii: "\"") else { throw failure("an object key is not a string") }
            let key = try string()
            guard seen.insert(key).inserted else { throw failure("the key \"\(key.prefix(80))\" appears twice in one object") }
            skipWhitespace()
            try expect(UInt8(ascii: ":"))
            entries.append((key, try value(depth: depth + 1)))
            skipWhitespace()
        } while consume(UInt8(ascii: ","))
        try expect(UInt8(ascii: "}"))
        return .object(entries)
    }

    private mutating func string() throws -> String {
        position += 1
        var scalars = String.UnicodeScalarView()
        var runStart = position
        while let byte = peek() {
            switch byte {
            case UInt8(ascii: "\""):
                scalars.append(contentsOf: String(decoding: bytes[runStart ..< position], as: UTF8.self).unicodeScalars)
                position += 1
                return String(scalars)
            case UInt8(ascii: "\\"):
                scalars.append(contentsOf: String(decoding: bytes[runStart ..< position], as: UTF8.self).unicodeScalars)
                position += 1
                scalars.append(try escape())
                runStart = position
            case 0x00 ..< 0x20: throw failure("a string holds the unescaped control character \(printable(byte))")
            default: position += 1
            }
        }
        throw failure("a string is not closed")
    }

    /// The character of the escape after a backslash, including `\uXXXX` pairs.
    private mutating func escape() throws -> Unicode.Scalar {
        guard let byte = peek() else { throw failure("a string ends inside an escape") }
        position += 1
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): return Unicode.Scalar(byte)
        case UInt8(ascii: "b"): return "\u{08}"
        case UInt8(ascii: "f"): return "\u{0C}"
        case UInt8(ascii: "n"): return "\n"
        case UInt8(ascii: "r"): return "\r"
        case UInt8(ascii: "t"): return "\t"
        case UInt8(ascii: "u"):
            let high = try hex4()
            if (0xD800 ..< 0xDC00).contains(high), consume(UInt8(ascii: "\\")), consume(UInt8(ascii: "u")) {
                let low = try hex4()
                if (0xDC00 ..< 0xE000).contains(low), let scalar = Unicode.Scalar(0x10000 + (high - 0xD800) << 10 + (low - 0xDC00)) {
                    return scalar
                }
            } else if let scalar = Unicode.Scalar(high) {
                return scalar
            }
            throw failure("a \\u escape is a lone surrogate")
        default: throw failure("a string holds the invalid escape \\\(printable(byte))")
        }
    }

    private mutating func hex4() throws -> UInt32 {
        var value: UInt32 = 0
        for _ in 0 ..< 4 {
            guard let byte = peek(), let digit = hexDigitValue(byte) else { throw failure("a \\u escape needs 4 hex digits") }
            value = value << 4 | digit
            position += 1
        }
        return value
    }

    /// The text of a number with JSON syntax: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    private mutating func number() throws -> String {
        let start = position
        _ = consume(UInt8(ascii: "-"))
        if !consume(UInt8(ascii: "0")) { try digits() }
        if consume(UInt8(ascii: ".")) { try digits() }
        if consume(UInt8(ascii: "e")) || consume(UInt8(ascii: "E")) {
            if !consume(UInt8(ascii: "+")) { _ = consume(UInt8(ascii: "-")) }
            try digits()
        }
        return String(decoding: bytes[start ..< position], as: UTF8.self)
    }

    private mutating func digits() throws {
        let start = position
        while let byte = peek(), byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") { position += 1 }
        guard position > start else { throw failure("a number is missing digits") }
    }

    private mutating func literal(_ word: String) throws {
        for expected in word.utf8 {
            guard consume(expected) else { throw failure("expected the literal \(word)") }
        }
    }

    private func hexDigitValue(_ byte: UInt8) -> UInt32? {
        switch byte {
        case UInt8(ascii: "0") ... UInt8(ascii: "9"): return UInt32(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a") ... UInt8(ascii: "f"): return UInt32(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A") ... UInt8(ascii: "F"): return UInt32(byte - UInt8(ascii: "A") + 10)
        default: return nil
        }
    }

    private func peek() -> UInt8? { position < bytes.count ? bytes[position] : nil }

    private mutating func consume(_ byte: UInt8) -> Bool {
        guard peek() == byte else { return false }
        position += 1
        return true
    }

    private mutating func expect(_ byte: UInt8) throws {
        guard consume(byte) else {
            throw failure("expected '\(Unicode.Scalar(byte))' but found " + (peek().map(printable) ?? "the end of the text"))
        }
    }

    private mutating func skipWhitespace() {
        while let byte = peek(), byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { position += 1 }
    }

    private func failure(_ reason: String) -> FrameSequencingError {
        .malformedFile(path: path, reason: "its JSON header is not valid: \(reason) (at header byte \(position))")
    }
}

/// A byte for an error message: `'x'` when printable ASCII, else `0xNN`.
func printable(_ byte: UInt8) -> String {
    (0x21 ... 0x7E).contains(byte) ? "'\(Unicode.Scalar(byte))'" : "0x" + String(byte, radix: 16, uppercase: true)
}

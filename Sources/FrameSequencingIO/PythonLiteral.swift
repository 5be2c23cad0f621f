import FrameSequencingCore

/// A value of the small Python literal grammar used by NPY headers.
///
/// NPY headers are written with Python's `repr` and read by numpy with
/// `ast.literal_eval`; this is the subset that can appear in them. Python's rule
/// that `(3)` is the integer 3 and only `(3,)` is a tuple is kept, so a header
/// numpy would refuse is refused here too.
indirect enum PythonLiteral: Equatable {
    case string(String)
    /// An integer and its source text; the value is `nil` when it does not fit in `Int`.
    case integer(Int?, text: String)
    /// A numeric literal that is not a plain integer (`3.0`, `1e3`, `0x10`, `1_000`).
    case otherNumber(String)
    case boolean(Bool)
    case none
    case tuple([PythonLiteral])
    case list([PythonLiteral])

    /// The value as Python would print it, for error messages.
    var description: String {
        switch self {
        case .string(let text): return "'\(text)'"
        case .integer(_, let text), .otherNumber(let text): return text
        case .boolean(let value): return value ? "True" : "False"
        case .none: return "None"
        case .tuple(let items): return "(" + items.map(\.description).joined(separator: ", ") + (items.count == 1 ? ",)" : ")")
        case .list(let items): return "[" + items.map(\.description).joined(separator: ", ") + "]"
        }
    }
}

/// A recursive-descent parser for one Python dict literal with string keys, as
/// found in an NPY header: `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }`.
///
/// Keys may come in any order and use single or double quotes; trailing commas
/// are accepted in the dict, tuples and lists; whitespace (including the padding
/// and final newline of NPY headers) is skipped. Every failure, including input
/// nested deeper than ``maximumDepth``, throws `malformedFile`; the parser reads
/// each byte at most a constant number of times and never traps.
struct PythonLiteralParser {
    /// Nesting deeper than this is refused (an NPY header needs at most 3 levels).
    static let maximumDepth = 16

    private let bytes: [UInt8]
    private let path: String
    private var position = 0

    /// The entries of the dict literal in `bytes`, in source order. Throws
    /// `malformedFile` naming `path` for anything but one dict with string keys
    /// (duplicate keys included), optionally surrounded by whitespace.
    static func parseDictionary(_ bytes: [UInt8], path: String) throws -> [(key: String, value: PythonLiteral)] {
        var parser = PythonLiteralParser(bytes: bytes, path: path)
        parser.skipWhitespace()
        try parser.expect(UInt8(ascii: "{"))
        var entries: [(key: String, value: PythonLiteral)] = []
        var seen = Set<String>()
        while true {
            parser.skipWhitespace()
            if parser.consume(UInt8(ascii: "}")) { break }
            guard case .string(let key) = try parser.value(depth: 1) else { throw parser.failure("a dict key is not a string") }
            guard seen.insert(key).inserted else { throw parser.failure("the key '\(key.prefix(80))' appears twice") }
            parser.skipWhitespace()
            try parser.expect(UInt8(ascii: ":"))
            entries.append((key, try parser.value(depth: 1)))
            parser.skipWhitespace()
            if parser.consume(UInt8(ascii: "}")) { break }
            try parser.expect(UInt8(ascii: ","), orClosing: UInt8(ascii: "}"))
        }
        parser.skipWhitespace()
        guard parser.position == bytes.count else { throw parser.failure("text follows the closing '}'") }
        return entries
    }

    private mutating func value(depth: Int) throws -> PythonLiteral {
        guard depth <= PythonLiteralParser.maximumDepth else { throw failure("values are nested too deeply") }
        skipWhitespace()
        guard let byte = peek() else { throw failure("the header ends where a value was expected") }
        switch byte {
        case UInt8(ascii: "'"), UInt8(ascii: "\""): return .string(try string(quote: byte))
        case UInt8(ascii: "("): return try sequence(closing: UInt8(ascii: ")"), depth: depth)
        case UInt8(ascii: "["): return try sequence(closing: UInt8(ascii: "]"), depth: depth)
        case UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "0") ... UInt8(ascii: "9"), UInt8(ascii: "."): return number()
        case UInt8(ascii: "A") ... UInt8(ascii: "Z"), UInt8(ascii: "a") ... UInt8(ascii: "z"), UInt8(ascii: "_"):
            let name = word()
            switch name {
            case "True": return .boolean(true)
            case "False": return .boolean(false)
            case "None": return .none
            default: throw failure("'\(name)' is not a literal")
            }
        default:
            throw failure("unexpected character \(printable(byte))")
        }
    }

    /// A tuple or list; `(x)` without a comma is `x` itself, as in Python.
    private mutating func sequence(closing: UInt8, depth: Int) throws -> PythonLiteral {
        position += 1
        var items: [PythonLiteral] = []
        var sawComma = false
        while true {
            skipWhitespace()
            if consume(closing) { break }
            items.append(try value(depth: depth + 1))
            skipWhitespace()
            if consume(closing) { break }
            try expect(UInt8(ascii: ","), orClosing: closing)
            sawComma = true
        }
        if closing == UInt8(ascii: "]") { return .list(items) }
        return (items.count == 1 && !sawComma) ? items[0] : .tuple(items)
    }

    /// A quoted string; `\\`, `\'`, `\"`, `\n`, `\t` and `\r` are unescaped and other
    /// escapes are kept as written (no NPY field a reader accepts contains them).
    private mutating func string(quote: UInt8) throws -> String {
        position += 1
        var text: [UInt8] = []
        while let byte = peek() {
            position += 1
            if byte == quote { return String(decoding: text, as: UTF8.self) }
            if byte == UInt8(ascii: "\n") { break }
            guard byte == UInt8(ascii: "\\"), let escaped = peek() else { text.append(byte); continue }
            position += 1
            switch escaped {
            case UInt8(ascii: "n"): text.append(UInt8(ascii: "\n"))
            case UInt8(ascii: "t"): text.append(UInt8(ascii: "\t"))
            case UInt8(ascii: "r"): text.append(UInt8(ascii: "\r"))
            case UInt8(ascii: "\\"), UInt8(ascii: "'"), UInt8(ascii: "\""): text.append(escaped)
            default: text.append(contentsOf: [byte, escaped])
            }
        }
        throw failure("a string is not closed")
    }

    /// An integer (optional sign, digits, an optional Python 2 `L` suffix as old
    /// numpy wrote), or any other numeric token kept as text.
    private mutating func number() -> PythonLiteral {
        let start = position
        if peek() == UInt8(ascii: "-") || peek() == UInt8(ascii: "+") { position += 1 }
        while let byte = peek(), isWordByte(byte) || byte == UInt8(ascii: ".") { position += 1 }
        let text = String(decoding: bytes[start ..< position], as: UTF8.self)
        var digits = Substring(text)
        let negative = digits.first == "-"
        if digits.first == "-" || digits.first == "+" { digits = digits.dropFirst() }
        if digits.last == "L" || digits.last == "l" { digits = digits.dropLast() }
        guard !digits.isEmpty, digits.allSatisfy({ $0 >= "0" && $0 <= "9" }),
              digits.count == 1 || digits.first != "0"
        else { return .otherNumber(text) }
        guard let magnitude = Int(digits) else { return .integer(nil, text: text) }
        return .integer(negative ? -magnitude : magnitude, text: text)
    }

    private mutating func word() -> String {
        let start = position
        while let byte = peek(), isWordByte(byte) { position += 1 }
        return String(decoding: bytes[start ..< position], as: UTF8.self)
    }

    private func isWordByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0") ... UInt8(ascii: "9"), UInt8(ascii: "A") ... UInt8(ascii: "Z"),
             UInt8(ascii: "a") ... UInt8(ascii: "z"), UInt8(ascii: "_"): return true
        default: return false
        }
    }

    private func peek() -> UInt8? { position < bytes.count ? bytes[position] : nil }

    private mutating func consume(_ byte: UInt8) -> Bool {
        guard peek() == byte else { return false }
        position += 1
        return true
    }

    /// Consumes `byte`, or throws naming it (and `closing`, the other byte that
    /// was acceptable at this point) and what was found instead.
    private mutating func expect(_ byte: UInt8, orClosing closing: UInt8? = nil) throws {
        guard consume(byte) else {
            let found = peek().map(printable) ?? "the end of the header"
            let expected = "'\(Unicode.Scalar(byte))'" + (closing.map { " or '\(Unicode.Scalar($0))'" } ?? "")
            throw failure("expected \(expected) but found \(found)")
        }
    }

    private mutating func skipWhitespace() {
        while let byte = peek(), byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 || byte == 0x0C {
            position += 1
        }
    }

    private func failure(_ reason: String) -> FrameSequencingError {
        .malformedFile(path: path, reason: "its header dict is not valid: \(reason) (at header byte \(position))")
    }
}

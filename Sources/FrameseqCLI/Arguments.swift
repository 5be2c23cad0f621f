import Foundation

/// A command line's options after the subcommand: `--name value` pairs and
/// `--flag`s, each read at most once by name, so that anything left unread at
/// the end is reported as unknown instead of silently ignored.
struct Arguments {
    private var values: [String: String] = [:]
    private var flags: Set<String> = []
    private var read: Set<String> = []

    /// Parses `arguments`; `flagNames` take no value, every other `--name` takes one.
    init(_ arguments: [String], flagNames: Set<String>) throws {
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            guard argument.hasPrefix("--"), argument.count > 2 else {
                throw CLIError.usage("unexpected argument '\(argument)' (options start with --)")
            }
            var name = String(argument.dropFirst(2))
            var inline: String?
            if let equals = name.firstIndex(of: "=") {
                inline = String(name[name.index(after: equals)...])
                name = String(name[..<equals])
            }
            if flagNames.contains(name) {
                guard inline == nil else { throw CLIError.usage("--\(name) takes no value") }
                flags.insert(name)
                index += 1
                continue
            }
            guard values[name] == nil else { throw CLIError.usage("--\(name) is given twice") }
            if let inline {
                values[name] = inline
                index += 1
            } else {
                guard index + 1 < arguments.count, !arguments[index + 1].hasPrefix("--") else {
                    throw CLIError.usage("--\(name) needs a value")
                }
                values[name] = arguments[index + 1]
                index += 2
            }
        }
    }

    mutating func flag(_ name: String) -> Bool {
        read.insert(name)
        return flags.contains(name)
    }

    mutating func string(_ name: String) -> String? {
        read.insert(name)
        return values[name]
    }

    /// An integer option within `range` (`fallback` when absent).
    mutating func integer(_ name: String, default fallback: Int, in range: ClosedRange<Int>) throws -> Int {
        guard let text = string(name) else { return fallback }
        guard let value = Int(text), range.contains(value) else {
            throw CLIError.usage("--\(name) expects a whole number in \(range.lowerBound)...\(range.upperBound), got '\(text)'")
        }
        return value
    }

    /// A number option within `range` (`fallback` when absent).
    mutating func number(_ name: String, default fallback: Double, in range: ClosedRange<Double>) throws -> Double {
        guard let text = string(name) else { return fallback }
        guard let value = Double(text), value.isFinite, range.contains(value) else {
            throw CLIError.usage("--\(name) expects a number in \(range.lowerBound)...\(range.upperBound), got '\(text)'")
        }
        return value
    }

    /// A comma-separated list of positive integers, such as `--filters 16,32`.
    mutating func integerList(_ name: String, default fallback: [Int], maximum: Int) throws -> [Int] {
        guard let text = string(name) else { return fallback }
        let parts = text.split(separator: ",", omittingEmptySubsequences: false)
        let values = parts.compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !parts.isEmpty, values.count == parts.count, values.allSatisfy({ (1 ... maximum).contains($0) }) else {
            throw CLIError.usage("--\(name) expects comma-separated whole numbers in 1...\(maximum), got '\(text)'")
        }
        return values
    }

    /// Every option and flag given, read or not.
    var given: Set<String> { Set(values.keys).union(flags) }

    /// Throws for any option given but never read: a typo must not be ignored.
    func requireAllRead() throws {
        let unknown = (Set(values.keys).union(flags)).subtracting(read).sorted()
        if let first = unknown.first {
            throw CLIError.usage("unknown option --\(first) (see --help)")
        }
    }
}

/// What the command line reports: a usage problem (exit 2) or a failed job (exit 1).
enum CLIError: Error, CustomStringConvertible {
    case usage(String)
    case failed(String)

    var description: String {
        switch self {
        case .usage(let message), .failed(let message): return message
        }
    }
}

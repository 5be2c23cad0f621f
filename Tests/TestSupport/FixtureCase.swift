import Foundation
import FrameSequencing

/// One reference fixture file (`../shared/FIXTURES.md`): its tensors and JSON
/// metadata, recording which tensors a checker read so that none is passed over.
public final class FixtureCase {
    public let suite: String
    public let name: String
    public let path: String
    public let file: SafeTensors
    public private(set) var consumed = Set<String>()

    public init(suite: String, path: String) throws {
        self.suite = suite
        self.path = path
        self.name = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        self.file = try SafeTensors.read(contentsOf: path)
    }

    /// Tensor `name` as Float32, or an error naming the file.
    public func tensor(_ name: String) throws -> Tensor {
        guard let array = file[name] else { throw FixtureError.missingTensor(path, name) }
        consumed.insert(name)
        return try array.tensor()
    }

    /// Tensor `name` in its stored type.
    public func array(_ name: String) throws -> NumericArray {
        guard let array = file[name] else { throw FixtureError.missingTensor(path, name) }
        consumed.insert(name)
        return array
    }

    public func has(_ name: String) -> Bool { file[name] != nil }

    /// Tensors in the file that no checker read.
    public var unconsumed: [String] { file.names.filter { !consumed.contains($0) } }

    /// Metadata value `key` decoded as JSON; a bare string is accepted where a JSON
    /// string is meant. `nil` for a missing key or JSON `null`.
    public func metadata(_ key: String) throws -> Any? {
        guard let text = file.metadata[key] else { return nil }
        guard let data = text.data(using: .utf8),
              let value = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        else { return text }
        return value is NSNull ? nil : value
    }

    public func int(_ key: String) throws -> Int? {
        guard let value = try metadata(key) else { return nil }
        if let number = value as? NSNumber { return number.intValue }
        if let text = value as? String, let number = Int(text) { return number }
        throw FixtureError.badMetadata(path, key, "\(value)")
    }

    public func requiredInt(_ key: String) throws -> Int {
        guard let value = try int(key) else { throw FixtureError.badMetadata(path, key, "missing") }
        return value
    }

    public func float(_ key: String) throws -> Float? {
        guard let value = try metadata(key) else { return nil }
        if let number = value as? NSNumber { return number.floatValue }
        if let text = value as? String, let number = Float(text) { return number }
        throw FixtureError.badMetadata(path, key, "\(value)")
    }

    public func string(_ key: String) throws -> String? {
        guard let value = try metadata(key) else { return nil }
        if let text = value as? String { return text }
        throw FixtureError.badMetadata(path, key, "\(value)")
    }
}

public enum FixtureError: Error, CustomStringConvertible {
    case missingTensor(String, String)
    case badMetadata(String, String, String)
    case wrongShape(String, String, expected: [Int], actual: [Int])

    public var description: String {
        switch self {
        case let .missingTensor(path, name): return "\(path): tensor '\(name)' is missing"
        case let .badMetadata(path, key, value): return "\(path): metadata '\(key)' is invalid (\(value))"
        case let .wrongShape(path, name, expected, actual): return "\(path): tensor '\(name)' has shape \(actual), expected \(expected)"
        }
    }
}

/// The fixtures folder: `$FIXTURES_DIR` when set, else `Fixtures/` at the package root.
public func fixturesDirectory() -> String {
    if let custom = ProcessInfo.processInfo.environment["FIXTURES_DIR"], !custom.isEmpty { return custom }
    // This file is <root>/Tests/TestSupport/FixtureCase.swift.
    return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures").path
}

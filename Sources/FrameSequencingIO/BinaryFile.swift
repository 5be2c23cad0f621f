import FrameSequencingCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// All POSIX file access of the module: reading exact byte ranges of a file into
// buffers the caller preallocated (so array data is read once, straight into the
// array that keeps it), and replacing a file atomically. Readers see a file and an
// in-memory byte array through one protocol, so a format has one decoding path.

/// Bytes that can be read by position: an open file or an array in memory.
protocol ByteSource {
    /// The file path, or a label such as `"<memory>"`, for error messages.
    var name: String { get }
    /// The total number of bytes.
    var byteCount: Int { get }
    /// Fills all of `buffer` with the bytes at `offset ..< offset + buffer.count`.
    /// Throws `truncatedFile` when they are not all there.
    func read(at offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws
}

extension ByteSource {
    /// The `count` bytes at `offset` as a new array.
    func bytes(at offset: Int, count: Int) throws -> [UInt8] {
        guard count > 0 else { return [] }   // see `readElements`: the shared empty storage
        return try [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            try read(at: offset, into: UnsafeMutableRawBufferPointer(buffer))
            initialized = count
        }
    }

    func requireRange(_ offset: Int, _ count: Int) throws {
        let (end, overflow) = offset.addingReportingOverflow(count)
        guard offset >= 0, count >= 0, !overflow, end <= byteCount else {
            throw FrameSequencingError.truncatedFile(
                path: name, expectedBytes: overflow ? Int.max : end, actualBytes: byteCount)
        }
    }
}

/// A byte array in memory, for the `decode` functions.
struct MemoryBytes: ByteSource {
    let bytes: [UInt8]
    let name: String

    var byteCount: Int { bytes.count }

    func read(at offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws {
        try requireRange(offset, buffer.count)
        guard buffer.count > 0 else { return }
        bytes.withUnsafeBytes { source in
            buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[offset ..< offset + buffer.count]))
        }
    }
}

/// A regular file open for reading; valid only inside ``withFile(_:_:)``.
struct ReadableFile: ByteSource {
    let name: String
    let byteCount: Int
    private let descriptor: Int32

    /// Opens `path`, checks that it is a regular file, records its size with
    /// `fstat`, calls `body` and closes the file whatever happens.
    static func withFile<R>(_ path: String, _ body: (ReadableFile) throws -> R) throws -> R {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw fileSystemError(path, "open") }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw fileSystemError(path, "inspect") }
        guard (status.st_mode & S_IFMT) == S_IFREG else {
            throw FrameSequencingError.fileSystem(path: path, operation: "read", reason: "it is not a regular file")
        }
        return try body(ReadableFile(name: path, byteCount: Int(status.st_size), descriptor: descriptor))
    }

    /// The whole of the regular file at `path`, its size checked against
    /// `limits` before anything is allocated.
    static func contents(of path: String, limits: FileReadLimits) throws -> [UInt8] {
        try withFile(path) { file in
            try limits.check(file.byteCount, for: "The file '\(path)'")
            return try file.bytes(at: 0, count: file.byteCount)
        }
    }

    func read(at offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws {
        try requireRange(offset, buffer.count)
        var done = 0
        while done < buffer.count {
            let result = pread(descriptor, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
            if result < 0 {
                if errno == EINTR { continue }
                throw fileSystemError(name, "read")
            }
            // The file shrank after fstat (another process truncated it).
            guard result > 0 else {
                throw FrameSequencingError.truncatedFile(
                    path: name, expectedBytes: offset + buffer.count, actualBytes: offset + done)
            }
            done += result
        }
    }
}

/// An open temporary file being written by ``writeAtomically(to:_:)``.
struct WritableFile {
    fileprivate let descriptor: Int32
    /// The destination path, for error messages.
    let path: String

    /// Writes all of `bytes`, retrying short writes and interrupted calls.
    func write(_ bytes: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < bytes.count {
            let result = posixWrite(descriptor, bytes.baseAddress! + done, bytes.count - done)
            if result < 0 {
                if errno == EINTR { continue }
                throw fileSystemError(path, "write")
            }
            done += result
        }
    }

    func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }
}

/// Writes `chunks` one after the other to `path`, atomically (see the closure form).
func writeAtomically(to path: String, _ chunks: [UInt8]...) throws {
    try writeAtomically(to: path) { file in
        for chunk in chunks { try file.write(chunk) }
    }
}

/// Replaces `path` with what `body` writes, so that `path` always holds either its
/// old content or the complete new content, never a partial file.
///
/// `body` writes to a new temporary file beside `path` (same directory, so the
/// rename cannot cross file systems, and a unique name opened with `O_EXCL`); the
/// file is then flushed to disk with `fsync` and renamed over `path`, and the
/// directory is synced so the rename itself survives a crash. On any failure the
/// temporary file is removed and the error is thrown: `fileSystem` for a failed
/// system call, or whatever `body` threw.
func writeAtomically(to path: String, _ body: (WritableFile) throws -> Void) throws {
    let directory = directoryName(of: path)
    // The name is cut so the temporary name stays within NAME_MAX (255 bytes).
    var baseName = path.split(separator: "/", omittingEmptySubsequences: false).last ?? ""
    while baseName.utf8.count > 100 { baseName = baseName.dropLast() }
    var temporaryPath = ""
    var descriptor: Int32 = -1
    for _ in 0 ..< 8 {
        temporaryPath = "\(directory)/.\(baseName).\(getpid())-\(UInt64.random(in: 0 ... .max)).tmp"
        descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
        if descriptor >= 0 || errno != EEXIST { break }
    }
    guard descriptor >= 0 else { throw fileSystemError(path, "create a temporary file beside") }

    var renamed = false
    defer {
        if descriptor >= 0 { close(descriptor) }
        if !renamed { unlink(temporaryPath) }
    }
    try body(WritableFile(descriptor: descriptor, path: path))
    guard fsync(descriptor) == 0 else { throw fileSystemError(path, "flush to disk") }
    let closed = close(descriptor)
    descriptor = -1
    guard closed == 0 else { throw fileSystemError(path, "close") }
    guard rename(temporaryPath, path) == 0 else { throw fileSystemError(path, "replace") }
    renamed = true
    syncDirectory(directory)
}

/// The names in directory `path`, without `.` and `..`, in no particular order.
///
/// Throws `fileSystem` when the directory cannot be opened or read.
func directoryEntries(_ path: String) throws -> [String] {
    guard let directory = opendir(path) else { throw fileSystemError(path, "open the directory") }
    defer { closedir(directory) }
    var names: [String] = []
    while true {
        errno = 0
        guard let entry = readdir(directory) else {
            if errno != 0 { throw fileSystemError(path, "list the directory") }
            return names
        }
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        if name != "." && name != ".." { names.append(name) }
    }
}

/// The directory part of `path`: `"."` for a bare name, `"/"` for a file at the root.
func directoryName(of path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    return slash == path.startIndex ? "/" : String(path[..<slash])
}

/// Best-effort `fsync` of a directory so a completed rename is durable; failure
/// only weakens durability after a crash, never the atomicity of the rename.
private func syncDirectory(_ directory: String) {
    let descriptor = open(directory, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else { return }
    _ = fsync(descriptor)
    close(descriptor)
}

/// The C `write`, which `WritableFile.write` would otherwise shadow.
private func posixWrite(_ descriptor: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    write(descriptor, bytes, count)
}

/// `fileSystem` for the failed call that set `errno`.
private func fileSystemError(_ path: String, _ operation: String) -> FrameSequencingError {
    let code = errno
    return FrameSequencingError.fileSystem(
        path: path, operation: operation, reason: String(cString: strerror(code)) + " (errno \(code))")
}

/// Checks a byte count declared by a header against what is actually there.
///
/// Throws `truncatedFile` when fewer bytes are `available` than `declared`
/// (positions counted from the start of the file, so the error names real file
/// sizes), and `malformedFile` when more are: bytes after the data usually mean the
/// header describes a different array than the one written.
func requireExactSize(declaredEnd: Int, fileSize: Int, path: String, what: String) throws {
    if declaredEnd > fileSize {
        throw FrameSequencingError.truncatedFile(path: path, expectedBytes: declaredEnd, actualBytes: fileSize)
    }
    if declaredEnd < fileSize {
        throw FrameSequencingError.malformedFile(
            path: path,
            reason: "\(fileSize - declaredEnd) bytes follow \(what), which ends at byte \(declaredEnd); "
                + "the header does not describe all of the file")
    }
}

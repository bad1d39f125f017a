#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The timelines of the rows the text report will show (`--timeline`, `--anomalies`), kept from
/// the moment each connection finishes until the report is written.
///
/// Why a file: the report puts the totals first, so nothing can be written before the run ends,
/// and with `--limit 0` every connection's row is shown: kept in memory, its lines grew with the
/// file (96 bytes a line, tens of lines a connection). Up to `memoryBound` lines are held in
/// memory (small reports never touch a disk); past it, each finishing connection's lines are
/// appended to an unlinked temporary file (`$TMPDIR`, else /tmp) and only where they are is
/// kept (16 bytes a connection), read back one connection at a time as the report is written.
///
/// Lines are written as their own bytes: `TimelineEntry` holds no reference (`_isPOD`, pinned in
/// a test), and the file is read back by the process that wrote it. When no temporary file can be
/// made or written (a full disk), lines stay in memory: the report is still whole.
public struct HeldTimelines: Sendable {
    public typealias Entry = TextReportSink.TimelineEntry

    private var inMemory: [UInt64: [Entry]] = [:]
    private var inMemoryCount = 0
    /// A spilled connection's lines: where the first is, in lines, and how many.
    private struct Span: Sendable {
        var first: Int64
        var count: Int
    }
    private var spilled: [UInt64: Span] = [:]
    private var file: SpillFile?
    /// False once making or writing the file failed: everything is then held in memory.
    private var canSpill = _isPOD(Entry.self)
    /// Lines held in memory before later ones go to the file.
    public let memoryBound: Int
    /// 65,536 lines: 6 MiB, more than `--timeline` of the 50 rows shown by default ever holds.
    public static let defaultMemoryBound = 1 << 16

    /// Where the temporary file goes (nil: `$TMPDIR`, else /tmp).
    private let directory: String?

    public init(memoryBound: Int, directory: String? = nil) {
        self.memoryBound = max(0, memoryBound)
        self.directory = directory
    }

    /// Connections with lines held, in memory or in the file.
    public var count: Int { inMemory.count + spilled.count }
    /// The connections with lines held.
    public var ids: [UInt64] { Array(inMemory.keys) + Array(spilled.keys) }
    /// Whether any line went to the temporary file.
    public var spills: Bool { !spilled.isEmpty }
    /// Spilled connections whose lines could not be read back (the CLI reports it as an error:
    /// never a timeline silently shorter).
    public var readFailures: Int { file?.readFailures ?? 0 }

    public mutating func keep(_ entries: [Entry], for id: UInt64) {
        guard !entries.isEmpty else { return }
        if canSpill && inMemoryCount + entries.count > memoryBound {
            if file == nil { file = SpillFile.make(in: directory) }
            if let file, let first = file.append(entries) {
                spilled[id] = Span(first: first, count: entries.count)
                return
            }
            canSpill = false
        }
        inMemory[id] = entries
        inMemoryCount += entries.count
    }

    /// Forgets a connection's lines (its row was displaced). Lines already in the file stay
    /// there unread: with a limit the rows displaced are few, and the file goes with the run.
    public mutating func drop(_ id: UInt64) {
        if let gone = inMemory.removeValue(forKey: id) { inMemoryCount -= gone.count }
        spilled.removeValue(forKey: id)
    }

    /// A connection's lines, in the order they were reported (empty: none held).
    public func entries(of id: UInt64) -> [Entry] {
        if let held = inMemory[id] { return held }
        guard let span = spilled[id], let file else { return [] }
        return file.read(first: span.first, count: span.count) ?? []
    }
}

/// An unlinked temporary file of timeline lines, closed when the last copy of the report goes.
private final class SpillFile: @unchecked Sendable {
    private let fd: Int32
    /// Lines written so far.
    private var lines: Int64 = 0
    private(set) var readFailures = 0
    private static let stride = Int64(MemoryLayout<HeldTimelines.Entry>.stride)

    private init(fd: Int32) { self.fd = fd }
    deinit { close(fd) }

    static func make(in directory: String?) -> SpillFile? {
        var dir = directory ?? getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        if dir.isEmpty { dir = "/tmp" }
        var template = Array((dir + "/wirestate-timelines-XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { return nil }
        // Unlinked at once: nothing is left behind, whatever ends the run.
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        return SpillFile(fd: fd)
    }

    /// Appends the lines; returns the position of the first, or nil if they could not all be written.
    func append(_ entries: [HeldTimelines.Entry]) -> Int64? {
        let first = lines
        let ok = entries.withUnsafeBytes { raw -> Bool in
            var offset = 0
            while offset < raw.count {
                let n = pwrite(fd, raw.baseAddress! + offset, raw.count - offset, off_t(first * Self.stride) + off_t(offset))
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return false }
                offset += n
            }
            return true
        }
        guard ok else { return nil }
        lines += Int64(entries.count)
        return first
    }

    func read(first: Int64, count: Int) -> [HeldTimelines.Entry]? {
        var complete = true
        let entries = [HeldTimelines.Entry](unsafeUninitializedCapacity: count) { buffer, initialized in
            let raw = UnsafeMutableRawBufferPointer(buffer)
            var offset = 0
            while offset < raw.count {
                let n = pread(fd, raw.baseAddress! + offset, raw.count - offset, off_t(first * Self.stride) + off_t(offset))
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                offset += n
            }
            complete = offset == raw.count
            // The lines are plain bytes (`_isPOD`): all of them or none count as made.
            initialized = complete ? count : 0
        }
        if !complete { readFailures += 1 }
        return complete ? entries : nil
    }
}

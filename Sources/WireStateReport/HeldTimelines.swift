#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The timelines of the rows the text report will show (`--timeline`, `--anomalies`): the lines
/// of connections still open, and of finished ones until the report is written.
///
/// Why a file: the report puts the totals first, so nothing can be written before the run ends,
/// and with `--limit 0` every connection's row is shown: kept in memory, its lines grew with the
/// file (96 bytes a line, tens of lines a connection), and the open connections' lines with the
/// connections open at once (34,000 in the benchmark's 1M packets: 62 MB). Up to `memoryBound`
/// lines of finished connections are held in memory (small reports never touch a disk), and as
/// many of open ones (`TextReportSink`); past them, lines are appended to an unlinked temporary
/// file (`$TMPDIR`, else /tmp) and only where they are is kept, read back one connection at a time
/// as the report is written.
///
/// The file is a sequence of chunks, each a 16-byte header (the byte offset of the same
/// connection's chunk before it, -1 for none; its line count) and the lines. A connection's lines
/// may be spread over several chunks (an open connection's first lines go out when the open ones
/// hold too many), so what is kept is its last chunk and its line count (`Chain`).
///
/// Lines are written as their own bytes: `TimelineEntry` holds no reference (`_isPOD`, pinned in
/// a test), and the file is read back by the process that wrote it. When no temporary file can be
/// made or written (a full disk), lines stay in memory: the report is still whole.
public struct HeldTimelines: Sendable {
    public typealias Entry = TextReportSink.TimelineEntry

    /// Where a connection's lines in the file are: its last chunk, and how many lines in all.
    public struct Chain: Sendable, Equatable {
        var last: Int64
        public internal(set) var lines: Int
    }

    private var inMemory: [UInt64: [Entry]] = [:]
    private var inMemoryCount = 0
    private var spilled: [UInt64: Chain] = [:]
    private var file: SpillFile?
    /// False once making or writing the file failed: everything is then held in memory.
    public private(set) var canSpill = _isPOD(Entry.self)
    /// Lines of finished connections held in memory before later ones go to the file (and, in
    /// `TextReportSink`, lines of open connections).
    public let memoryBound: Int
    /// 65,536 lines: 6 MiB, more than `--timeline` of the 50 rows shown by default ever holds.
    public static let defaultMemoryBound = 1 << 16

    /// Where the temporary file goes (nil: `$TMPDIR`, else /tmp).
    private let directory: String?

    public init(memoryBound: Int, directory: String? = nil) {
        self.memoryBound = max(0, memoryBound)
        self.directory = directory
    }

    /// The connections with lines held, in memory or in the file.
    public var ids: [UInt64] { Array(Set(inMemory.keys).union(spilled.keys)) }
    public var count: Int { ids.count }
    /// Whether any line went to the temporary file.
    public var spills: Bool { file != nil && !spilled.isEmpty }
    /// Spilled connections whose lines could not be read back (the CLI reports it as an error:
    /// never a timeline silently shorter).
    public var readFailures: Int { file?.readFailures ?? 0 }

    /// Appends `entries` to the file after the chunks of `chain` (nil: the first of a connection).
    /// Nil when no file can take them (then nothing more is tried: they stay in memory).
    public mutating func spill(_ entries: [Entry], after chain: Chain?) -> Chain? {
        guard canSpill, !entries.isEmpty else { return entries.isEmpty ? chain : nil }
        if file == nil { file = SpillFile.make(in: directory) }
        guard let file, let at = file.append(entries, after: chain?.last ?? -1) else {
            canSpill = false
            return nil
        }
        return Chain(last: at, lines: (chain?.lines ?? 0) + entries.count)
    }

    /// Keeps a finished connection's lines: `chain` those it already has in the file, `entries`
    /// the rest.
    public mutating func keep(_ entries: [Entry], after chain: Chain? = nil, for id: UInt64) {
        if let chain {
            // Its first lines are in the file: the rest follows them there if it can.
            if let whole = spill(entries, after: chain) {
                spilled[id] = whole
                return
            }
            spilled[id] = chain
        } else {
            guard !entries.isEmpty else { return }
            if inMemoryCount + entries.count > memoryBound, let whole = spill(entries, after: nil) {
                spilled[id] = whole
                return
            }
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

    /// A connection's lines, in the order they were reported (empty: none held): those in the
    /// file first, then any kept in memory after a write failed.
    public func entries(of id: UInt64) -> [Entry] {
        let held = inMemory[id] ?? []
        guard let chain = spilled[id], let file else { return held }
        return (file.read(chain) ?? []) + held
    }
}

/// An unlinked temporary file of timeline chunks, closed when the last copy of the report goes.
private final class SpillFile: @unchecked Sendable {
    private let fd: Int32
    /// Bytes written so far.
    private var end: Int64 = 0
    private(set) var readFailures = 0
    private static let stride = MemoryLayout<HeldTimelines.Entry>.stride
    private static let headerSize = 16

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

    /// Appends a chunk: its header (`previous`, the count) and the lines. Returns where the chunk
    /// begins, or nil if it could not all be written.
    func append(_ entries: [HeldTimelines.Entry], after previous: Int64) -> Int64? {
        let at = end
        var header: (Int64, Int64) = (previous, Int64(entries.count))
        let ok =
            withUnsafeBytes(of: &header) { Self.write(fd, $0, at: at) }
            && entries.withUnsafeBytes { Self.write(fd, $0, at: at + Int64(Self.headerSize)) }
        guard ok else { return nil }
        end = at + Int64(Self.headerSize + entries.count * Self.stride)
        return at
    }

    /// A chain's lines in order: its chunks are found from the last, each naming the one before.
    func read(_ chain: HeldTimelines.Chain) -> [HeldTimelines.Entry]? {
        var chunks: [(at: Int64, count: Int)] = []
        var at = chain.last
        var lines = 0
        // Each chunk has a line at least: more chunks than lines is a damaged chain.
        while at >= 0 && chunks.count < chain.lines {
            var header: (Int64, Int64) = (0, 0)
            guard withUnsafeMutableBytes(of: &header, { Self.read(fd, $0, at: at) }), header.1 > 0, header.0 < at else { break }
            chunks.append((at + Int64(Self.headerSize), Int(header.1)))
            lines += Int(header.1)
            at = header.0
        }
        guard at < 0, lines == chain.lines else {
            readFailures += 1
            return nil
        }
        var complete = true
        let entries = [HeldTimelines.Entry](unsafeUninitializedCapacity: lines) { buffer, initialized in
            let raw = UnsafeMutableRawBufferPointer(buffer)
            var offset = 0
            for chunk in chunks.reversed() {
                let bytes = chunk.count * Self.stride
                guard Self.read(fd, UnsafeMutableRawBufferPointer(rebasing: raw[offset..<offset + bytes]), at: chunk.at) else {
                    complete = false
                    break
                }
                offset += bytes
            }
            // The lines are plain bytes (`_isPOD`): all of them or none count as made.
            initialized = complete ? lines : 0
        }
        if !complete { readFailures += 1 }
        return complete ? entries : nil
    }

    private static func write(_ fd: Int32, _ raw: UnsafeRawBufferPointer, at position: Int64) -> Bool {
        transfer(raw.count, at: position) { done, at in pwrite(fd, raw.baseAddress! + done, raw.count - done, at) }
    }

    private static func read(_ fd: Int32, _ raw: UnsafeMutableRawBufferPointer, at position: Int64) -> Bool {
        transfer(raw.count, at: position) { done, at in pread(fd, raw.baseAddress! + done, raw.count - done, at) }
    }

    /// Moves `count` bytes at `position` with `io` (handed the bytes done and where the next
    /// begin), until all are moved, retrying an interrupted call; false on an error or end of file.
    private static func transfer(_ count: Int, at position: Int64, _ io: (Int, off_t) -> Int) -> Bool {
        var done = 0
        while done < count {
            let n = io(done, off_t(position) + off_t(done))
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return false }
            done += n
        }
        return true
    }
}

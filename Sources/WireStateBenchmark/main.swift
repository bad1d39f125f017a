// wirestate-bench: how fast and how lean the pipeline is, measured against baselines in the same run.
//
//   swift run -c release wirestate-bench [--connections N] [--keep FILE]
//
// It builds a large capture from the real loopback recordings in Captures/ (each conversation
// copied with a fresh 4-tuple, connections overlapping, one starting every 200 µs of capture time),
// then times on that one file:
//   baseline  libpcap reading every frame and nothing else
//   decode    + link/IP/TCP decoding
//   track     + the two-machine tracker (events dropped)
//   analyze   + the analyze report's collector (what `wirestate analyze --quiet` does)
//   tshark    `tshark -r FILE -q -Y tcp.analysis.flags` and `-z conv,tcp`, when tshark is installed
// and prints packets per second and ratios. Memory: peak table size and peak RSS for the same
// connection rate at 1× and 4× the input length (flat memory means the ratio stays near 1).
#if canImport(Glibc)
    import Glibc
#endif
import Foundation
import WireStateCapture
import WireStateDecoder
import WireStatePipeline
import WireStateReport
import WireStateTracker

struct Options {
    var connections = 200_000
    var keep: String?
    /// Run one phase once on an existing file (`--keep FILE`) and exit: for profilers.
    var phase: String?
    /// Only the flood figures (no capture is built).
    var floodsOnly = false
    init(_ args: [String]) {
        var i = 1
        while i < args.count {
            switch args[i] {
            case "--connections": i += 1; connections = Int(args[i]) ?? connections
            case "--keep": i += 1; keep = args[i]
            case "--phase": i += 1; phase = args[i]
            case "--floods": floodsOnly = true
            default:
                print("usage: wirestate-bench [--connections N] [--keep FILE] [--phase read|decode|track|analyze] [--floods]")
                exit(args[i] == "--help" ? 0 : 2)
            }
            i += 1
        }
    }
}

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

func peakRSSMiB() -> Double {
    var u = rusage()
    getrusage(RUSAGE_SELF.rawValue, &u)
    return Double(u.ru_maxrss) / 1024
}

/// Current resident set size, from /proc (peak RSS never goes down, so phases need this).
func currentRSSMiB() -> Double {
    guard let s = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let pages = Double(s.split(separator: " ")[1]) ?? 0
    return pages * Double(sysconf(Int32(_SC_PAGESIZE))) / 1_048_576
}

/// A recorded conversation: its Ethernet frames and their time offsets.
struct Template {
    var frames: [[UInt8]]
    var offsets: [Int64]
    var clientPort: UInt16
}

func loadTemplates(_ dir: String) throws -> [Template] {
    var out: [Template] = []
    for name in ["client-close", "server-close", "abort-rst", "refused"] {
        let file = try PcapFile(path: "\(dir)/\(name).pcap")
        var frames: [[UInt8]] = [], offsets: [Int64] = [], first: Int64?
        var clientPort: UInt16 = 0
        while let f = try file.next() {
            if first == nil {
                first = f.timestampNanos
                clientPort = UInt16(f.bytes[34]) << 8 | UInt16(f.bytes[35])
            }
            frames.append(Array(f.bytes))
            offsets.append(f.timestampNanos - first!)
        }
        out.append(Template(frames: frames, offsets: offsets, clientPort: clientPort))
    }
    return out
}

/// Writes a classic pcap (nanosecond magic, Ethernet) with `count` connections made from the templates.
func synthesize(_ templates: [Template], count: Int, path: String, spacing: Int64 = 200_000) throws -> Int {
    guard let fp = fopen(path, "wb") else { throw CocoaError(.fileWriteNoPermission) }
    defer { fclose(fp) }
    var header = [UInt8](repeating: 0, count: 24)
    func le32(_ v: UInt32, _ a: inout [UInt8], _ o: Int) { for k in 0..<4 { a[o + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(k))) } }
    le32(0xa1b23c4d, &header, 0); header[4] = 2; header[6] = 4; le32(262144, &header, 16); le32(1, &header, 20)
    fwrite(header, 1, 24, fp)
    // Interleave: connection i starts at i × 200 µs; frames are merged in time order through a small heap.
    struct Pending: Comparable {
        var time: Int64; var conn: Int; var frame: Int
        static func < (a: Pending, b: Pending) -> Bool { (a.time, a.conn) < (b.time, b.conn) }
    }
    var heap: [Pending] = []
    func push(_ p: Pending) {
        heap.append(p); var i = heap.count - 1
        while i > 0 { let parent = (i - 1) / 2; if heap[i] < heap[parent] { heap.swapAt(i, parent); i = parent } else { break } }
    }
    func pop() -> Pending {
        let top = heap[0]; heap[0] = heap[heap.count - 1]; heap.removeLast(); var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1; var m = i
            if l < heap.count && heap[l] < heap[m] { m = l }; if r < heap.count && heap[r] < heap[m] { m = r }
            if m == i { break }; heap.swapAt(i, m); i = m
        }
        return top
    }
    let base: Int64 = 1_700_000_000_000_000_000
    var next = 0, written = 0
    var record = [UInt8](repeating: 0, count: 16 + 2048)
    while next < count || !heap.isEmpty {
        if next < count && (heap.isEmpty || base + Int64(next) * spacing <= heap[0].time) {
            push(Pending(time: base + Int64(next) * spacing, conn: next, frame: 0)); next += 1; continue
        }
        let p = pop()
        let t = templates[p.conn % templates.count]
        let bytes = t.frames[p.frame]
        // A fresh 4-tuple per connection: client 10.a.b.c, port from the connection number.
        let host = UInt32(p.conn / 50_000), port = UInt16(10_000 + p.conn % 50_000)
        let clientIP: [UInt8] = [10, UInt8(truncatingIfNeeded: host >> 16), UInt8(truncatingIfNeeded: host >> 8), UInt8(truncatingIfNeeded: host)]
        var frame = bytes
        let fromClient = (UInt16(frame[34]) << 8 | UInt16(frame[35])) == t.clientPort
        let ipOff = fromClient ? 26 : 30, portOff = fromClient ? 34 : 36
        for k in 0..<4 { frame[ipOff + k] = clientIP[k] }
        frame[portOff] = UInt8(port >> 8); frame[portOff + 1] = UInt8(port & 0xff)
        let ts = p.time
        le32(UInt32(ts / 1_000_000_000), &record, 0); le32(UInt32(ts % 1_000_000_000), &record, 4)
        le32(UInt32(frame.count), &record, 8); le32(UInt32(frame.count), &record, 12)
        for k in 0..<frame.count { record[16 + k] = frame[k] }
        fwrite(record, 1, 16 + frame.count, fp)
        written += 1
        if p.frame + 1 < t.frames.count {
            push(Pending(time: base + Int64(p.conn) * spacing + t.offsets[p.frame + 1], conn: p.conn, frame: p.frame + 1))
        }
    }
    return written
}

struct NullSink: EventSink {
    var events = 0
    mutating func consume(_ event: TrackerEvent) { events &+= 1 }
}

/// Tracks with a sink that watches the table size, for the memory figures.
struct PeakSink: EventSink {
    var finished = 0
    mutating func consume(_ event: TrackerEvent) { if case .finished = event { finished += 1 } }
}

func timeIt(_ body: () throws -> Void) rethrows -> Double {
    let t0 = now(); try body(); return now() - t0
}

// Subcommands for scripts/benchmark.py, which times whole processes against a C libpcap floor.
if CommandLine.arguments.count > 1, CommandLine.arguments[1] == "generate" {
    Subcommands.generate(Array(CommandLine.arguments.dropFirst(2)))
}
if CommandLine.arguments.count > 1, CommandLine.arguments[1] == "layout" {
    Subcommands.layout()
}
let options = Options(CommandLine.arguments)
if options.floodsOnly { Floods.run(); exit(0) }
let captures =
    FileManager.default.fileExists(atPath: "Captures")
    ? "Captures"
    : URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Captures").path
let templates = try loadTemplates(captures)
let path = options.keep ?? NSTemporaryDirectory() + "wirestate-bench-\(getpid()).pcap"
if let phase = options.phase, let keep = options.keep, FileManager.default.fileExists(atPath: keep) {
    // Profiling mode: one phase, once, on the kept file.
    let f = try PcapFile(path: keep)
    switch phase {
    case "read": var n = 0; while let frame = try f.next() { n &+= frame.capturedLength }; print(n)
    case "decode":
        var d = PacketDecoder(linkType: .ethernet); var n = 0
        while let frame = try f.next() {
            var seg = TCPSegment.empty
            if case .tcp = d.decode(frame.bytes, wireLength: frame.wireLength, frame: frame.number, into: &seg) { n &+= Int(seg.window) }
        }
        print(n)
    case "track":
        var p = Pipeline(sink: NullSink()); p.run(f); p.finish(); print(p.sink.events)
    default:
        var p = Pipeline(sink: AnalysisCollector(keepTimeline: false)); p.run(f); p.finish(); print(p.sink.connections.count)
    }
    exit(0)
}
let packets = try synthesize(templates, count: options.connections, path: path)
let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
print("input: \(options.connections) connections, \(packets) packets, \(size / 1_048_576) MiB (\(path))")

func best(_ runs: Int = 3, _ body: () throws -> Void) rethrows -> Double {
    var b = Double.infinity
    for _ in 0..<runs { b = min(b, try timeIt(body)) }
    return b
}

var sinkCount = 0
let tRead = try best {
    let f = try PcapFile(path: path)
    var n = 0
    while let frame = try f.next() { n &+= frame.capturedLength }
    sinkCount &+= n
}
let tDecode = try best {
    let f = try PcapFile(path: path)
    var d = PacketDecoder(linkType: .ethernet)
    while let frame = try f.next() {
        if case .tcp(let s) = d.decode(frame.bytes, wireLength: frame.wireLength, frame: frame.number) { sinkCount &+= Int(s.window) }
    }
}
var trackedEvents = 0
let tTrack = try best {
    var p = Pipeline(sink: NullSink())
    p.run(try PcapFile(path: path))
    p.finish()
    trackedEvents = p.sink.events
}
var connectionsSeen = 0
let tAnalyze = try best(1) {
    var p = Pipeline(sink: TextReportSink(selection: ConnectionSelection()))
    p.run(try PcapFile(path: path))
    p.finish()
    connectionsSeen = p.sink.connections
    _ = TextReport(sink: p.sink, inputs: p.inputs).totals()
}

func rate(_ t: Double) -> String { Format.fixed(Double(packets) / t / 1e6, 2) + " Mpkt/s" }
func ratio(_ t: Double) -> String { Format.fixed(t / tRead, 2) + "×" }
print("")
print("phase      time      throughput      vs libpcap read")
print("baseline   \(Format.fixed(tRead, 3))s   \(rate(tRead))   1.00×")
print("decode     \(Format.fixed(tDecode, 3))s   \(rate(tDecode))   \(ratio(tDecode))")
print("track      \(Format.fixed(tTrack, 3))s   \(rate(tTrack))   \(ratio(tTrack))   (\(trackedEvents) events)")
print("analyze    \(Format.fixed(tAnalyze, 3))s   \(rate(tAnalyze))   \(ratio(tAnalyze))   (\(connectionsSeen) connections)")
print("per packet: tracking adds \(Format.fixed((tTrack - tDecode) / Double(packets) * 1e9, 1)) ns over decoding")

// tshark on the same file, if present. Plain `tshark -r FILE -q` does not dissect at all (with no
// filter and no tap it only counts frames), so it is no baseline for analysis. Two modes that do the
// work we do: `-Y tcp.analysis.flags` runs TCP dissection with sequence analysis (the analogue of
// our anomalies), `-z conv,tcp` builds the conversation table (the analogue of our table).
// One run each: tshark is several times slower, so noise does not change the conclusion.
if let tshark = ["/usr/bin/tshark", "/usr/local/bin/tshark"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) {
    for (label, extra) in [("tshark -Y tcp.analysis.flags", ["-Y", "tcp.analysis.flags"]), ("tshark -z conv,tcp", ["-z", "conv,tcp"])] {
        let t = try timeIt {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: tshark)
            p.arguments = ["-r", path, "-q"] + extra
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            p.waitUntilExit()
        }
        print("\(label): \(Format.fixed(t, 3))s   \(rate(t))   \(ratio(t))   → wirestate analyze is \(Format.fixed(t / tAnalyze, 1))× faster")
    }
} else {
    print("tshark     not installed (apt-get install tshark) — no comparison")
}

// Memory: same connection rate, 1× and 4× as long. With eviction, table size and RSS stay flat.
print("")
// One connection every 2 ms: at steady state the table holds about (60 s TIME_WAIT + 10 s linger)
// / 2 ms = 35,000 connections, reached after 70 s of capture time (35,000 connections). Both runs
// are past that, so a flat tracker shows the same peak for 1× and 4×.
print("memory (one connection per 2 ms of capture time; TIME_WAIT 60 s, closed linger 10 s):")
var rows: [(Int, Int, Double)] = []
for factor in [1, 4] {
    let n = max(options.connections, 50_000) * factor
    let p2 = NSTemporaryDirectory() + "wirestate-bench-mem-\(getpid()).pcap"
    _ = try synthesize(templates, count: n, path: p2, spacing: 2_000_000)
    let before = currentRSSMiB()
    var pipeline = Pipeline(sink: PeakSink())
    let f = try PcapFile(path: p2)
    var decoder = PacketDecoder(linkType: .ethernet)
    var peakTable = 0
    var peakRSS = before
    var count = 0
    while let frame = try f.next() {
        if case .tcp(let s) = decoder.decode(frame.bytes, wireLength: frame.wireLength, frame: frame.number) {
            pipeline.tracker.process(s, frame: FrameRef(number: frame.number), time: frame.timestampNanos)
            for e in pipeline.tracker.events { pipeline.sink.consume(e) }
            pipeline.tracker.events.removeAll(keepingCapacity: true)
        }
        count += 1
        if count % 65536 == 0 {
            peakTable = max(peakTable, pipeline.tracker.connectionCount)
            peakRSS = max(peakRSS, currentRSSMiB())
        }
    }
    unlink(p2)
    rows.append((n, peakTable, peakRSS - before))
    print("  \(n) connections: peak table \(peakTable) connections, RSS growth \(Format.fixed(peakRSS - before, 1)) MiB, finished \(pipeline.sink.finished)")
}
if rows.count == 2, rows[0].1 > 0 {
    print("  4× input → table \(Format.fixed(Double(rows[1].1) / Double(rows[0].1), 2))× (flat ≈ 1.0)")
}
if options.keep == nil { unlink(path) }
Floods.run()
print("peak RSS of the whole run: \(Format.fixed(peakRSSMiB(), 1)) MiB")

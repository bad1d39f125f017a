import Foundation
import Testing
import WireStateCapture
import WireStatePipeline
import WireStateReport
import WireStateTracker

/// The whole pipeline, through the real libpcap, on files no recorder would write: frames of real
/// conversations at extreme and backwards timestamps, wire lengths unrelated to captured lengths,
/// truncated and damaged bytes, under extreme tracker options. It must not trap, and what it
/// reports must stay self-consistent.
@Suite struct PipelinePropertyTests {
    struct Rng {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    }

    /// Every Ethernet frame of the committed loopback recordings (they are the realistic material).
    static let frames: [[UInt8]] = {
        var all: [[UInt8]] = []
        let dir = WireStateBinary.repo.appendingPathComponent("Captures")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        for name in names.sorted() where name.hasSuffix(".pcap") {
            guard let file = try? PcapFile(path: dir.appendingPathComponent(name).path), file.dataLinkType == 1 else { continue }
            while let f = try? file.next() { all.append(Array(f.bytes)) }
        }
        return all
    }()

    static func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xff), UInt8(v >> 8)] }
    static func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
    static func block(_ type: UInt32, _ body: [UInt8]) -> [UInt8] {
        let padded = body + [UInt8](repeating: 0, count: (4 - body.count % 4) % 4)
        let n = UInt32(12 + padded.count)
        return le32(type) + le32(n) + padded + le32(n)
    }

    /// A pcapng of `count` frames: two Ethernet interfaces (the second shifted by a huge negative
    /// if_tsoffset), timestamps from the whole 64-bit range mixed with small steps (also backwards),
    /// original lengths unrelated to captured ones, and some frames cut or with bytes flipped.
    static func crafted(seed: UInt64, count: Int) -> [UInt8] {
        var r = Rng(state: seed)
        var out = block(0x0A0D_0D0A, le32(0x1A2B_3C4D) + le16(1) + le16(0) + [UInt8](repeating: 0xff, count: 8))
        let resolution: [UInt8] = [9, 0, 0, 0]  // if_tsresol = 10⁻⁹ (option 9, length 1, padded)
        out += block(1, le16(1) + le16(0) + le32(65535) + le16(9) + le16(1) + resolution + le32(0))
        let offset = Int64.min / 2 + Int64(r.below(1000))
        let tsoffset = (0..<8).map { UInt8(truncatingIfNeeded: UInt64(bitPattern: offset) >> (8 * $0)) }
        out += block(1, le16(1) + le16(0) + le32(65535) + le16(9) + le16(1) + resolution + le16(14) + le16(8) + tsoffset + le32(0))
        var t: UInt64 = UInt64(r.below(1 << 40))
        for _ in 0..<count {
            var frame = frames[r.below(frames.count)]
            switch r.below(10) {
            case 0: frame = Array(frame.prefix(r.below(frame.count + 1)))  // cut anywhere
            case 1: if !frame.isEmpty { frame[r.below(frame.count)] ^= UInt8(truncatingIfNeeded: r.next() | 1) }  // a damaged byte
            default: break
            }
            switch r.below(8) {
            case 0: t = UInt64.max - UInt64(r.below(1000))  // the top of the range
            case 1: t = UInt64(r.below(1000))  // the bottom
            case 2: t = t &- UInt64(r.below(1 << 30))  // backwards
            default: t = t &+ UInt64(r.below(1 << 28))  // onwards
            }
            let interface = UInt32(r.below(2))
            let wire = UInt32(r.below(5) == 0 ? r.below(1 << 20) : frame.count)
            out += block(
                6,
                le32(interface) + le32(UInt32(truncatingIfNeeded: t >> 32)) + le32(UInt32(truncatingIfNeeded: t))
                    + le32(UInt32(frame.count)) + le32(wire) + frame)
        }
        return out
    }

    static let configurations: [ConnectionTracker.Configuration] = [
        .init(),
        .init(msl: 1, closedLinger: 0, idleTimeout: 1, maxConnections: 1),
        .init(
            msl: CaptureTime.maxDuration, closedLinger: CaptureTime.maxDuration, idleTimeout: CaptureTime.maxDuration,
            maxConnections: 3),
        .init(msl: .max, closedLinger: .max, idleTimeout: .max, maxConnections: nil)  // beyond any option: must still not trap
    ]

    @Test(arguments: 0..<8)
    func craftedFilesAreAnalysedConsistently(_ seed: Int) throws {
        try #require(!Self.frames.isEmpty, "the committed captures are the material")
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ws-property-\(getpid())-\(seed).pcapng").path
        defer { unlink(path) }
        try Data(Self.crafted(seed: UInt64(seed) &* 7919, count: 400)).write(to: URL(fileURLWithPath: path))
        for configuration in Self.configurations {
            let file = try PcapFile(path: path)
            var pipeline = Pipeline(configuration: configuration, sink: AnalysisCollector(keepTimeline: true))
            _ = pipeline.run(file)
            pipeline.finish()
            let c = pipeline.sink
            // Every connection seen is finished exactly once, and its counts add up.
            let ids = c.connections.map { "\($0.ref.id).\($0.ref.incarnation)" }
            #expect(Set(ids).count == ids.count, "seed \(seed): a connection finished twice")
            for s in c.connections {
                #expect(s.durationNanos >= 0 || s.lastTime < s.firstTime, "seed \(seed): duration sign")
                let reported = c.anomalies[s.ref.id]?.filter { $0.connection == s.ref }.count ?? 0
                #expect(Int(s.anomalyCount) == reported, "seed \(seed): anomaly count of \(s.ref.id)")
                #expect(s.packetsFromClient + s.packetsFromServer > 0 || s.endReason != nil)
            }
            let frames = pipeline.inputs.first?.counters.frames ?? 0
            #expect(frames == 400 || pipeline.inputs.first?.error != nil, "seed \(seed): every frame read")
            // The reports render without trapping, whatever the times, and the text report's
            // sink lets go of every open connection's events once it finishes.
            var all = ConnectionSelection()
            all.limit = nil
            var text = Pipeline(configuration: configuration, sink: TextReportSink(selection: all, timeline: true))
            _ = text.run(try PcapFile(path: path))
            text.finish()
            #expect(text.sink.pendingCount == 0, "seed \(seed): events held after their connection finished")
            #expect(text.sink.connections == c.connections.count)
            let report = TextReport(sink: text.sink, inputs: text.inputs)
            #expect(report.totals().hasPrefix("Totals: \(c.connections.count) connection"))
            _ = report.table() + report.timeline() + report.anomalyList()
            for s in c.connections { _ = JSONLinesWriter<DiscardingTextSink>.line(s) }
        }
    }
}

/// A text sink that keeps nothing (the writers' static line builders need a type).
struct DiscardingTextSink: TextSink {
    mutating func write(_ s: String) {}
    mutating func flush() {}
}

import Foundation
import Testing
import WireStateCapture
import WireStateDecoder

/// Decodes every fixture in Tests/Fixtures/decoder with libpcap + `PacketDecoder` and compares each
/// frame with tshark's independent dissection (the `.expected.tsv` beside it, made by make-fixtures.sh).
@Suite struct TsharkOracleTests {
    static let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/decoder")

    static let fixtures: [String] = {
        let all = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return all.filter { $0.hasSuffix(".expected.tsv") && !$0.hasPrefix("corrupt-") }
            .map { String($0.dropLast(".expected.tsv".count)) }.sorted()
    }()

    static func rows(_ name: String) throws -> [[String: String]] {
        let text = try String(contentsOf: dir.appendingPathComponent(name + ".expected.tsv"), encoding: .utf8)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        let header = lines.removeFirst().split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        return lines.map { line in
            let cells = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            var row: [String: String] = [:]
            for (i, h) in header.enumerated() { row[h] = i < cells.count ? cells[i] : "" }
            return row
        }
    }

    /// Every frame of a fixture, decoded.
    static func decodeAll(_ name: String) throws -> (results: [DecodeResult], counters: DecodeCounters, link: LinkType) {
        let pcapng = dir.appendingPathComponent(name + ".pcapng").path
        if FileManager.default.fileExists(atPath: pcapng) { return try decodePcapng(pcapng) }
        let file = try PcapFile(path: dir.appendingPathComponent(name + ".pcap").path)
        let link = try #require(LinkType(dlt: file.dataLinkType))
        var decoder = PacketDecoder(linkType: link)
        var out: [DecodeResult] = []
        while let f = try file.next() {
            out.append(decoder.decode(f.bytes, wireLength: f.wireLength, frame: f.number))
        }
        return (out, decoder.counters, link)
    }

    @Test func everyLinkTypeHasAFixture() throws {
        var seen = Set<LinkType>()
        for name in Self.fixtures where name != "unsupported-link" {
            seen.insert(try Self.decodeAll(name).link)
        }
        // Every link type the decoder supports (LOOP re-encapsulated: Linux cannot record it).
        #expect(seen == Set(LinkType.allCases))
    }

    @Test(arguments: fixtures.filter { $0 != "unsupported-link" })
    func framesMatchTshark(_ name: String) throws {
        let expected = try Self.rows(name)
        let (results, counters, _) = try Self.decodeAll(name)
        try #require(results.count == expected.count, "\(name): \(results.count) frames decoded, tshark saw \(expected.count)")
        var tcpFrames = 0
        for (row, result) in zip(expected, results) {
            let n = row["frame.number"]!
            let where_ = "\(name) frame \(n)"
            let laterFragment =
                (Int(row["ip.frag_offset"]!.split(separator: ",").first ?? "0") ?? 0) > 0
                || (Int(row["ipv6.fraghdr.offset"]!.split(separator: ",").first ?? "0") ?? 0) > 0
            guard !row["tcp.srcport"]!.isEmpty else {
                if laterFragment {
                    #expect(result == .skipped(.laterFragment), "\(where_): later fragment, got \(result)")
                } else if case .tcp = result {
                    Issue.record("\(where_): tshark saw no TCP, decoder returned a segment")
                }
                continue
            }
            guard case .tcp(let s) = result else {
                Issue.record("\(where_): tshark saw TCP, decoder returned \(result)")
                continue
            }
            tcpFrames += 1
            // The innermost IP header before TCP (tunnel fixtures carry outer ones too).
            let (src, dst) = Self.innermostAddresses(row)
            #expect(s.source.address == IPAddress(src), "\(where_): source")
            #expect(s.destination.address == IPAddress(dst), "\(where_): destination")
            #expect("\(s.source.port)" == row["tcp.srcport"], "\(where_): source port")
            #expect("\(s.destination.port)" == row["tcp.dstport"], "\(where_): destination port")
            #expect("\(s.sequence)" == row["tcp.seq_raw"], "\(where_): seq")
            #expect("\(s.acknowledgment)" == row["tcp.ack_raw"], "\(where_): ack")
            #expect("\(s.headerLength)" == row["tcp.hdr_len"], "\(where_): header length")
            let flags = UInt16(row["tcp.flags"]!.dropFirst(2), radix: 16)!
            #expect(s.flags.rawValue == flags & 0x1ff, "\(where_): flags \(s.flags.names)")
            #expect("\(s.window)" == row["tcp.window_size_value"], "\(where_): window")
            #expect("\(s.urgentPointer)" == row["tcp.urgent_pointer"], "\(where_): urgent pointer")
            if let len = row["tcp.len"], !len.isEmpty {
                #expect("\(s.payloadLength)" == len, "\(where_): payload length")
            } else {
                #expect(s.isFragment, "\(where_): tshark gives no length only for first fragments")
            }
            #expect(s.options.mss.map(String.init) ?? "" == row["tcp.options.mss_val"], "\(where_): MSS")
            #expect(s.options.windowScale.map(String.init) ?? "" == row["tcp.options.wscale.shift"], "\(where_): wscale")
            #expect(s.options.sackPermitted == !row["tcp.options.sack_perm"]!.isEmpty, "\(where_): SACK permitted")
            #expect(s.options.sackBlocks.map { "\($0.left)" }.joined(separator: ",") == row["tcp.options.sack_le"], "\(where_): SACK left edges")
            #expect(s.options.sackBlocks.map { "\($0.right)" }.joined(separator: ",") == row["tcp.options.sack_re"], "\(where_): SACK right edges")
            #expect(s.options.timestampValue.map(String.init) ?? "" == row["tcp.options.timestamp.tsval"], "\(where_): TSval")
            #expect(s.options.timestampEcho.map(String.init) ?? "" == row["tcp.options.timestamp.tsecr"], "\(where_): TSecr")
            Self.checkTunnel(row, s, where_)
            let cookie = row["tcp.options.tfo.cookie"]!.replacingOccurrences(of: ":", with: "")
            if !cookie.isEmpty {
                #expect(s.options.fastOpenCookieHex == cookie, "\(where_): TFO cookie")
            } else if !row["tcp.options.tfo.request"]!.isEmpty {
                #expect(s.options.fastOpenCookieLength == 0, "\(where_): TFO cookie request")
            } else {
                #expect(s.options.fastOpenCookieLength == nil, "\(where_): no TFO option")
            }
        }
        #expect(counters.tcp.count == UInt64(tcpFrames))
        #expect(counters.frames == UInt64(expected.count))
    }

    @Test func countersNameTheFirstFrameOfEachKind() throws {
        let (_, counters, _) = try Self.decodeAll("ipv4-fragments")
        let rows = try Self.rows("ipv4-fragments")
        let firstNonIP = rows.first { $0["ip.version"]!.isEmpty && $0["ipv6.src"]!.isEmpty }!["frame.number"]!
        #expect(counters.notIP.firstFrame.map(String.init) == firstNonIP)
        let firstUDP = rows.first { !$0["udp.srcport"]!.isEmpty || !$0["icmp.type"]!.isEmpty }!["frame.number"]!
        #expect(counters.notTCP.firstFrame.map(String.init) == firstUDP)
        #expect(counters.laterFragments.count == 3)
    }

    @Test func truncatedSnaplenStillCountsTheWholePayload() throws {
        let (results, _, _) = try Self.decodeAll("truncated-snaplen")
        let data = results.compactMap { r -> TCPSegment? in
            if case .tcp(let s) = r, s.payloadLength > 0 { return s }; return nil
        }
        #expect(!data.isEmpty)
        #expect(data.allSatisfy { $0.capturedPayloadLength < $0.payloadLength })
    }

    @Test func unsupportedLinkTypeIsNamed() throws {
        let file = try PcapFile(path: Self.dir.appendingPathComponent("unsupported-link.pcap").path)
        #expect(LinkType(dlt: file.dataLinkType) == nil)
        #expect(file.dataLinkName == "IEEE802_11")
    }

    @Test func truncatedFileFailsAtTheFrameAfterTheLastGoodOne() throws {
        let file = try PcapFile(path: Self.dir.appendingPathComponent("corrupt-truncated-file.pcap").path)
        var good = 0
        do {
            while try file.next() != nil { good += 1 }
            Issue.record("reading a truncated file must fail")
        } catch {
            #expect(good == 6)
            #expect(error.frame == 7)
            #expect(error.message.contains("truncated"))
            #expect(error.description.contains("corrupt-truncated-file.pcap"))
        }
    }

    @Test func absurdRecordLengthFailsWithTheFrame() throws {
        let file = try PcapFile(path: Self.dir.appendingPathComponent("corrupt-bad-header.pcap").path)
        var good = 0
        do {
            while try file.next() != nil { good += 1 }
            Issue.record("reading a damaged record header must fail")
        } catch {
            #expect(error.frame == UInt64(good + 1))
            #expect(good == 2)
        }
    }
}

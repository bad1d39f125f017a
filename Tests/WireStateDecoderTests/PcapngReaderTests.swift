import Foundation
import Testing
import WireStateCapture
import WireStateDecoder

/// The pure pcapng reader, on the three-interface file libpcap refuses (Ethernet, raw IP with a
/// 96-byte snaplen and nanosecond stamps, Linux cooked with 2^-20 s stamps and an if_tsoffset),
/// and on damaged copies of it. The frames are also checked field by field against tshark by
/// `TsharkOracleTests` (its fixture list includes `multi-interface`).
@Suite struct PcapngReaderTests {
    static let path = TsharkOracleTests.dir.appendingPathComponent("multi-interface.pcapng").path

    static func records(_ bytes: [UInt8]) throws(PcapngError) -> (PcapngReader, [PcapngReader.Record]) {
        var reader = PcapngReader()
        var out: [PcapngReader.Record] = []
        var failure: PcapngError?
        bytes.withUnsafeBytes { b in
            do {
                while let r = try reader.next(in: b) { out.append(r) }
            } catch {
                failure = error as? PcapngError
            }
        }
        if let failure { throw failure }
        return (reader, out)
    }

    @Test func libpcapRefusesTheFile() throws {
        // libpcap opens it, then refuses the second interface before the first packet.
        let file = try PcapFile(path: Self.path)
        do {
            _ = try file.next()
            Issue.record("libpcap 1.10 was expected to refuse a second link type")
        } catch {
            #expect(error.frame == 1)
            #expect(error.message.contains("different from the type of the first interface"))
        }
    }

    @Test func interfacesKeepTheirOwnLinkTypeSnaplenAndClock() throws {
        let (reader, records) = try Self.records(try FileBytes.read(Self.path))
        #expect(reader.interfaces.map(\.linkType) == [1, 101, 113])
        #expect(reader.interfaces.map(\.snapLength) == [262144, 96, 128])
        let rows = try TsharkOracleTests.rows("multi-interface")
        try #require(records.count == rows.count)
        for (r, row) in zip(records, rows) {
            #expect("\(r.frame)" == row["frame.number"])
            #expect("\(r.interface)" == row["frame.interface_id"])
            #expect("\(r.capturedLength)" == row["frame.cap_len"])
            #expect("\(r.wireLength)" == row["frame.len"])
            // tshark prints nanoseconds since the epoch with 9 decimals.
            let epoch = row["frame.time_epoch"]!.replacingOccurrences(of: ".", with: "")
            #expect("\(r.timestampNanos)" == epoch, "frame \(r.frame)")
            #expect(r.capturedLength <= Int(reader.interfaces[r.interface].snapLength))
        }
    }

    @Test func damageIsAnErrorWithTheFrameNeverACrash() throws {
        let good = try FileBytes.read(Self.path)
        let (_, all) = try Self.records(good)
        // Cut inside the 10th packet's block: nine packets, then an error naming frame 10.
        let cut = Array(good.prefix(all[9].dataOffset + 2))
        do {
            _ = try Self.records(cut)
            Issue.record("a cut file must fail")
        } catch {
            #expect(error.frame == 10)
        }
        // Every single-byte corruption in the headers region: an error or records, never a trap.
        for i in stride(from: 0, to: min(good.count, 600), by: 1) {
            var bad = good
            bad[i] ^= 0xFF
            _ = try? Self.records(bad)
        }
    }

    @Test func binaryAndDecimalResolutionsConvertExactly() throws {
        // 2^-20 s units: 1.5 s = 1.5·2^20 units; 10^-9: the units are nanoseconds.
        let (reader, records) = try Self.records(try FileBytes.read(Self.path))
        let sll = try #require(records.first { $0.interface == 2 })
        #expect(reader.interfaces[2].resolutionIsBinary && reader.interfaces[2].resolutionExponent == 20)
        #expect(reader.interfaces[2].offsetSeconds == 1000)
        #expect(sll.timestampNanos > 1_700_000_000_000_000_000)
    }
}

extension TsharkOracleTests {
    /// A pcapng decoded as the pipeline does: one decoder whose link type follows each packet's interface.
    static func decodePcapng(_ path: String) throws -> (results: [DecodeResult], counters: DecodeCounters, link: LinkType) {
        let bytes = try FileBytes.read(path)
        var reader = PcapngReader()
        var decoder = PacketDecoder(linkType: .ethernet)
        var out: [DecodeResult] = []
        try bytes.withUnsafeBytes { (b) throws in
            while let r = try reader.next(in: b) {
                decoder.linkType = try #require(LinkType(dlt: Int32(reader.interfaces[r.interface].linkType)))
                let data = UnsafeRawBufferPointer(rebasing: b[r.dataOffset..<(r.dataOffset + r.capturedLength)])
                out.append(decoder.decode(data, wireLength: r.wireLength, frame: r.frame))
            }
        }
        return (out, decoder.counters, try #require(LinkType(dlt: Int32(reader.interfaces[0].linkType))))
    }
}

/// Timestamps at the edges of what a pcapng can say (found by FuzzPcapng: a negative
/// `if_tsoffset` took time before 1970, and the tracker's idle arithmetic overflowed).
@Suite struct PcapngTimestampTests {
    static func le32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }
    static func block(_ type: UInt32, _ body: [UInt8]) -> [UInt8] {
        let padded = body + [UInt8](repeating: 0, count: (4 - body.count % 4) % 4)
        let n = UInt32(12 + padded.count)
        return le32(type) + le32(n) + padded + le32(n)
    }

    /// SHB, one raw-IP interface with `tsoffset`, and one EPB per timestamp (a 20-byte IPv4 header).
    static func file(tsoffset: Int64, stamps: [UInt64]) -> [UInt8] {
        var f = block(0x0A0D_0D0A, le32(0x1A2B_3C4D) + [1, 0, 0, 0] + [UInt8](repeating: 0xFF, count: 8))
        let option: [UInt8] = [14, 0, 8, 0] + withUnsafeBytes(of: tsoffset.littleEndian, Array.init) + [0, 0, 0, 0]
        f += block(1, [101, 0, 0, 0] + le32(0) + option)
        let ip: [UInt8] = [0x45, 0, 0, 20, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]
        for t in stamps {
            f += block(6, le32(0) + le32(UInt32(t >> 32)) + le32(UInt32(t & 0xFFFF_FFFF)) + le32(20) + le32(20) + ip)
        }
        return f
    }

    @Test func offsetsSaturateInsteadOfWrapping() throws {
        let (reader, records) = try PcapngReaderTests.records(Self.file(tsoffset: .min, stamps: [0, .max]))
        #expect(reader.interfaces[0].offsetSeconds == .min)
        #expect(records.map(\.timestampNanos) == [0, 0])
        let (_, late) = try PcapngReaderTests.records(Self.file(tsoffset: .max, stamps: [1]))
        #expect(late[0].timestampNanos == .max)
        let (_, plain) = try PcapngReaderTests.records(Self.file(tsoffset: 2, stamps: [1_500_000]))
        #expect(plain[0].timestampNanos == 3_500_000_000)  // µs units by default, +2 s offset
    }
}

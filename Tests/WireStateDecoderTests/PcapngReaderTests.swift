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

import CPcap
import Foundation
import Testing

@testable import WireStateCapture

/// The capture thread's ring (`CaptureReaderThread`), fed by libpcap reading a real recording
/// offline, so it runs without root: every frame comes out once, in order, with its bytes, lengths
/// and timestamp, also when the ring is so small that records wrap around its end and the capture
/// thread waits for space on almost every frame.
@Suite struct CaptureRingTests {
    static let recordings = ["multi.pcap", "loss-retransmission.pcap", "ipv6-client-close.pcap"].map {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Captures/\($0)").standardized.path
    }

    struct Frame: Equatable {
        var nanos: Int64, wire: Int, bytes: [UInt8]
    }

    static func direct(_ path: String) throws -> [Frame] {
        let file = try PcapFile(path: path)
        var out: [Frame] = []
        while let f = try file.next() { out.append(Frame(nanos: f.timestampNanos, wire: f.wireLength, bytes: Array(f.bytes))) }
        return out
    }

    static func throughRing(_ path: String, capacity: Int, consumerPause: Bool) throws -> (frames: [Frame], end: CaptureReaderThread.End?) {
        var errbuf = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE) + 1)
        let handle = try #require(
            pcap_open_offline_with_tstamp_precision(path, UInt32(PCAP_TSTAMP_PRECISION_NANO), &errbuf))
        defer { pcap_close(handle) }
        let reader = CaptureReaderThread(
            handle: handle, descriptor: -1, readTimeoutMillis: 50, deadline: nil, packetLimit: nil,
            nanosecondTimestamps: true, capacity: capacity)
        try #require(reader.start())
        defer { reader.join() }
        var out: [Frame] = []
        for _ in 0..<100_000 {  // bounded: far more takes than frames
            switch reader.take(waitMillis: 50) {
            case .frame(let seconds, let fraction, let captured, let wire, let bytes):
                out.append(
                    Frame(
                        nanos: seconds * 1_000_000_000 + fraction, wire: wire,
                        bytes: Array(UnsafeRawBufferPointer(start: bytes, count: captured))))
                if consumerPause && out.count % 7 == 0 { usleep(200) }  // let the ring fill up
            case .empty:
                continue
            case .ended(let why):
                return (out, why)
            }
        }
        return (out, nil)
    }

    @Test(arguments: [1 << 20, 8192, 4000])
    func everyFrameComesOutOnceInOrder(capacity: Int) throws {
        for path in Self.recordings {
            let expected = try Self.direct(path)
            let (got, end) = try Self.throughRing(path, capacity: capacity, consumerPause: capacity < 1 << 20)
            #expect(end == .breakloop, "\(path): the capture thread ended with \(String(describing: end))")
            #expect(got.count == expected.count, "\(path) through a \(capacity)-byte ring")
            #expect(got == expected, "\(path) through a \(capacity)-byte ring: frames differ")
        }
    }

    @Test func recordsArePaddedToEightBytesAndNeverSmallerThanTheirHeader() {
        #expect(CaptureReaderThread.recordSize(0) == 24)
        #expect(CaptureReaderThread.recordSize(1) == 32)
        #expect(CaptureReaderThread.recordSize(8) == 32)
        #expect(CaptureReaderThread.recordSize(1514) == 24 + 1520)
    }
}

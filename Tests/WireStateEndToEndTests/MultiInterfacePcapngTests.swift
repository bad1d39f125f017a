import Foundation
import Testing
import WireStateCapture
import WireStatePipeline
import WireStateReport
import WireStateTracker

/// The three-interface pcapng libpcap refuses, analysed end to end through `Pipeline.runFile`:
/// each packet decoded by its own interface's link type, so the connections are exactly those of
/// the three recordings it was made from, read one by one with libpcap.
@Suite struct MultiInterfacePcapngTests {
    static let dir = TunnelConnectionTests.dir

    static func connections(_ names: [String]) -> (connections: [String], inputs: [InputReport]) {
        var pipeline = Pipeline(sink: AnalysisCollector())
        for n in names { pipeline.runFile(dir.appendingPathComponent(n).path) }
        pipeline.finish()
        return (pipeline.sink.sortedConnections.map(TunnelConnectionTests.outcome), pipeline.inputs)
    }

    @Test func analysedLikeItsThreeSourceRecordings() {
        let (merged, inputs) = Self.connections(["multi-interface.pcapng"])
        let separate = ["eth.pcap", "raw.pcap", "sll.pcap"].flatMap { Self.connections([$0]).connections }
        #expect(!separate.isEmpty)
        #expect(merged.sorted() == separate.sorted())
        #expect(inputs.count == 1)
        #expect(inputs[0].complete)
        #expect(inputs[0].linkType == "EN10MB+RAW+LINUX_SLL")
        let sourceFrames = ["eth.pcap", "raw.pcap", "sll.pcap"].map { Self.connections([$0]).inputs[0].counters.frames }
        #expect(inputs[0].counters.frames == sourceFrames.reduce(0, +))
    }

    @Test func damagedCopyReportsFileAndFrame() throws {
        let bytes = try FileBytes.read(Self.dir.appendingPathComponent("multi-interface.pcapng").path)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("wirestate-cut-\(getpid()).pcapng").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data(bytes.prefix(bytes.count - 10)).write(to: URL(fileURLWithPath: path))
        var pipeline = Pipeline(sink: AnalysisCollector())
        let result = pipeline.runFile(path)
        let error = try #require(result)
        #expect(error.source == path)
        #expect(error.frame == 64)
        #expect(error.description.hasPrefix("\(path): frame 64: "))
        pipeline.finish()
        #expect(pipeline.inputs[0].counters.frames == 63)
    }
}

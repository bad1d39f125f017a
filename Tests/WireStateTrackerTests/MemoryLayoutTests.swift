import Testing
@testable import WireStateTracker

/// What one tracked connection costs. The table holds one `Connection` per 4-tuple, so its size is
/// the tracker's memory per connection; the bound keeps a redesign from quietly growing it.
@Suite struct MemoryLayoutTests {
    @Test func connectionStaysSmall() {
        let connection = MemoryLayout<Connection>.size, stride = MemoryLayout<Connection>.stride
        let endpoint = MemoryLayout<EndpointMachine>.size
        print(
            "MemoryLayout: Connection size \(connection) stride \(stride), EndpointMachine size \(endpoint),"
                + " ConnectionSummary \(MemoryLayout<ConnectionSummary>.size), held run \(MemoryLayout<Anomaly?>.size),"
                + " FrameRef \(MemoryLayout<FrameRef>.size), SendSpace \(MemoryLayout<SendSpace>.size), ReceiveSpace? \(MemoryLayout<ReceiveSpace?>.size)")
        // Before the redesign (issue 8 §1): Connection 1057 bytes (stride 1064), EndpointMachine 192.
        // Then 978 (stride 984), 152. Diagnose's idle and keep-alive facts (`ConnectionFacts`: each
        // side's last segment, the last activity, idle and silence before the first RST, each side's
        // highest sequence) add 16, after its optionals became sentinels; issue 8 §2's lost-ACK
        // record (`LostAck?`, 6 bytes per endpoint) adds 16 more: EndpointMachine 158.
        // The rest of §2 (1010, stride 1016 → 1051, stride 1056; EndpointMachine 158 → 165):
        // timestamps (`Timestamps`, 9 bytes per endpoint), the reordering question held in
        // `UnseenAck` (its data frame as a 4-byte offset from the ACK's), both absorbed by declaring
        // the endpoint's parts in an order that packs; data past a window edge held per direction
        // (`HeldBeyondWindow?` in `WindowWatch`, 20 bytes each). Bound II's flag
        // (`WindowWatch.segmentsMissed`): 1052, the same stride. Fields declared in orders that
        // pack (Connection, ConnectionSummary 512 → 468, ConnectionFacts 344 → 324, ZeekEndpoint
        // 89 → 88) and the linger time a sentinel instead of an `Int64?`: 1008.
        #expect(stride <= 1008, "Connection stride \(stride)")
        #expect(endpoint <= 165, "EndpointMachine size \(endpoint)")
        // Every event that carries a summary is copied at the summary's size.
        #expect(MemoryLayout<ConnectionSummary>.size <= 468, "ConnectionSummary \(MemoryLayout<ConnectionSummary>.size)")
        #expect(MemoryLayout<TrackerEvent>.stride <= 472, "TrackerEvent \(MemoryLayout<TrackerEvent>.stride)")
    }
}

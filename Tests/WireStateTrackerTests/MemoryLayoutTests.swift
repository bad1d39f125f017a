import Testing
@testable import WireStateTracker

/// What one tracked connection costs. The table holds one `Connection` per 4-tuple, so its size is
/// the tracker's memory per connection; the bound keeps a redesign from quietly growing it.
@Suite struct MemoryLayoutTests {
    @Test func connectionStaysSmall() {
        let connection = MemoryLayout<Connection>.size, stride = MemoryLayout<Connection>.stride
        let endpoint = MemoryLayout<EndpointMachine>.size
        print("MemoryLayout: Connection size \(connection) stride \(stride), EndpointMachine size \(endpoint)")
        #expect(stride <= 1024, "Connection stride \(stride)")
        #expect(endpoint <= 320, "EndpointMachine size \(endpoint)")
    }
}

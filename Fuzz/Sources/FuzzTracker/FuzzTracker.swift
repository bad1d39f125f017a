import FuzzSupport
import WireStatePipeline
import WireStateTracker

/// The tracker behind the real pipeline (decoder, IP fragment reassembly, multi-input joining),
/// fed a `FrameScript`: frames whose clock jumps forward, backwards and to the ends of Int64, with
/// wire lengths unrelated to captured ones, under configurations whose timers fire within frames.
/// Besides not trapping, the event stream must keep its contract with reporters: a connection is
/// opened once, every event about it comes between its opening and its final record, and once the
/// run is finished every connection opened has been finished.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTracker(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard var script = FrameScript(UnsafeRawBufferPointer(start: data, count: size)) else { return 0 }
    var pipeline = Pipeline(configuration: script.configuration, sink: EventLedger())
    script.run(into: &pipeline)
    pipeline.finish()
    precondition(pipeline.sink.open.isEmpty, "connections never finished: \(pipeline.sink.open.sorted())")
    return 0
}

/// Checks the order of events per connection as they arrive.
struct EventLedger: EventSink {
    var open: Set<UInt64> = []
    var finished: Set<UInt64> = []

    mutating func consume(_ event: TrackerEvent) {
        switch event {
        case .opened(let s):
            precondition(!open.contains(s.ref.id) && !finished.contains(s.ref.id), "connection \(s.ref.id) opened twice")
            open.insert(s.ref.id)
        case .transition(let t): expectOpen(t.connection.id, "transition")
        case .confirmation(let c): expectOpen(c.connection.id, "confirmation")
        case .anomaly(let a): expectOpen(a.connection.id, "anomaly")
        case .finished(let s):
            expectOpen(s.ref.id, "final record")
            open.remove(s.ref.id)
            finished.insert(s.ref.id)
        }
    }

    func expectOpen(_ id: UInt64, _ what: String) {
        precondition(open.contains(id), "\(what) for connection \(id), which is not open")
    }
}

@_cdecl("FuzzTracker_main")
public func fuzzTrackerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv, fuzzTracker)
}

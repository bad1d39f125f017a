import FuzzSupport
import Glibc
import WireStateCapture
import WireStatePipeline

/// Whole capture files, pcap or pcapng, read by the real libpcap from memory (`fmemopen` into
/// `PcapFile(stream:)`, the same reader `PcapFile(path:)` uses), then through the whole pipeline
/// and every reporter into discarding sinks: `wirestate analyze` minus the file system. Damage must
/// end as a `CaptureError`, never as a crash, and what was read before it is still reported.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCaptureFile(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0, let stream = fmemopen(UnsafeMutableRawPointer(mutating: data), size, "rb") else { return 0 }
    let name = "fuzz.pcap"
    var pipeline = Pipeline(sink: ReportingSink(sourceNames: [name]))
    do {
        let file = try PcapFile(stream: stream, name: name)
        pipeline.run(file)
    } catch {
        pipeline.recordFailure(error)
    }
    pipeline.finish()
    let written = pipeline.sink.finish(inputs: pipeline.inputs)
    precondition(written > 0, "the reporters wrote nothing")
    return 0
}

@_cdecl("FuzzCaptureFile_main")
public func fuzzCaptureFileMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv, fuzzCaptureFile)
}

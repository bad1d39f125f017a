import FuzzSupport
import WireStatePipeline
import WireStateReport

/// The reporters, fed events from fuzzed input: byte 0 is the length of a source name (any bytes,
/// control characters and invalid UTF-8 included, as file names can be), 16 bytes are two raw
/// times for the formatting helpers, and the rest is a `FrameScript` whose events go through every
/// reporter (`ReportingSink`) into discarding sinks. JSON string literals must come out with no
/// raw control character, whatever the name holds: one would break every JSON Lines consumer.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzReporters(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    guard size >= 1 else { return 0 }
    let nameLength = min(Int(bytes[0]) % 32, size - 1)
    let name = String(decoding: bytes[1..<1 + nameLength], as: UTF8.self)
    var rest = 1 + nameLength
    if rest + 16 <= size {
        let a = Int64(bitPattern: bytes.loadUnaligned(fromByteOffset: rest, as: UInt64.self))
        let b = Int64(bitPattern: bytes.loadUnaligned(fromByteOffset: rest + 8, as: UInt64.self))
        var out = DiscardSink()
        out.write(Format.time(a))
        out.write(Format.duration(a))
        out.write(Format.offset(a, from: b))
        out.write(Format.fixed(Double(bitPattern: UInt64(bitPattern: b)), Int(UInt64(bitPattern: a) % 10)))
        rest += 16
    }
    let literal = Format.json(name)
    precondition(!literal.unicodeScalars.contains { $0.value < 0x20 }, "raw control character in \(literal.debugDescription)")
    guard var script = FrameScript(UnsafeRawBufferPointer(rebasing: bytes[rest...])) else { return 0 }
    let names = [name, name + "/rotated.pcap"]
    var pipeline = Pipeline(configuration: script.configuration, sink: ReportingSink(sourceNames: names))
    script.run(into: &pipeline, names: names)
    pipeline.finish()
    precondition(pipeline.sink.finish(inputs: pipeline.inputs) > 0, "the reporters wrote nothing")
    return 0
}

@_cdecl("FuzzReporters_main")
public func fuzzReportersMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv, fuzzReporters)
}

import WireStateCapture
import WireStateDecoder

/// Opening a capture file: libpcap first (pcap, pcapng), and the pure `PcapngReader` only when
/// libpcap refuses a pcapng it cannot represent (interfaces with different link types or
/// snapshot lengths), so the common path is unchanged and the fallback is as narrow as possible.
extension Pipeline {
    /// Reads `path` through the pipeline. Returns the error recorded on its input report (nil when
    /// it was read to its end); an input that could not be opened is recorded too.
    @discardableResult
    public mutating func runFile(_ path: String, filter: String? = nil) -> CaptureError? {
        let refusal: CaptureError
        var resume: InputReport?
        do {
            let file = try PcapFile(path: path, filter: filter)
            if filter != nil {
                // Rejected frames still reach the shadow tracker: ids stay the file's own.
                file.deliverRejected = true
                if fileOrder == nil {
                    fileOrder = FileOrderIDs(configuration: tracker.configuration)
                    shadowing = true
                }
            }
            // libpcap 1.10 reads further interface blocks as it meets them, so its refusal of a
            // second link type or snaplen comes as a read error (before the first packet, when
            // Wireshark wrote every interface up front): the pure reader takes over from there.
            guard let error = run(file), error.kind == .read else { return inputs.last?.error }
            refusal = error
            resume = inputs.removeLast()
        } catch {
            refusal = error
        }
        if path == "-" && refusal.kind == .read && refusal.frame == 1 {
            // The pure pcapng reader needs the whole file, and a pipe cannot be read again.
            var e = refusal
            e.message += " (if this is a pcapng with several link types, give it by file name: standard input cannot be read twice)"
            if var resume { resume.error = e; inputs.append(resume) } else { recordFailure(e) }
            return e
        }
        guard refusal.kind == .open || refusal.kind == .read, let bytes = try? FileBytes.read(path),
            bytes.withUnsafeBytes({ PcapngReader.isPcapng($0) })
        else {
            if let resume { inputs.append(resume) } else { recordFailure(refusal) }
            return refusal
        }
        if filter != nil {
            let e = CaptureError(
                kind: .filter, source: path, frame: refusal.frame,
                message: "libpcap cannot read this pcapng (\(refusal.message)), "
                    + "and its own reader has no BPF filter: run without --filter")
            if var resume { resume.error = e; inputs.append(resume) } else { recordFailure(e) }
            return e
        }
        return run(pcapng: bytes, name: path, after: resume)
    }

    /// A pcapng read by `PcapngReader`: each packet is decoded by its own interface's link type;
    /// frame numbers are the file's own. Packets on interfaces of an unsupported link type are
    /// counted (not IP) and named in the input's link-type field.
    /// `after`: what libpcap read of this file before it gave up; its frames are not fed again.
    public mutating func run(pcapng bytes: [UInt8], name: String, after previous: InputReport? = nil) -> CaptureError? {
        var reader = PcapngReader()
        var report = InputReport(name: name, linkType: "pcapng")
        var input = Input(
            index: UInt16(truncatingIfNeeded: inputs.count),
            decoder: PacketDecoder(linkType: .ethernet, tunnelPorts: tunnelPorts))
        let skip = previous?.counters.frames ?? 0
        if let previous, skip > 0 {
            input.decoder.counters = previous.counters
            input.started = true
        }
        bytes.withUnsafeBytes { b in
            do {
                while let r = try reader.next(in: b) {
                    if r.frame <= skip { continue }
                    let data = UnsafeRawBufferPointer(rebasing: b[r.dataOffset..<(r.dataOffset + r.capturedLength)])
                    guard let link = LinkType(dlt: Int32(reader.interfaces[r.interface].linkType)) else {
                        input.decoder.countUndecodable(frame: r.frame)
                        continue
                    }
                    input.decoder.linkType = link
                    feed(
                        CapturedFrame(frame: r.frame, timestampNanos: r.timestampNanos, wireLength: r.wireLength, bytes: data),
                        &input)
                }
            } catch let error as PcapngError {
                report.error = CaptureError(kind: .read, source: name, frame: error.frame, message: error.message)
            } catch {
                report.error = CaptureError(kind: .read, source: name, message: "\(error)")
            }
        }
        var names: [String] = []
        for i in reader.allInterfaces + reader.interfaces {
            let n = LinkType(dlt: Int32(i.linkType)).map(\.name) ?? "LINKTYPE \(i.linkType) (not decoded)"
            if !names.contains(n) { names.append(n) }
        }
        report.linkType = names.isEmpty ? "pcapng" : names.joined(separator: "+")
        report.counters = input.decoder.counters
        inputs.append(report)
        return report.error
    }
}

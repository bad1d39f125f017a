#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif
import CPcap

/// What a live source has for its reader at one call.
public enum LiveRead {
    /// A frame, borrowed from libpcap until the next call.
    case frame(CapturedFrame)
    /// Nothing arrived within the read timeout. `now` is the wall clock (nanoseconds since the
    /// epoch), the same clock the kernel stamps packets with, so the tracker can expire and evict
    /// while the wire is quiet.
    case idle(now: Int64)
    /// The capture is over (signal, `--count`, `--duration`, or `stop()`); see `stopReason`.
    case end
}

/// A packet source that also reports quiet periods, so the reader can do timed work between frames.
public protocol LivePacketSource: PacketSource {
    func poll() throws(CaptureError) -> LiveRead
    /// Whether the frame `poll()` returned last was the newest one captured: what the analysis
    /// holds back (buffered output, a `--threads` batch) is then due.
    var caughtUp: Bool { get }
}

extension LivePacketSource {
    public var caughtUp: Bool { true }
}

/// libpcap's kernel counters for a live capture (`pcap_stats`).
public struct CaptureStatistics: Sendable, Equatable {
    /// Packets that passed the kernel filter (on Linux loopback each packet passes twice: the
    /// outgoing copy is counted here and skipped by libpcap).
    public var received: UInt64
    /// Packets the kernel dropped because the capture buffer was full.
    public var droppedByKernel: UInt64
    /// Packets the interface or its driver dropped (not all platforms report it).
    public var droppedByInterface: UInt64

    public init(received: UInt64, droppedByKernel: UInt64, droppedByInterface: UInt64) {
        self.received = received
        self.droppedByKernel = droppedByKernel
        self.droppedByInterface = droppedByInterface
    }
}

/// Why a live capture ended.
public enum StopReason: Sendable, Equatable {
    /// `packetLimit` frames were captured.
    case count
    /// The time given to `stop(after:)` elapsed.
    case duration
    /// SIGINT, SIGTERM, ... (the signal number).
    case signal(Int32)
    /// `stop()` was called.
    case requested
    /// Reading or writing failed.
    case error

    public var name: String {
        switch self {
        case .count: return "count"
        case .duration: return "duration"
        case .signal: return "signal"
        case .requested: return "requested"
        case .error: return "error"
        }
    }
}

/// A live capture on one interface through `pcap_create` / `pcap_activate`, in immediate mode with
/// a short read timeout, nanosecond timestamps where the platform has them, the filter installed in
/// the kernel, and optionally every captured frame saved with libpcap's dumper.
///
/// Frame numbers count the frames delivered (those the filter accepted), from 1, so they match the
/// frame numbers of the file written with `startWriting(to:)`.
public final class LiveCapture: LivePacketSource {
    public struct Options: Sendable {
        public var interface: String
        /// BPF filter, tcpdump syntax, installed in the kernel.
        public var filter: String?
        public var snapshotLength: Int32 = 262_144
        public var promiscuous = true
        /// How long one `poll()` waits for a packet before reporting `.idle`.
        public var readTimeoutMillis: Int32 = 100
        /// Kernel buffer in bytes (nil: libpcap's default, 2 MiB). Immediate mode on Linux uses one
        /// snaplen-sized ring slot per packet, so bursts need more than the default.
        public var bufferSize: Int32? = 32 << 20
        /// Deliver every packet at once instead of when a kernel block fills (only without the
        /// capture thread: with it, blocks are handed over when full or after the read timeout).
        public var immediate = true
        /// Read on a capture thread of its own into a ring of `ringBytes` (see
        /// `CaptureReaderThread`); false reads on the caller's thread, one packet per `poll()`.
        public var captureThread = true
        /// The capture thread's ring, in bytes (nil: the kernel buffer's size, at least 8 MiB and
        /// room for 16 frames of the snapshot length).
        public var ringBytes: Int?

        public init(interface: String, filter: String? = nil) {
            self.interface = interface
            self.filter = filter
        }
    }

    /// The interface name.
    public let name: String
    public let options: Options
    public let dataLinkType: Int32
    public let dataLinkName: String
    public let snapshotLength: Int32
    /// Whether the kernel's timestamps arrive in nanoseconds (otherwise microseconds, scaled up).
    public let nanosecondTimestamps: Bool
    /// Things libpcap warned about when the capture was activated (e.g. promiscuous mode unsupported).
    public private(set) var warnings: [String] = []
    /// Frames delivered so far (the last frame number).
    public private(set) var framesCaptured: UInt64 = 0
    /// Stop after this many frames (tcpdump's `-c`).
    public var packetLimit: UInt64? {
        didSet { reader?.set(deadline: deadline, packetLimit: packetLimit) }
    }
    /// Why the capture ended, once it has.
    public private(set) var stopReason: StopReason? {
        didSet { if endedAt == nil, stopReason != nil { endedAt = monotonicNanos() } }
    }
    /// CLOCK_MONOTONIC nanoseconds when the capture ended.
    private var endedAt: Int64?
    /// The file frames are saved to, if any.
    public var writer: PcapDumper? { dumper }

    private var handle: OpaquePointer?
    /// The capture thread, once the first `poll()` started it.
    private var reader: CaptureReaderThread?
    /// The capture thread could not be started: read on this one.
    private var readOnThisThread = false
    /// The descriptor to wait on (the capture is read in non-blocking mode).
    private let selectableDescriptor: Int32
    private var program: BPFProgram?
    private var dumper: PcapDumper?
    /// `poll()` has thrown the writer thread's failure (`finishWriting` does not repeat it).
    private var writeFailureThrown = false
    /// CLOCK_MONOTONIC nanoseconds at which `stop(after:)` ends the capture.
    private var deadline: Int64?
    /// CLOCK_MONOTONIC nanoseconds when the capture was activated.
    public let startedAt: Int64

    /// Opens and activates the capture. Throws `.noSuchDevice` for an interface libpcap does not
    /// know, `.permission` without the right to capture, `.filter` for a bad filter, `.open` otherwise.
    public init(_ options: Options) throws(CaptureError) {
        self.options = options
        name = options.interface
        var errbuf = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE) + 1)
        guard let h = pcap_create(options.interface, &errbuf) else {
            throw CaptureError(kind: .open, source: options.interface, message: errorText(errbuf))
        }
        pcap_set_snaplen(h, options.snapshotLength)
        pcap_set_promisc(h, options.promiscuous ? 1 : 0)
        pcap_set_timeout(h, options.readTimeoutMillis)
        // Immediate mode costs a snapshot-length slot of the kernel buffer per packet (a 32 MiB
        // buffer then holds 128 full-size frames: bursts are dropped). Behind a capture thread the
        // kernel packs packets into blocks instead, each handed over when full or after the read
        // timeout, so a packet waits at most that long.
        pcap_set_immediate_mode(h, options.immediate && !options.captureThread ? 1 : 0)
        if let size = options.bufferSize { pcap_set_buffer_size(h, size) }
        let nano = pcap_set_tstamp_precision(h, Int32(PCAP_TSTAMP_PRECISION_NANO)) == 0

        let rc = pcap_activate(h)
        if rc < 0 {
            let detail = String(cString: pcap_geterr(h))
            pcap_close(h)
            throw Self.activationError(rc, interface: options.interface, detail: detail)
        }
        if rc > 0 {
            let detail = String(cString: pcap_geterr(h))
            switch rc {
            case PCAP_WARNING_PROMISC_NOTSUP: warnings.append("promiscuous mode not supported" + Self.suffix(detail))
            case PCAP_WARNING_TSTAMP_TYPE_NOTSUP: warnings.append("time stamp type not supported" + Self.suffix(detail))
            default: warnings.append(detail.isEmpty ? "libpcap warning \(rc)" : detail)
            }
        }
        nanosecondTimestamps = nano && pcap_get_tstamp_precision(h) == Int32(PCAP_TSTAMP_PRECISION_NANO)
        dataLinkType = pcap_datalink(h)
        dataLinkName = linkTypeName(dataLinkType)
        snapshotLength = pcap_snapshot(h)
        selectableDescriptor = pcap_get_selectable_fd(h)
        if selectableDescriptor < 0 || pcap_setnonblock(h, 1, &errbuf) != 0 {
            let why = selectableDescriptor < 0 ? "no selectable descriptor" : errorText(errbuf)
            pcap_close(h)
            throw CaptureError(kind: .open, source: options.interface, message: "cannot read without blocking: \(why)")
        }
        startedAt = monotonicNanos()
        if let filter = options.filter {
            do {
                let p = try BPFProgram(filter, for: h, source: options.interface)
                try p.install(on: h, source: options.interface)
                program = p
            } catch {
                pcap_close(h)
                throw error
            }
        }
        handle = h
    }

    deinit { close() }

    static func suffix(_ detail: String) -> String { detail.isEmpty ? "" : " (\(detail))" }

    static func activationError(_ rc: Int32, interface: String, detail: String) -> CaptureError {
        let why = suffix(detail)
        switch rc {
        case PCAP_ERROR_NO_SUCH_DEVICE:
            return CaptureError(kind: .noSuchDevice, source: interface, message: "no such capture device" + why)
        case PCAP_ERROR_PERM_DENIED:
            // Linux checks the right to open a packet socket before it looks the device up, so an
            // unknown name without privileges comes back as "permission denied": tell them apart.
            if !CaptureDevice.exists(interface) {
                return CaptureError(kind: .noSuchDevice, source: interface, message: "no such capture device")
            }
            return CaptureError(kind: .permission, source: interface, message: "no permission to capture" + why)
        case PCAP_ERROR_PROMISC_PERM_DENIED:
            return CaptureError(
                kind: .permission, source: interface,
                message: "no permission to capture in promiscuous mode" + why)
        case PCAP_ERROR_IFACE_NOT_UP:
            return CaptureError(kind: .open, source: interface, message: "interface is down" + why)
        case PCAP_ERROR_RFMON_NOTSUP:
            return CaptureError(kind: .open, source: interface, message: "monitor mode not supported" + why)
        default:
            return CaptureError(
                kind: .open, source: interface,
                message: detail.isEmpty ? "cannot open capture (libpcap error \(rc))" : detail)
        }
    }

    /// Saves every frame captured from now on to `path` (pcap, nanosecond timestamps when the
    /// capture has them) so `wirestate analyze` can replay it. The file is created at once, with
    /// the current privileges: call it before `Privileges.drop(to:)` to write where only root may.
    public func startWriting(to path: String) throws(CaptureError) {
        guard let handle else { throw CaptureError(kind: .write, source: path, message: "capture is closed") }
        guard dumper == nil else { throw CaptureError(kind: .write, source: path, message: "already writing") }
        dumper = try PcapDumper(capture: handle, path: path)
    }

    /// Ends the capture after `seconds` (counted from now).
    public func stop(after seconds: Double) {
        // Saturating: a caller's huge value means "practically never", not an overflow.
        let nanos = seconds.isFinite && seconds > 0 ? min(seconds * 1e9, 1e18).rounded() : 0
        deadline = monotonicNanos() &+ Int64(nanos)
        reader?.set(deadline: deadline, packetLimit: packetLimit)
    }

    /// Ends the capture at the next read (the current read returns at once).
    public func stop() {
        if stopReason == nil { stopReason = .requested }
        reader?.requestStop()
        if let handle { pcap_breakloop(handle) }
    }

    /// The pointer `StopSignals` hands to `pcap_breakloop` from its signal handler.
    var rawHandle: OpaquePointer? { handle }

    public func poll() throws(CaptureError) -> LiveRead {
        if stopReason != nil { return .end }
        if options.captureThread && !readOnThisThread, let handle { return try pollRing(handle) }
        if let sig = StopSignals.received {
            stopReason = .signal(sig)
            return .end
        }
        if let limit = packetLimit, framesCaptured >= limit {
            stopReason = .count
            return .end
        }
        if let deadline, monotonicNanos() >= deadline {
            stopReason = .duration
            return .end
        }
        guard let handle else {
            stopReason = .requested
            return .end
        }
        // Non-blocking read; when nothing is ready, wait on the descriptor ourselves. (libpcap's own
        // read timeout does not return on Linux: its mmap reader polls again until a packet comes.)
        var header: UnsafeMutablePointer<pcap_pkthdr>?
        var data: UnsafePointer<UInt8>?
        var waited = false
        while true {
            let rc = pcap_next_ex(handle, &header, &data)
            switch rc {
            case 1:
                framesCaptured += 1
                if let dumper {
                    do { try dumper.write(header!, data!) } catch {
                        stopReason = .error
                        throw error
                    }
                }
                let h = header!.pointee
                let sub = Int64(h.ts.tv_usec) * (nanosecondTimestamps ? 1 : 1000)
                return .frame(
                    CapturedFrame(
                        number: framesCaptured, timestampNanos: nanoseconds(seconds: Int64(h.ts.tv_sec), fraction: sub),
                        capturedLength: Int(h.caplen), wireLength: Int(h.len),
                        bytes: UnsafeRawBufferPointer(start: data, count: Int(h.caplen))))
            case 0:
                // Nothing ready. One wait per call: after it, report the quiet period (or go round
                // once more if the descriptor says a packet came).
                if waited { return .idle(now: wallClockNanos()) }
                waited = true
                switch waitForPackets(handle) {
                case .ready: continue
                case .timeout: return .idle(now: wallClockNanos())
                case .interrupted:
                    if let sig = StopSignals.received {
                        stopReason = .signal(sig)
                        return .end
                    }
                    return .idle(now: wallClockNanos())
                }
            case PCAP_ERROR_BREAK:
                if let sig = StopSignals.received {
                    stopReason = .signal(sig)
                } else if stopReason == nil {
                    stopReason = .requested
                }
                return .end
            default:
                stopReason = .error
                throw CaptureError(
                    kind: .read, source: name, frame: framesCaptured + 1,
                    message: String(cString: pcap_geterr(handle)))
            }
        }
    }

    enum Wait { case ready, timeout, interrupted }

    /// Whether the frame `poll()` returned last was the newest one captured (always true without a
    /// capture thread): callers flush buffered output then.
    public var caughtUp: Bool { reader?.caughtUp ?? true }

    /// `poll()` behind the capture thread: the next frame from its ring. Signals, `--count` and
    /// `--duration` stop the capture thread's reading; the frames it had queued are still
    /// delivered, then `.end`.
    private func pollRing(_ handle: OpaquePointer) throws(CaptureError) -> LiveRead {
        if reader == nil {
            let snap = Int(max(snapshotLength, 65_535))
            let ring = max(options.ringBytes ?? Int(options.bufferSize ?? 2 << 20), 8 << 20, 16 * (snap + 32))
            let r = CaptureReaderThread(
                handle: handle, descriptor: selectableDescriptor, readTimeoutMillis: options.readTimeoutMillis,
                deadline: deadline, packetLimit: packetLimit, nanosecondTimestamps: nanosecondTimestamps,
                capacity: ring, dumper: dumper)
            guard r.start() else {
                readOnThisThread = true
                return try poll()
            }
            reader = r
        }
        let r = reader!
        // The writer thread saves the frames when the file was opened before the capture thread
        // started (as `live --write` does); otherwise this thread does, between frames.
        let writesHere = r.dumper == nil
        var take = r.take(waitMillis: 0)
        if case .empty = take {
            // Caught up with the wire: push the saved frames to the file before waiting.
            if writesHere { try flushWriting() }
            take = r.take(waitMillis: options.readTimeoutMillis)
        }
        switch take {
        case .frame(let seconds, let fraction, let captured, let wire, let bytes):
            framesCaptured += 1
            if writesHere, let dumper {
                var h = pcap_pkthdr()
                h.ts.tv_sec = time_t(seconds)
                h.ts.tv_usec = suseconds_t(fraction)
                h.caplen = UInt32(captured)
                h.len = UInt32(truncatingIfNeeded: wire)
                do { try dumper.append(&h, bytes.assumingMemoryBound(to: UInt8.self)) } catch {
                    stopReason = .error
                    r.join()
                    throw error
                }
            }
            let sub = fraction * (nanosecondTimestamps ? 1 : 1000)
            return .frame(
                CapturedFrame(
                    number: framesCaptured, timestampNanos: nanoseconds(seconds: seconds, fraction: sub),
                    capturedLength: captured, wireLength: wire,
                    bytes: UnsafeRawBufferPointer(start: bytes, count: captured)))
        case .empty:
            return .idle(now: wallClockNanos())
        case .ended(let why):
            r.join()
            if let failure = r.writeFailure {
                stopReason = .error
                writeFailureThrown = true
                throw failure
            }
            try flushWriting()
            switch why {
            case .signal(let sig): stopReason = .signal(sig)
            case .count: stopReason = .count
            case .duration: stopReason = .duration
            case .breakloop: stopReason = StopSignals.received.map { .signal($0) } ?? .requested
            case .requested: if stopReason == nil { stopReason = .requested }
            case .error(let message):
                stopReason = .error
                throw CaptureError(kind: .read, source: name, frame: framesCaptured + 1, message: message)
            case .writeFailed:
                stopReason = .error  // not reached: `writeFailure` is set first
            }
            return .end
        }
    }

    private func flushWriting() throws(CaptureError) {
        guard let dumper else { return }
        do { try dumper.flush() } catch {
            stopReason = .error
            reader?.join()
            throw error
        }
    }

    /// Waits for the capture descriptor to become readable, at most the read timeout (less when
    /// the `--duration` deadline is nearer, so the capture ends on time).
    private func waitForPackets(_ handle: OpaquePointer) -> Wait {
        let n = waitReadable(handle, descriptor: selectableDescriptor, timeoutMillis: options.readTimeoutMillis, until: deadline)
        if n > 0 { return .ready }
        if n == 0 { return .timeout }
        return errno == EINTR ? .interrupted : .ready  // let pcap_next_ex report real errors
    }

    /// The next frame; nil when the capture ends. Quiet periods are waited through.
    public func next() throws(CaptureError) -> CapturedFrame? {
        while true {
            switch try poll() {
            case .frame(let f): return f
            case .idle: continue
            case .end: return nil
            }
        }
    }

    /// The kernel's counters so far (nil once closed, or if the platform has none).
    public func statistics() -> CaptureStatistics? {
        guard let handle else { return nil }
        // Once the capture has ended, its thread is finished with the handle before we ask it.
        if stopReason != nil { reader?.join() }
        var s = pcap_stat()
        guard pcap_stats(handle, &s) == 0 else { return nil }
        return CaptureStatistics(
            received: UInt64(s.ps_recv), droppedByKernel: UInt64(s.ps_drop),
            droppedByInterface: UInt64(s.ps_ifdrop))
    }

    /// Flushes and closes the file being written, leaving a complete pcap. Safe to call twice.
    public func finishWriting() throws(CaptureError) {
        guard let d = dumper else { return }
        // The writer thread saves what the ring still holds first (this ends the capture).
        if reader?.dumper != nil {
            reader?.join()
            if let failure = reader?.writeFailure {
                dumper = nil
                try? d.close()
                // Reported once: by `poll()` if the analysis was still reading.
                if writeFailureThrown { return }
                throw failure
            }
        }
        dumper = nil
        try d.close()
    }

    /// Closes the file (if any) and the capture. Safe to call twice.
    public func close() {
        reader?.join()
        reader = nil
        try? finishWriting()
        guard let h = handle else { return }
        StopSignals.detach(h)
        handle = nil
        program = nil
        pcap_close(h)
    }

    /// Seconds from activation to the end of the capture (or to now, while it runs).
    public var elapsedSeconds: Double { Double((endedAt ?? monotonicNanos()) - startedAt) / 1e9 }
}

/// Waits for a capture's descriptor to become readable: at most `timeoutMillis`, less when `until`
/// (CLOCK_MONOTONIC nanoseconds: a `--duration` deadline, the end of a drain) is nearer, and less
/// while libpcap asks for a shorter wait (`pcap_get_required_select_timeout`, set while it waits to
/// learn whether a downed interface went away). Returns poll(2)'s result.
func waitReadable(_ handle: OpaquePointer, descriptor: Int32, timeoutMillis: Int32, until: Int64?) -> Int32 {
    var millis = Int64(timeoutMillis)
    if let until {
        let left = (until - monotonicNanos() + 999_999) / 1_000_000
        millis = max(0, min(millis, left))
    }
    if let required = pcap_get_required_select_timeout(handle) {
        let r = Int64(required.pointee.tv_sec) * 1000 + Int64(required.pointee.tv_usec) / 1000
        millis = min(millis, max(1, r))
    }
    var pfd = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
    return poll(&pfd, 1, Int32(millis))
}

/// CLOCK_MONOTONIC in nanoseconds.
public func monotonicNanos() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
}

/// CLOCK_REALTIME in nanoseconds since the epoch (the clock packet timestamps use).
public func wallClockNanos() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
}

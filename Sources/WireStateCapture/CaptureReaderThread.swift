#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif
import CPcap

/// The capture thread of a live capture: it reads libpcap and copies each frame into a ring in
/// memory, and does nothing else, so the kernel's buffer is emptied as fast as packets arrive.
/// Decoding, tracking and output happen on the analysis thread, which takes frames out of the
/// ring (`LiveCapture.poll`); the `--write` file is written by a writer thread of its own, which
/// reads the same ring.
///
/// Why: with one thread, every packet waited for the analysis and the output of the packet before
/// it; a replay of 300k packets onto loopback at ~220k packets/s lost two thirds of them in the
/// kernel (tcpdump, which only copies, lost none). Now a burst is absorbed by the kernel buffer
/// *and* the ring, and a steady rate is limited by the analysis alone.
///
/// The ring holds records laid end to end: a 24-byte header (seconds, the sub-second field as
/// libpcap gave it, captured and wire length) and the frame's bytes, padded to 8. A record never
/// straddles the end of the ring: the producer skips the rest (marking it when a header fits).
/// `head` and `tail` are byte counts that only grow (position = count mod capacity); both are read
/// and written under `lock`, which each side takes once per frame and never while copying.
///
/// When the ring is full the capture thread waits for space: packets then queue in the kernel and,
/// when that fills too, the kernel drops them and counts the drops (`pcap_stats`), so every loss is
/// still reported, never hidden in user space.
///
/// **The writer.** With a file to save, a record's space is free only once both the analysis
/// (`head`) and the writer (`written`) are past it. The writer takes every record the capture
/// thread has added since its last turn, hands them to libpcap's dumper (stdio-buffered: a write
/// per buffer, not per packet) and flushes whenever it has caught up with the capture thread, so
/// the file on disk is complete up to the last quiet moment. Before, the analysis thread wrote the
/// file between frames: replaying 1M frames at ~300k packets/s onto loopback, `live --format jsonl`
/// lost none in the kernel and `live --format jsonl --write FILE` lost a third. A write error
/// (a full disk) ends the capture: the analysis sees `.ended(.writeFailed)` after the frames it
/// already took, and `writeFailure` says why.
final class CaptureReaderThread {
    /// Why the capture thread stopped reading.
    enum End: Equatable {
        case breakloop, count, duration, signal(Int32), requested, error(String)
        /// The writer could not write the file (`writeFailure` has the error).
        case writeFailed
    }

    static let headerSize = 24

    let capacity: Int
    private let ring: UnsafeMutableRawPointer
    private let lock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let dataReady = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let spaceReady = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let writeReady = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var thread: pthread_t?
    private var writerThread: pthread_t?
    /// The file every captured frame is saved to (nil: none). Only the writer thread touches it
    /// once started, and the owner again after `join()`.
    let dumper: PcapDumper?

    // Guarded by `lock`.
    private var head = 0
    private var tail = 0
    private var ended: End?
    private var stopRequested = false
    private var consumerWaiting = false
    private var producerWaiting = false
    /// The writer's cursor, like `head` (equal to `tail` whenever there is no file).
    private var written = 0
    private var writerWaiting = false
    private var failure: CaptureError?

    // The capture thread's own (set before it starts, read only by it).
    private let handle: OpaquePointer
    private let descriptor: Int32
    private let readTimeoutMillis: Int32
    // Set by either side after start (`LiveCapture.stop(after:)`, `packetLimit`): guarded by `lock`.
    private var deadline: Int64?
    private var packetLimit: UInt64?
    private let nanosecondTimestamps: Bool

    // The analysis thread's own.
    private var pendingRelease = 0
    /// Whether the frame `take` returned last was the newest in the ring (the analysis has caught
    /// up with the wire): the moment to flush buffered output.
    private(set) var caughtUp = true

    init(
        handle: OpaquePointer, descriptor: Int32, readTimeoutMillis: Int32, deadline: Int64?, packetLimit: UInt64?,
        nanosecondTimestamps: Bool, capacity: Int, dumper: PcapDumper? = nil
    ) {
        self.dumper = dumper
        self.handle = handle
        self.nanosecondTimestamps = nanosecondTimestamps
        self.descriptor = descriptor
        self.readTimeoutMillis = readTimeoutMillis
        self.deadline = deadline
        self.packetLimit = packetLimit
        self.capacity = capacity
        ring = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 8)
        pthread_mutex_init(lock, nil)
        pthread_cond_init(dataReady, nil)
        pthread_cond_init(spaceReady, nil)
        pthread_cond_init(writeReady, nil)
    }

    deinit {
        join()
        pthread_cond_destroy(writeReady)
        pthread_cond_destroy(spaceReady)
        pthread_cond_destroy(dataReady)
        pthread_mutex_destroy(lock)
        spaceReady.deallocate()
        writeReady.deallocate()
        dataReady.deallocate()
        lock.deallocate()
        ring.deallocate()
    }

    /// Starts the capture thread (and the writer, with a file). Returns false if the system would
    /// not start them (the caller then reads, and writes, on its own thread, as before).
    func start() -> Bool {
        if dumper != nil {
            guard let w = spawn({ $0.writeLoop() }) else { return false }
            writerThread = w
        }
        guard let t = spawn({ $0.readLoop() }) else {
            finish(.requested)
            if let w = writerThread { pthread_join(w, nil) }
            writerThread = nil
            return false
        }
        thread = t
        return true
    }

    private func spawn(_ body: @escaping (CaptureReaderThread) -> Void) -> pthread_t? {
        final class Start {
            let me: CaptureReaderThread
            let body: (CaptureReaderThread) -> Void
            init(_ me: CaptureReaderThread, _ body: @escaping (CaptureReaderThread) -> Void) {
                self.me = me
                self.body = body
            }
        }
        var t = pthread_t()
        let context = Unmanaged.passRetained(Start(self, body)).toOpaque()
        let rc = pthread_create(
            &t, nil,
            { raw in
                #if canImport(Darwin)
                    let start = Unmanaged<Start>.fromOpaque(raw).takeRetainedValue()
                #else
                    let start = Unmanaged<Start>.fromOpaque(raw!).takeRetainedValue()
                #endif
                start.body(start.me)
                return nil
            }, context)
        if rc != 0 {
            Unmanaged<Start>.fromOpaque(context).release()
            return nil
        }
        return t
    }

    /// Waits for the capture thread to finish (after `requestStop`, or once it has ended), then
    /// for the writer to save what the ring still holds.
    func join() {
        if let t = thread {
            thread = nil
            requestStop()
            pthread_join(t, nil)
        }
        if let w = writerThread {
            writerThread = nil
            pthread_join(w, nil)
        }
    }

    /// Why the writer stopped writing, if it failed (read it after `.ended(.writeFailed)`).
    var writeFailure: CaptureError? {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        return failure
    }

    /// Asks the capture thread to stop reading; frames already in the ring are still delivered.
    func requestStop() {
        pthread_mutex_lock(lock)
        stopRequested = true
        pthread_cond_signal(spaceReady)
        pthread_mutex_unlock(lock)
        pcap_breakloop(handle)
    }

    // MARK: Analysis side

    /// One frame out of the ring, or why there is none. The frame's bytes stay valid until the next
    /// call (the same borrowing rule as `pcap_next_ex`).
    enum Take {
        case frame(seconds: Int64, fraction: Int64, capturedLength: Int, wireLength: Int, bytes: UnsafeRawPointer)
        /// Nothing within `waitMillis`.
        case empty
        case ended(End)
    }

    func take(waitMillis: Int32) -> Take {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        if pendingRelease > 0 {
            head += pendingRelease
            pendingRelease = 0
            if producerWaiting { pthread_cond_signal(spaceReady) }
        }
        while true {
            if failure != nil { return .ended(.writeFailed) }
            if head == tail {
                if let ended { return .ended(ended) }
                guard waitMillis > 0 else { return .empty }
                consumerWaiting = true
                var until = timespec()
                clock_gettime(CLOCK_REALTIME, &until)
                let nanos = Int(until.tv_nsec) + Int(waitMillis) * 1_000_000
                until.tv_sec += nanos / 1_000_000_000
                until.tv_nsec = nanos % 1_000_000_000
                let rc = pthread_cond_timedwait(dataReady, lock, &until)
                consumerWaiting = false
                if head == tail {
                    if let ended { return .ended(ended) }
                    if rc != 0 { return .empty }
                    continue
                }
            }
            guard let (record, captured) = record(at: &head) else { continue }
            pendingRelease = Self.recordSize(Int(captured))
            caughtUp = head + pendingRelease == tail
            return .frame(
                seconds: record.load(fromByteOffset: 0, as: Int64.self),
                fraction: record.load(fromByteOffset: 8, as: Int64.self),
                capturedLength: Int(captured),
                wireLength: Int(record.load(fromByteOffset: 20, as: UInt32.self)),
                bytes: UnsafeRawPointer(record + Self.headerSize))
        }
    }

    static func recordSize(_ captured: Int) -> Int { headerSize + (captured + 7) & ~7 }

    /// The record at ring position `cursor` and its captured length, or nil at the ring's end
    /// padding (too little room left for a header, or a skip marker: the rest of the ring was
    /// skipped), which it steps `cursor` over. Both readers (analysis and writer) walk the ring
    /// by this one rule.
    @inline(__always)
    private func record(at cursor: inout Int) -> (UnsafeMutableRawPointer, UInt32)? {
        let offset = cursor % capacity
        let left = capacity - offset
        if left < Self.headerSize {
            cursor += left
            return nil
        }
        let record = ring + offset
        let captured = record.load(fromByteOffset: 16, as: UInt32.self)
        if captured == UInt32.max {
            cursor += left
            return nil
        }
        return (record, captured)
    }

    // MARK: Capture side

    /// Changes the limits the capture thread reads to (`LiveCapture` forwards its own).
    func set(deadline: Int64?, packetLimit: UInt64?) {
        pthread_mutex_lock(lock)
        self.deadline = deadline
        self.packetLimit = packetLimit
        pthread_mutex_unlock(lock)
    }

    private func controls() -> (stop: Bool, deadline: Int64?, limit: UInt64?) {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        return (stopRequested, deadline, packetLimit)
    }

    private func readLoop() {
        var header: UnsafeMutablePointer<pcap_pkthdr>?
        var data: UnsafePointer<UInt8>?
        while true {
            let (stop, deadline, packetLimit) = controls()
            if let sig = StopSignals.received { return finish(.signal(sig), draining: true) }
            if let packetLimit, frames >= packetLimit { return finish(.count) }
            if let deadline, monotonicNanos() >= deadline { return finish(.duration, draining: true) }
            if stop { return finish(.requested) }
            let rc = pcap_next_ex(handle, &header, &data)
            switch rc {
            case 1:
                frames += 1
                guard put(header!.pointee, data!) else { return finish(.requested) }
            case 0:
                // Nothing ready: wait on the descriptor (libpcap's own timeout does not return on Linux).
                waitForPackets(untilMonotonic: deadline)
            case PCAP_ERROR_BREAK:
                if let sig = StopSignals.received { return finish(.signal(sig), draining: true) }
                return finish(stopWasRequested() ? .requested : .breakloop)
            default:
                return finish(.error(String(cString: pcap_geterr(handle))))
            }
        }
    }

    /// Frames read so far (the capture thread's count, for `packetLimit`).
    private var frames: UInt64 = 0

    /// After a signal or the `--duration` deadline: the kernel hands over a partly filled block
    /// only at the read timeout, so frames captured just before the stop may still be on their way.
    /// Read for one more timeout (and a margin), keeping the frames stamped before the stop.
    private func drain() {
        let stopWall = wallClockNanos()
        let end = monotonicNanos() + (Int64(readTimeoutMillis) + 50) * 1_000_000
        var header: UnsafeMutablePointer<pcap_pkthdr>?
        var data: UnsafePointer<UInt8>?
        let packetLimit = controls().limit
        while monotonicNanos() < end {
            if let packetLimit, frames >= packetLimit { return }
            switch pcap_next_ex(handle, &header, &data) {
            case 1:
                let h = header!.pointee
                let stamped = Int64(h.ts.tv_sec) * 1_000_000_000 + Int64(h.ts.tv_usec) * (nanosecondTimestamps ? 1 : 1000)
                guard stamped <= stopWall else { return }
                frames += 1
                guard put(h, data!) else { return }
            case 0:
                waitForPackets(untilMonotonic: end)
            case PCAP_ERROR_BREAK:
                continue  // the signal's own pcap_breakloop, not yet consumed by a read
            default:
                return
            }
        }
    }

    private func stopWasRequested() -> Bool {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        return stopRequested
    }

    /// Copies one frame into the ring, waiting for space; false if a stop was asked meanwhile.
    private func put(_ h: pcap_pkthdr, _ data: UnsafePointer<UInt8>) -> Bool {
        // A frame larger than half the ring cannot be queued behind another: keep what fits (the
        // ring is sized from the snapshot length, so this only guards against a lying header).
        let captured = min(Int(h.caplen), capacity / 2 - Self.headerSize - 8)
        let size = Self.recordSize(captured)
        pthread_mutex_lock(lock)
        var at = tail % capacity
        var skip = capacity - at < size ? capacity - at : 0
        while capacity - (tail - min(head, written)) < skip + size {
            if stopRequested {
                pthread_mutex_unlock(lock)
                return false
            }
            producerWaiting = true
            pthread_cond_wait(spaceReady, lock)
            producerWaiting = false
            at = tail % capacity
            skip = capacity - at < size ? capacity - at : 0
        }
        pthread_mutex_unlock(lock)
        // The bytes between tail and head + capacity are the producer's: copy without the lock.
        if skip >= Self.headerSize {
            (ring + at).storeBytes(of: UInt32.max, toByteOffset: 16, as: UInt32.self)
        }
        let record = ring + (tail + skip) % capacity
        record.storeBytes(of: Int64(h.ts.tv_sec), toByteOffset: 0, as: Int64.self)
        record.storeBytes(of: Int64(h.ts.tv_usec), toByteOffset: 8, as: Int64.self)
        record.storeBytes(of: UInt32(captured), toByteOffset: 16, as: UInt32.self)
        record.storeBytes(of: UInt32(truncatingIfNeeded: h.len), toByteOffset: 20, as: UInt32.self)
        (record + Self.headerSize).copyMemory(from: data, byteCount: captured)
        pthread_mutex_lock(lock)
        tail += skip + size
        if dumper == nil { written = tail }
        if consumerWaiting { pthread_cond_signal(dataReady) }
        if writerWaiting { pthread_cond_signal(writeReady) }
        pthread_mutex_unlock(lock)
        return true
    }

    private func finish(_ why: End, draining: Bool = false) {
        if draining { drain() }
        pthread_mutex_lock(lock)
        if ended == nil { ended = why }
        pthread_cond_signal(dataReady)
        pthread_cond_signal(writeReady)
        pthread_mutex_unlock(lock)
    }

    // MARK: Writer side

    /// Saves every record the capture thread adds, in order, until the capture has ended and the
    /// ring is written out (or a write fails). Flushes whenever it has caught up.
    private func writeLoop() {
        guard let dumper else { return }
        var header = pcap_pkthdr()
        while true {
            pthread_mutex_lock(lock)
            while written == tail && ended == nil {
                writerWaiting = true
                pthread_cond_wait(writeReady, lock)
                writerWaiting = false
            }
            let from = written, to = tail, done = ended != nil
            pthread_mutex_unlock(lock)
            // The records in [from, to) stay put until `written` passes them: read without the lock.
            var at = from
            var failed: CaptureError?
            while at < to, failed == nil {
                guard let (record, captured) = record(at: &at) else { continue }
                header.ts.tv_sec = time_t(record.load(fromByteOffset: 0, as: Int64.self))
                header.ts.tv_usec = suseconds_t(record.load(fromByteOffset: 8, as: Int64.self))
                header.caplen = captured
                header.len = record.load(fromByteOffset: 20, as: UInt32.self)
                do throws(CaptureError) {
                    try dumper.append(&header, (record + Self.headerSize).assumingMemoryBound(to: UInt8.self))
                } catch { failed = error }
                at += Self.recordSize(Int(captured))
            }
            pthread_mutex_lock(lock)
            written = to
            let caughtUp = written == tail
            if producerWaiting { pthread_cond_signal(spaceReady) }
            pthread_mutex_unlock(lock)
            if failed == nil && (caughtUp || done) {
                do throws(CaptureError) { try dumper.flush() } catch { failed = error }
            }
            if let failed {
                fail(failed)
                return
            }
            if done && caughtUp { return }
        }
    }

    /// The file cannot be written: record why, stop the capture, and free the ring for good.
    private func fail(_ error: CaptureError) {
        pthread_mutex_lock(lock)
        failure = error
        written = Int.max / 2
        stopRequested = true
        pthread_cond_signal(spaceReady)
        pthread_cond_signal(dataReady)
        pthread_mutex_unlock(lock)
        pcap_breakloop(handle)
    }

    private func waitForPackets(untilMonotonic until: Int64?) {
        _ = waitReadable(handle, descriptor: descriptor, timeoutMillis: readTimeoutMillis, until: until)
    }
}

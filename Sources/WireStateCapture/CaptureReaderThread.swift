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
/// Decoding, tracking, output and the `--write` file all happen on the analysis thread, which
/// takes frames out of the ring (`LiveCapture.poll`).
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
final class CaptureReaderThread {
    /// Why the capture thread stopped reading.
    enum End: Equatable {
        case breakloop, count, duration, signal(Int32), requested, error(String)
    }

    static let headerSize = 24

    let capacity: Int
    private let ring: UnsafeMutableRawPointer
    private let lock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let dataReady = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let spaceReady = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var thread: pthread_t?

    // Guarded by `lock`.
    private var head = 0
    private var tail = 0
    private var ended: End?
    private var stopRequested = false
    private var consumerWaiting = false
    private var producerWaiting = false

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
        nanosecondTimestamps: Bool, capacity: Int
    ) {
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
    }

    deinit {
        join()
        pthread_cond_destroy(spaceReady)
        pthread_cond_destroy(dataReady)
        pthread_mutex_destroy(lock)
        spaceReady.deallocate()
        dataReady.deallocate()
        lock.deallocate()
        ring.deallocate()
    }

    /// Starts the capture thread. Returns false if the system would not start one (the caller
    /// then reads on its own thread, as before).
    func start() -> Bool {
        var t = pthread_t()
        let context = Unmanaged.passRetained(self).toOpaque()
        let rc = pthread_create(
            &t, nil,
            { raw in
                #if canImport(Darwin)
                    let me = Unmanaged<CaptureReaderThread>.fromOpaque(raw).takeRetainedValue()
                #else
                    let me = Unmanaged<CaptureReaderThread>.fromOpaque(raw!).takeRetainedValue()
                #endif
                me.readLoop()
                return nil
            }, context)
        if rc != 0 {
            Unmanaged<CaptureReaderThread>.fromOpaque(context).release()
            return false
        }
        thread = t
        return true
    }

    /// Waits for the capture thread to finish (after `requestStop`, or once it has ended).
    func join() {
        guard let t = thread else { return }
        thread = nil
        requestStop()
        pthread_join(t, nil)
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
            let at = head % capacity
            let left = capacity - at
            if left < Self.headerSize {
                head += left
                continue
            }
            let record = ring + at
            let captured = record.load(fromByteOffset: 16, as: UInt32.self)
            if captured == UInt32.max {  // the rest of the ring was skipped
                head += left
                continue
            }
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
        while capacity - (tail - head) < skip + size {
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
        if consumerWaiting { pthread_cond_signal(dataReady) }
        pthread_mutex_unlock(lock)
        return true
    }

    private func finish(_ why: End, draining: Bool = false) {
        if draining { drain() }
        pthread_mutex_lock(lock)
        if ended == nil { ended = why }
        pthread_cond_signal(dataReady)
        pthread_mutex_unlock(lock)
    }

    private func waitForPackets(untilMonotonic until: Int64?) {
        _ = waitReadable(handle, descriptor: descriptor, timeoutMillis: readTimeoutMillis, until: until)
    }
}

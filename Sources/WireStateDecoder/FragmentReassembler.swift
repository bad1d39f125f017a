/// Learns the whole length of TCP segments that travelled in IP fragments.
///
/// The decoder reads the TCP header from the first fragment and counts later fragments without
/// decoding them. The tracker needs the segment's real length (else the later fragments' bytes look
/// like a capture gap), so the first fragment's segment is held here until every byte of its
/// datagram has been seen, then released with its true payload length — at the frame that
/// completed it, as Wireshark shows a reassembled packet. Pure and bounded: at most `limit`
/// datagrams are held, for at most `timeout` of capture time; what does not complete is released
/// as it is (its missing bytes then show as the capture gap they are).
///
/// Lookup is by key; expiry reads only the oldest held datagram (an arrival-order queue), so the
/// cost per frame does not grow with the number held, and what is released comes out in arrival
/// order, the same on every run.
public struct FragmentReassembler: Sendable {
    struct Key: Hashable, Sendable {
        var source: IPAddress
        var destination: IPAddress
        var identification: UInt32
    }

    struct Pending: Sendable {
        var first: TCPSegment?
        /// IP payload bytes seen (all fragments), and the datagram's payload length once the
        /// fragment without "more fragments" told it.
        var received: UInt32 = 0
        var total: UInt32?
        var since: Int64
        /// Its place in `arrivals`, so a stale queue entry (completed, then the key reused) is told apart.
        var serial: UInt64 = 0
    }

    public var limit = 1024
    public var timeout: Int64 = 30_000_000_000
    private var pending: [Key: Pending] = [:]
    /// Held datagrams in arrival order; entries whose datagram completed are skipped lazily.
    private var arrivals: [(key: Key, serial: UInt64, since: Int64)] = []
    private var arrivalsHead = 0
    private var nextSerial: UInt64 = 0

    public init() {}

    public var heldCount: Int { pending.count }

    /// A first fragment (decoded TCP header). Returns the whole segment if the datagram is complete.
    public mutating func first(_ s: TCPSegment, time: Int64) -> TCPSegment? {
        let key = Key(source: s.source.address, destination: s.destination.address, identification: s.ipIdentification)
        var p = pending[key] ?? arrive(key, time)
        p.first = s
        p.received &+= s.fragmentLength
        return settle(key, p)
    }

    /// A later fragment (only its addresses, identification, offset, length and flag are read).
    public mutating func later(_ s: TCPSegment, time: Int64) -> TCPSegment? {
        let key = Key(source: s.source.address, destination: s.destination.address, identification: s.ipIdentification)
        var p = pending[key] ?? arrive(key, time)
        p.received &+= s.fragmentLength
        if !s.moreFragments { p.total = s.fragmentOffset &+ s.fragmentLength }
        return settle(key, p)
    }

    private mutating func settle(_ key: Key, _ p: Pending) -> TCPSegment? {
        if var first = p.first, let total = p.total, p.received >= total {
            pending[key] = nil
            let headers = UInt32(first.headerLength) &+ first.fragmentHeaderBytes
            first.payloadLength = total > headers ? total - headers : 0
            first.isFragment = false
            return first
        }
        pending[key] = p
        return nil
    }

    /// A datagram seen for the first time joins the back of the arrival queue.
    private mutating func arrive(_ key: Key, _ time: Int64) -> Pending {
        nextSerial &+= 1
        arrivals.append((key, nextSerial, time))
        return Pending(since: time, serial: nextSerial)
    }

    /// The oldest datagram still held, dropping queue entries of those already completed.
    private mutating func oldest() -> (key: Key, pending: Pending)? {
        while arrivalsHead < arrivals.count {
            let a = arrivals[arrivalsHead]
            if let p = pending[a.key], p.serial == a.serial { return (a.key, p) }
            arrivalsHead += 1
        }
        arrivals.removeAll(keepingCapacity: true)
        arrivalsHead = 0
        return nil
    }

    private mutating func dropOldest() {
        arrivalsHead += 1
        // Reclaim the consumed front once it is most of the array (amortised O(1)).
        if arrivalsHead > 64 && arrivalsHead * 2 > arrivals.count {
            arrivals.removeFirst(arrivalsHead)
            arrivalsHead = 0
        }
    }

    /// Releases first fragments held longer than `timeout` (or beyond `limit`), as they are,
    /// oldest first. Reads only the front of the arrival queue.
    public mutating func expire(now: Int64, into out: inout [TCPSegment]) {
        // The common case, read without a lookup: nothing is old enough and the limit holds.
        if pending.count <= limit, arrivalsHead < arrivals.count,
            CaptureTimeDifference.elapsed(from: arrivals[arrivalsHead].since, to: now) < timeout
        {
            return
        }
        while let (key, p) = oldest() {
            guard pending.count > limit || CaptureTimeDifference.elapsed(from: p.since, to: now) >= timeout else { return }
            pending[key] = nil
            dropOldest()
            if let first = p.first { out.append(first) }
        }
    }

    /// Releases everything still held (end of input), in arrival order.
    public mutating func flush(into out: inout [TCPSegment]) {
        while let (key, p) = oldest() {
            pending[key] = nil
            dropOldest()
            if let first = p.first { out.append(first) }
        }
        pending.removeAll()
    }
}

/// The decoder's own saturating time difference (the tracker's `CaptureTime` lives above it).
enum CaptureTimeDifference {
    @inline(__always)
    static func elapsed(from: Int64, to: Int64) -> Int64 {
        let (d, overflow) = to.subtractingReportingOverflow(from)
        return overflow ? (to > from ? .max : .min) : d
    }
}

/// Learns the whole length of TCP segments that travelled in IP fragments.
///
/// The decoder reads the TCP header from the first fragment and counts later fragments without
/// decoding them. The tracker needs the segment's real length (else the later fragments' bytes look
/// like a capture gap), so the first fragment's segment is held here until every byte of its
/// datagram has been seen, then released with its true payload length — at the frame that
/// completed it, as Wireshark shows a reassembled packet. Pure and bounded: at most `limit`
/// datagrams are held, for at most `timeout` of capture time; what does not complete is released
/// as it is (its missing bytes then show as the capture gap they are).
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
    }

    public var limit = 1024
    public var timeout: Int64 = 30_000_000_000
    private var pending: [Key: Pending] = [:]

    public init() {}

    public var heldCount: Int { pending.count }

    /// A first fragment (decoded TCP header). Returns the whole segment if the datagram is complete.
    public mutating func first(_ s: TCPSegment, time: Int64) -> TCPSegment? {
        let key = Key(source: s.source.address, destination: s.destination.address, identification: s.ipIdentification)
        var p = pending[key] ?? Pending(since: time)
        p.first = s
        p.received &+= s.fragmentLength
        return settle(key, p)
    }

    /// A later fragment (only its addresses, identification, offset, length and flag are read).
    public mutating func later(_ s: TCPSegment, time: Int64) -> TCPSegment? {
        let key = Key(source: s.source.address, destination: s.destination.address, identification: s.ipIdentification)
        var p = pending[key] ?? Pending(since: time)
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

    /// Releases first fragments held longer than `timeout` (or beyond `limit`), as they are.
    public mutating func expire(now: Int64, into out: inout [TCPSegment]) {
        guard !pending.isEmpty else { return }
        let overLimit = pending.count > limit
        for (key, p) in pending where overLimit || now &- p.since >= timeout {
            pending[key] = nil
            if let first = p.first { out.append(first) }
        }
    }

    /// Releases everything still held (end of input).
    public mutating func flush(into out: inout [TCPSegment]) {
        for p in pending.values { if let first = p.first { out.append(first) } }
        pending.removeAll()
    }
}

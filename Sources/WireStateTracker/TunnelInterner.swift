import WireStateDecoder

/// Numbers the distinct tunnel paths seen (0 = no tunnel), so the flow key carries a 4-byte tunnel
/// id instead of a whole `TunnelPath`: plain traffic pays nothing (no lookup, a small key), and
/// tunnelled traffic one dictionary lookup per packet.
///
/// Paths compare by their direction-free identities (`TunnelPath ==`), so both directions of a
/// GTP-U or GRE flow get the same number. The table keeps every path it has seen: one entry per
/// distinct tunnel (VNI, outer address pair, …), not per connection.
struct TunnelInterner {
    private var ids: [TunnelPath: UInt32] = [:]
    /// Path `n` is `paths[n - 1]`: the first packet's path with that identity (so a per-direction
    /// id in it, a TEID or GRE key, is that packet's).
    private(set) var paths: [TunnelPath] = []

    @inline(__always)
    mutating func id(_ path: TunnelPath) -> UInt32 {
        if path.isEmpty { return 0 }
        return slowID(path)
    }

    private mutating func slowID(_ path: TunnelPath) -> UInt32 {
        if let id = ids[path] { return id }
        let id = UInt32(truncatingIfNeeded: ids.count + 1)
        ids[path] = id
        paths.append(path)
        return id
    }
}

/// How one endpoint's advertised windows are scaled (RFC 7323 §2.2-2.3), in one value.
///
/// Scaling is on only when both SYNs carried the option; each side then shifts its own windows by
/// the count its own SYN offered (at most 14, §2.3), and windows in SYN segments are never scaled.
/// Until both SYNs are known the shift is `pending` with what this endpoint offered; once settled it
/// is `known`, or `unknowable` when the capture cannot tell (a missed SYN whose SYN+ACK shows scaling
/// was on; a SYN whose options the snaplen cut) — then window checks stay off (design note §4).
enum WindowScale: Equatable, Sendable {
    /// Not settled: `offered` is what this endpoint's first SYN offered (nil: none, or no SYN yet),
    /// `optionsCut` whether a SYN of its had its options cut by the capture.
    case pending(offered: UInt8?, optionsCut: Bool)
    /// Windows are shifted left by `shift` (0 when scaling is off).
    case known(shift: UInt8)
    /// The shift cannot be learnt from this capture.
    case unknowable

    static let initial = WindowScale.pending(offered: nil, optionsCut: false)

    /// The shift, when known.
    var shift: UInt8? { if case .known(let s) = self { return s } else { return nil } }

    var isPending: Bool { if case .pending = self { return true } else { return false } }

    /// Whether a SYN of this endpoint lost its options to the snaplen (only while pending).
    var optionsCut: Bool { if case .pending(_, let cut) = self { return cut } else { return false } }

    /// What the peer learns from this endpoint's SYN: its offer, or for an unknowable endpoint
    /// (its SYN+ACK-implied offer) "offered, count unknown" as 0.
    var offerSeenByPeer: UInt8? {
        switch self {
        case .pending(let offered, _): return offered
        case .unknowable: return 0
        case .known(let shift): return shift
        }
    }

    /// This endpoint's SYN, as captured. Only the first SYN's offer counts (a retransmission
    /// carries the same options); any SYN with cut options leaves it unknown.
    mutating func sawSyn(offering offer: UInt8?, first: Bool, optionsCut cut: Bool) {
        guard case .pending(let offered, let wasCut) = self else { return }
        self = .pending(offered: first ? offer : offered, optionsCut: wasCut || cut)
    }

    /// Both SYNs are known: settle from the peer's offer.
    mutating func settle(peerOffered: UInt8?) {
        guard case .pending(let mine, _) = self else { return }
        if let mine, peerOffered != nil { self = .known(shift: min(mine, 14)) } else { self = .known(shift: 0) }
    }
}

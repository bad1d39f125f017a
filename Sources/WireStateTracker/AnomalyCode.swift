import WireStateDecoder

/// How bad an anomaly is. Only `violation` means an endpoint broke RFC 9293.
public enum Severity: UInt8, Sendable, CaseIterable, Comparable {
    /// Legal but worth knowing: retransmissions, keep-alives, window probes, port reuse.
    case notable
    /// The capture, not the endpoints, is the likely cause: lost or missing packets, midstream start.
    case captureGap
    /// Legal in some readings or explainable by middleboxes, but unusual: check it.
    case suspicious
    /// An endpoint did something its RFC 9293 state does not allow.
    case violation

    public var name: String {
        switch self {
        case .notable: return "notable"
        case .captureGap: return "capture-gap"
        case .suspicious: return "suspicious"
        case .violation: return "violation"
        }
    }

    public init?(name: String) {
        guard let s = Severity.allCases.first(where: { $0.name == name }) else { return nil }
        self = s
    }

    public static func < (a: Severity, b: Severity) -> Bool { a.rawValue < b.rawValue }
}

/// The anomaly catalogue. Codes are stable once released: add, never rename.
/// `docs/anomalies.md` documents each with an example capture and the anchors' names for it.
public enum AnomalyCode: UInt8, Sendable, CaseIterable {
    // Handshake
    case synRetransmission
    case synIsnChanged
    case synInSynchronizedState
    case synWithData
    case synAckWithoutSyn
    case synAckWrongDirection
    case synAckBadAck
    case synAckRetransmission
    case synAckChanged
    case handshakeAckInvalid
    case simultaneousOpen
    case dataBeforeEstablished
    case finBeforeEstablished
    case refused
    case synNotCaptured
    case handshakeAckNotCaptured
    // Flags and header
    case invalidFlagCombination
    case missingAckFlag
    case ackNumberWithoutAckFlag
    case windowScaleOver14
    case malformedOption
    // Sequence and window
    case dataBeyondWindow
    case ackOfUnseenData
    case ackOfUnsentData
    case previousSegmentNotCaptured
    case retransmission
    case duplicateAck
    case keepAlive
    case zeroWindow
    case zeroWindowProbe
    case windowShrunk
    // Close
    case dataAfterFin
    case finSeqChanged
    case finRetransmission
    case simultaneousClose
    case segmentAfterClose
    case trafficAfterPeerReset
    case trafficAfterOwnReset
    case peerUnresponsive
    case peerReturned
    // Reset
    case rstOutOfWindow
    case rstChallenged
    case rstWithData
    case rstWithoutConnection
    case rstWithoutAck
    case rstBadAck
    // Incarnations
    case portReuse
    case reuseInTimeWait
    // Capture
    case midstreamPickup
    case oneSidedCapture
    case captureReordered
    case windowUpdateNotCaptured
    case ackTooOld
    case dataTooOld
    // Timestamps (RFC 7323)
    case pawsOldTsval
    case tsecrNotSent

    /// Stable kebab-case code used in every output format and in expectation files.
    public var code: String {
        switch self {
        case .synRetransmission: return "syn-retransmission"
        case .synIsnChanged: return "syn-isn-changed"
        case .synInSynchronizedState: return "syn-in-synchronized-state"
        case .synWithData: return "syn-with-data"
        case .synAckWithoutSyn: return "synack-without-syn"
        case .synAckWrongDirection: return "synack-wrong-direction"
        case .synAckBadAck: return "synack-bad-ack"
        case .synAckRetransmission: return "synack-retransmission"
        case .synAckChanged: return "synack-changed"
        case .handshakeAckInvalid: return "handshake-ack-invalid"
        case .simultaneousOpen: return "simultaneous-open"
        case .dataBeforeEstablished: return "data-before-established"
        case .finBeforeEstablished: return "fin-before-established"
        case .refused: return "refused"
        case .synNotCaptured: return "syn-not-captured"
        case .handshakeAckNotCaptured: return "handshake-ack-not-captured"
        case .invalidFlagCombination: return "invalid-flag-combination"
        case .missingAckFlag: return "missing-ack-flag"
        case .ackNumberWithoutAckFlag: return "ack-number-without-ack-flag"
        case .windowScaleOver14: return "window-scale-over-14"
        case .malformedOption: return "malformed-option"
        case .dataBeyondWindow: return "data-beyond-window"
        case .ackOfUnseenData: return "ack-of-unseen-data"
        case .ackOfUnsentData: return "ack-of-unsent-data"
        case .previousSegmentNotCaptured: return "previous-segment-not-captured"
        case .retransmission: return "retransmission"
        case .duplicateAck: return "duplicate-ack"
        case .keepAlive: return "keep-alive"
        case .zeroWindow: return "zero-window"
        case .zeroWindowProbe: return "zero-window-probe"
        case .windowShrunk: return "window-shrunk"
        case .dataAfterFin: return "data-after-fin"
        case .finSeqChanged: return "fin-seq-changed"
        case .finRetransmission: return "fin-retransmission"
        case .simultaneousClose: return "simultaneous-close"
        case .segmentAfterClose: return "segment-after-close"
        case .trafficAfterPeerReset: return "traffic-after-peer-reset"
        case .trafficAfterOwnReset: return "traffic-after-own-reset"
        case .peerUnresponsive: return "peer-unresponsive"
        case .peerReturned: return "peer-returned"
        case .rstOutOfWindow: return "rst-out-of-window"
        case .rstChallenged: return "rst-challenged"
        case .rstWithData: return "rst-with-data"
        case .rstWithoutConnection: return "rst-without-connection"
        case .rstWithoutAck: return "rst-without-ack"
        case .rstBadAck: return "rst-bad-ack"
        case .portReuse: return "port-reuse"
        case .reuseInTimeWait: return "reuse-in-time-wait"
        case .midstreamPickup: return "midstream-pickup"
        case .oneSidedCapture: return "one-sided-capture"
        case .captureReordered: return "capture-reordered"
        case .windowUpdateNotCaptured: return "window-update-not-captured"
        case .ackTooOld: return "ack-too-old"
        case .dataTooOld: return "data-too-old"
        case .pawsOldTsval: return "paws-old-tsval"
        case .tsecrNotSent: return "tsecr-not-sent"
        }
    }

    public init?(code: String) {
        guard let c = AnomalyCode.allCases.first(where: { $0.code == code }) else { return nil }
        self = c
    }

    public var severity: Severity {
        switch self {
        case .synRetransmission, .synWithData, .synAckRetransmission, .simultaneousOpen, .refused,
            .retransmission, .duplicateAck, .keepAlive, .zeroWindow, .zeroWindowProbe,
            .finRetransmission, .simultaneousClose, .rstWithData, .portReuse, .reuseInTimeWait, .peerReturned:
            return .notable
        case .synNotCaptured, .handshakeAckNotCaptured, .ackOfUnseenData, .previousSegmentNotCaptured, .rstWithoutConnection,
            .midstreamPickup, .oneSidedCapture, .captureReordered,
            .windowUpdateNotCaptured:
            return .captureGap
        case .ackNumberWithoutAckFlag, .windowShrunk, .rstOutOfWindow, .rstChallenged, .rstWithoutAck, .rstBadAck, .trafficAfterPeerReset,
            .trafficAfterOwnReset,
            .synAckWithoutSyn, .peerUnresponsive, .pawsOldTsval, .tsecrNotSent,
            .ackTooOld, .dataTooOld:
            return .suspicious
        case .synIsnChanged, .synInSynchronizedState, .synAckWrongDirection, .synAckBadAck, .synAckChanged,
            .handshakeAckInvalid, .dataBeforeEstablished, .finBeforeEstablished, .invalidFlagCombination,
            .missingAckFlag, .ackOfUnsentData, .windowScaleOver14, .malformedOption, .dataBeyondWindow, .dataAfterFin,
            .finSeqChanged, .segmentAfterClose:
            return .violation
        }
    }

    /// One plain sentence; `who` is "client" or "server", the endpoint the anomaly is about.
    public func sentence(who: String, expected: UInt32?, actual: UInt32?) -> String {
        let e = expected.map(String.init) ?? "?"
        let a = actual.map(String.init) ?? "?"
        switch self {
        case .synRetransmission: return "\(who) retransmitted its SYN (same ISN \(a))"
        case .synIsnChanged: return "\(who) sent another SYN with ISN \(a) before the handshake finished (first ISN \(e))"
        case .synInSynchronizedState: return "\(who) sent a SYN with ISN \(a) inside a synchronized connection (ISN was \(e))"
        case .synWithData: return "\(who) sent \(a) bytes of data on its SYN (TCP Fast Open or similar)"
        case .synAckWithoutSyn: return "\(who) sent a SYN+ACK although no SYN reached it"
        case .synAckWrongDirection: return "\(who) sent a SYN+ACK for the connection it opened itself"
        case .synAckBadAck: return "\(who)'s SYN+ACK acknowledges \(a), expected ISN+1 = \(e)"
        case .synAckRetransmission: return "\(who) retransmitted its SYN+ACK"
        case .synAckChanged: return "\(who) sent a SYN+ACK with ISN \(a), its first SYN+ACK had \(e)"
        case .handshakeAckInvalid: return "\(who) completed the handshake acknowledging \(a), expected \(e)"
        case .simultaneousOpen: return "\(who)'s SYN crossed its peer's (simultaneous open)"
        case .dataBeforeEstablished: return "\(who) sent \(a) bytes of data before the handshake completed"
        case .finBeforeEstablished: return "\(who) sent a FIN before the handshake completed"
        case .refused: return "\(who) refused the connection with a RST (no listener)"
        case .synNotCaptured: return "the SYN was not captured; the connection is seen from the SYN+ACK on"
        case .handshakeAckNotCaptured: return "\(who)'s handshake ACK was not captured: its peer sent data, which it does only once that ACK has arrived"
        case .invalidFlagCombination: return "\(who) sent an impossible flag combination (\(TCPFlagNames.render(actual)))"
        case .missingAckFlag: return "\(who) sent a segment without the ACK flag in a synchronized state"
        case .ackNumberWithoutAckFlag: return "\(who) sent a non-zero acknowledgment number \(a) without the ACK flag"
        case .windowScaleOver14: return "\(who) offered window scale \(a), above the maximum of 14"
        case .malformedOption: return "\(who) sent a TCP option with an impossible length"
        case .dataBeyondWindow: return "\(who) sent data up to \(a), beyond the receiver's window edge \(e)"
        case .ackOfUnseenData:
            guard expected != nil else { return "\(who) acknowledged \(a), data its peer was never seen to send (segments not captured)" }
            return "\(who) acknowledged \(a), beyond the \(e) its peer was seen to send (segment not captured)"
        case .ackOfUnsentData:
            return "\(who) acknowledged \(a), but its peer had sent only up to \(e): it went on from there, so the ACK covered data never sent"
        case .previousSegmentNotCaptured: return "\(who) sent sequence \(a) but \(e) was expected (previous segment not captured)"
        case .retransmission: return "\(who) retransmitted data at sequence \(a)"
        case .duplicateAck: return "\(who) sent a duplicate ACK for \(a)"
        case .keepAlive: return "\(who) sent a keep-alive"
        case .zeroWindow: return "\(who) advertised a zero window"
        case .zeroWindowProbe: return "\(who) probed its peer's zero window"
        case .windowShrunk: return "\(who) moved its window's right edge left, from \(e) to \(a)"
        case .dataAfterFin: return "\(who) sent data up to \(a) after its FIN at \(e)"
        case .finSeqChanged: return "\(who) sent a second FIN at \(a), its first FIN was at \(e)"
        case .finRetransmission: return "\(who) retransmitted its FIN"
        case .simultaneousClose: return "\(who) sent its FIN before its peer's FIN reached it (simultaneous close)"
        case .segmentAfterClose: return "\(who) sent a segment after it had closed"
        case .trafficAfterPeerReset: return "\(who) kept sending after its peer had reset or closed (half-open)"
        case .trafficAfterOwnReset:
            return "\(who) kept sending after a RST of its own that its peer did not accept: that RST was stale or not its own (injected)"
        case .peerReturned: return "\(who) answered again after it had been presumed gone; the presumption is withdrawn"
        case .peerUnresponsive:
            return "\(who) stopped answering: \(a) retransmissions to it went unacknowledged; presumed gone (reset or crashed out of the capture's sight)"
        case .rstOutOfWindow: return "\(who)'s RST at \(a) is outside the receiver's window (expected \(e)); it is ignored"
        case .rstChallenged: return "\(who)'s RST at \(a) is in the window but not at \(e); the receiver answers with a challenge ACK"
        case .rstWithoutAck:
            return "\(who)'s RST carries no ACK, which SYN_SENT does not accept (RFC 9293 §3.10.7.3): its peer stays in SYN_SENT"
        case .rstBadAck:
            return "\(who)'s RST acknowledges \(a), not its peer's SYN (expected \(e)), which SYN_SENT does not accept"
                + " (RFC 9293 §3.10.7.3): its peer stays in SYN_SENT"
        case .rstWithData: return "\(who) sent a RST carrying \(a) bytes of data"
        case .rstWithoutConnection: return "the first segment seen is a RST from \(who); nothing else of this connection was captured"
        case .portReuse: return "a new SYN on this 4-tuple starts incarnation \(a)"
        case .reuseInTimeWait: return "a new incarnation started while an endpoint was still in TIME_WAIT"
        case .midstreamPickup: return "the handshake was not captured; connection picked up midstream, states assumed"
        case .oneSidedCapture: return "only the \(who)'s direction was captured"
        case .ackTooOld:
            return "\(who) acknowledged \(a), below the \(e) its peer could still be waiting for (SND.UNA − MAX.SND.WND): dropped (RFC 5961)"
        case .dataTooOld:
            return "\(who) sent data ending at \(a), below the \(e) it could still have unacknowledged"
                + " (SND.NXT − the largest window its peer offered): already acknowledged, dropped"
        case .pawsOldTsval:
            return "\(who)'s segment carries TSval \(a), older than the \(e) its peer last accepted: dropped by PAWS (RFC 7323)"
        case .tsecrNotSent:
            return "\(who)'s segment echoes TSecr \(a), a timestamp its peer never sent: not accepted in SYN_SENT (RFC 7323)"
        case .windowUpdateNotCaptured:
            return "\(who) took its peer's data up to \(a), past the window edge \(e) the capture showed: its window update was not captured"
        case .captureReordered:
            return "\(who)'s data at \(a) was captured after its peer's ACK of it (up to \(e)): reordered in the capture, not an ACK of unsent data"
        }
    }
}

/// Renders raw flag bits for messages, with the decoder's names (one list of flag names).
enum TCPFlagNames {
    static func render(_ raw: UInt32?) -> String {
        guard let raw else { return "?" }
        let names = TCPFlags(rawValue: UInt16(truncatingIfNeeded: raw)).names
        return names == "none" ? "no flags" : names
    }
}

import WireStateDecoder

/// The sending table, as data: what sending a segment of each class does in each state, after
/// Linux conntrack's `tcp_conntracks` (one cell per state and class, each with its reason).
extension EndpointMachine {
    /// What a segment is, for the sending table: one class per segment, by fixed priority
    /// (conntrack's `get_conntrack_index`: invalid > RST > SYN(/ACK) > no ACK > FIN > ACK).
    enum SegmentClass: UInt8 {
        case syn, synAck, fin, ack, rst
        /// No ACK flag on a segment that should carry one (data or FIN alone).
        case noAck
        /// SYN+FIN, SYN+RST, FIN+RST, or no flags at all (a null segment).
        case invalid

        init(_ f: TCPFlags) {
            let syn = f.contains(.syn), fin = f.contains(.fin), rst = f.contains(.rst), ack = f.contains(.ack)
            if (syn && fin) || (syn && rst) || (fin && rst) || f.rawValue & 0x3f == 0 {
                self = .invalid
            } else if rst {
                self = .rst
            } else if syn {
                self = ack ? .synAck : .syn
            } else if !ack {
                self = .noAck
            } else {
                self = fin ? .fin : .ack
            }
        }

        var sentCause: TransitionCause {
            switch self {
            case .syn: return .sentSyn
            case .synAck: return .sentSynAck
            case .fin: return .sentFin
            case .rst: return .sentRst
            default: return .sentAck
            }
        }
    }

    /// The rule functions a cell can name: each needs sequence numbers or the endpoint's history,
    /// so it is code, one function per segment class (`EndpointMachine.sentSyn(_:…)` and so on).
    enum SendDecision: UInt8 {
        case sentSyn, sentSynAck, sentFin, sentRst, sentAck, sentWithoutAck
    }

    /// What sending a segment of a class does in a state.
    enum SendRule: Equatable {
        case move(TCPState)
        case illegal(AnomalyCode)
        /// Decided by the named function.
        case decide(SendDecision)
    }

    /// The sending table: one row per state, one column per segment class. The first matching
    /// case wins; `_` rows are the synchronized states that share a rule.
    static func sendRule(_ state: TCPState, _ c: SegmentClass) -> SendRule {
        switch (state, c) {
        //  state         class        rule
        case (_, .invalid): return .illegal(.invalidFlagCombination)
        case (_, .rst): return .decide(.sentRst)  // → CLOSED, except answers that keep state
        case (.closed, .syn): return .decide(.sentSyn)  // active OPEN, or its old SYN again
        case (.closed, .synAck): return .illegal(.synAckWithoutSyn)
        case (.closed, .fin): return .decide(.sentFin)  // its FIN again (LAST_ACK's ACK was lost), else after close
        case (.closed, .ack): return .decide(.sentAck)  // after close: segment-after-close
        case (.closed, .noAck): return .illegal(.segmentAfterClose)
        case (.listen, .syn): return .decide(.sentSyn)  // SEND in LISTEN: simultaneous open
        case (.listen, .synAck): return .move(.synReceived)  // rcv SYN, snd SYN,ACK
        case (.listen, .fin): return .illegal(.finBeforeEstablished)
        case (.listen, .noAck): return .decide(.sentWithoutAck)  // data or a FIN before the handshake
        case (.listen, .ack): return .decide(.sentAck)  // its SYN+ACK was not captured
        case (.synSent, .syn): return .decide(.sentSyn)  // retransmission or a new ISN
        case (.synSent, .synAck): return .decide(.sentSynAck)  // simultaneous open, or wrong direction
        case (.synSent, .fin): return .illegal(.finBeforeEstablished)
        case (.synSent, .noAck): return .decide(.sentWithoutAck)  // data or a FIN before the handshake
        case (.synSent, .ack): return .decide(.sentAck)  // the peer's SYN+ACK was not captured
        case (.synReceived, .syn): return .decide(.sentSyn)  // retransmission or a new ISN
        case (.synReceived, .synAck): return .decide(.sentSynAck)  // retransmission or a changed SYN+ACK
        case (.synReceived, .fin): return .move(.finWait1)  // CLOSE in SYN_RECEIVED
        case (.synReceived, .ack): return .decide(.sentAck)  // data proves a handshake ACK the capture missed
        case (.established, .fin): return .move(.finWait1)  // CLOSE
        case (.closeWait, .fin): return .move(.lastAck)  // CLOSE
        case (_, .syn): return .decide(.sentSyn)  // synchronized: late retransmission or new ISN
        case (_, .synAck): return .decide(.sentSynAck)  // synchronized: retransmission or changed
        case (_, .noAck): return .decide(.sentWithoutAck)  // missing ACK, or an ESTABLISHED it never reached
        case (_, .fin): return .decide(.sentFin)  // FIN again: retransmission or moved
        case (_, .ack): return .decide(.sentAck)  // data after FIN is illegal; ACKs are fine
        }
    }
}

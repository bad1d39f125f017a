/// The thresholds behind every finding, with the defaults documented in docs/diagnoses.md.
/// The CLI checks ranges before anything is read; here they are plain values.
public struct DiagnoseOptions: Sendable, Equatable {
    /// Every "held too long" finding (CLOSE_WAIT, FIN_WAIT_2, SYN_RECEIVED, a zero window): an
    /// endpoint must stay that long, in capture time, before it is reported. 2 s: well past any
    /// delayed ACK or scheduling pause, short enough for a capture of a few seconds to show it.
    public var stuckAfter: Int64 = 2_000_000_000
    /// TIME_WAIT endpoints held at once on one host toward one `addr:port` before it is a pile-up.
    public var timeWaitPileup: Int = 100
    /// The ephemeral port range of the hosts (Linux `net.ipv4.ip_local_port_range` default), for the
    /// share of it a TIME_WAIT pile-up holds.
    public var ephemeralPorts: ClosedRange<Int> = 32768...60999
    /// Half-open handshakes to one listener within `synFloodWindow` that make a SYN flood…
    public var synFlood: Int = 50
    public var synFloodWindow: Int64 = 10_000_000_000
    /// …when they come from at least this many source addresses (fewer is one client's burst).
    public var synFloodSources: Int = 10
    /// A sender whose retransmitted data segments are at least this share of its segments…
    public var retransmissionShare: Double = 0.1
    /// …and at least this many (a single loss is not heavy).
    public var retransmissionMinimum: Int = 5
    /// A handshake answered this much later than the listener's median (and 4× it) is slow…
    public var slowHandshake: Int64 = 200_000_000
    /// …among at least this many answered handshakes (fewer give no median to compare with).
    public var slowHandshakeSamples: Int = 4
    /// abortive-close: a RST after at least this long without data, SYN or FIN from either side is
    /// an idle reset (an idle timeout), reported apart from resets in the middle of activity.
    /// 5 s: mid-transfer resets come within a few round trips or one retransmission timeout of
    /// the last data (milliseconds to a second or two), while idle timeouts are set in seconds to
    /// hours (Apache's KeepAliveTimeout 5 s, nginx's keepalive_timeout 75 s, cloud load balancers
    /// 60-350 s, NAT and firewall flow timeouts minutes): 5 s is the shortest common one.
    public var idleReset: Int64 = 5_000_000_000
    /// peer-vanished: keep-alives an endpoint sent after its peer's last segment, to the end of the
    /// capture, from which the peer is presumed gone (one suffices when the prober then reset: its
    /// kernel gave up). Two: one unanswered probe may be the capture stopping before the answer.
    public var unansweredKeepAlives: Int = 2
    /// Connections on one subject from which a held-state finding becomes critical (a leak, not a slip).
    public var criticalCount: Int = 10
    /// Share of the ephemeral range held in TIME_WAIT from which a pile-up is critical.
    public var criticalPortShare: Double = 0.5
    /// Most frames and connection ids listed in one finding (the counts are always complete).
    public var listLimit: Int = 50

    public init() {}
}

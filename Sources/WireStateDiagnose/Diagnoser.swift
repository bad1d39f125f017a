import WireStateDecoder
import WireStateReport
import WireStateTracker

/// One connection's part in a finding: the endpoint concerned, how long, which frames, one line.
struct Item {
    var notes: ConnectionNotes
    var role: Role
    var held: Int64 = 0
    var frames: [FrameRef] = []
    var evidence: Evidence = .observed
    var line: String
    var first: Int64
    var last: Int64
}

/// Where items of one finding are gathered: the subject they share.
struct GroupKey: Hashable, Comparable {
    var kind: DiagnosisSubject
    var subject: String
    var peer: String?

    static func < (a: GroupKey, b: GroupKey) -> Bool {
        (a.kind.rawValue, a.subject, a.peer ?? "") < (b.kind.rawValue, b.subject, b.peer ?? "")
    }
}

/// The rules: connection notes in, findings out. Each rule is one function named after
/// its code; docs/diagnoses.md says the same thing in prose.
struct Diagnoser {
    let options: DiagnoseOptions
    let notes: [ConnectionNotes]
    /// The end of what was seen (capture time, ns): a state still held is held until here.
    let end: Int64
    let sourceNames: [String]
    var findings: [Finding] = []
    /// Connections a listen-queue overflow explains, so syn-unanswered does not report them again.
    var explainedSyns: Set<UInt64> = []
    /// Half-open handshakes a SYN flood explains (not reported again as stalled or unanswered).
    var flooded: Set<UInt64> = []

    init(options: DiagnoseOptions, notes: [ConnectionNotes], end: Int64, sourceNames: [String]) {
        self.options = options
        self.notes = notes
        self.end = end
        self.sourceNames = sourceNames
    }

    mutating func run() -> [Finding] {
        closeWaitStuck()
        finWait2Stuck()
        connectionRefused()
        synFlood()  // first of the handshake rules: the handshakes it explains are not reported again
        listenQueueOverflow()  // before syn-unanswered: it claims the SYNs it explains
        synUnanswered()
        abortiveClose()
        timeWaitPileup()
        zeroWindowStall()
        peerVanished()
        handshakeStalled()
        retransmissionHeavy()
        slowHandshake()
        return findings
    }

    // MARK: - Held states

    mutating func closeWaitStuck() {
        var items: [GroupKey: [Item]] = [:]
        for n in notes {
            for role in Role.allCases {
                guard let i = n[role].closeWait, i.held(end: end) >= options.stuckAfter else { continue }
                let who = role.name, peer = role.peer.name
                var line = "\(conn(n)): \(peer)'s FIN at frame \(frame(i.frame))"
                if let c = i.confirmedFrame {
                    line += ", acknowledged by the \(who) at frame \(frame(c)) (CLOSE_WAIT confirmed)"
                } else {
                    line += "; CLOSE_WAIT inferred: no segment of the \(who) after that FIN proves it arrived"
                }
                line += heldTail(i, who: who, verb: "no FIN from the \(who)")
                let item = Item(
                    notes: n, role: role, held: i.held(end: end), frames: [i.frame, i.confirmedFrame].compactMap { $0 },
                    evidence: i.confirmedFrame == nil ? .inferred : .observed, line: line,
                    first: i.since, last: i.until ?? end)
                items[key(n, role), default: []].append(item)
            }
        }
        // Still in CLOSE_WAIT at the end, but not yet for the threshold: the leak going on.
        var younger: [GroupKey: [UInt64]] = [:]
        for n in notes {
            for role in Role.allCases {
                guard let i = n[role].closeWait, i.until == nil, i.held(end: end) < options.stuckAfter else { continue }
                younger[key(n, role), default: []].append(n.ref.id)
            }
        }
        for (k, found) in items.sorted(by: { $0.key < $1.key }) {
            var group = found
            if let more = younger[k] {
                group.append(
                    Item(
                        notes: group[0].notes, role: group[0].role, evidence: group[0].evidence,
                        line: "\(count(more.count, "more connection")) (\(more.map(String.init).joined(separator: ", "))) "
                            + "\(more.count == 1 ? "is" : "are") in CLOSE_WAIT at the end of the capture, for less than the threshold so far",
                        first: group[0].first, last: group[0].last))
            }
            let n = found.count, longest = group.map(\.held).max() ?? 0
            let role = group[0].role
            let side = role == .server ? "server" : "client"
            let port = role == .server ? group[0].notes.server.port : group[0].notes.client.port
            let summary =
                "\(count(n, "connection")) \(k.kind == .listener ? "to \(k.subject)" : "from \(k.subject) to \(k.peer ?? "?")") "
                + "sat in CLOSE_WAIT for up to \(dur(longest)): the \(side) "
                + (found.allSatisfy { $0.evidence == .observed } ? "acknowledged" : "received (not every ACK of it was captured)")
                + " its peer's FIN and did not close its socket."
            let sportOrDport = role == .server ? "sport" : "dport"
            let dport = role == .server ? port : group[0].notes.server.port
            add(
                .closeWaitStuck, severity: n >= options.criticalCount ? .critical : .warning, k, group,
                summary: summary, threshold: options.stuckAfter,
                causes: [
                    "the application does not close() the socket after reading end-of-file (recv() returning 0)",
                    "a leak: an error path returns without closing, or a connection pool keeps connections its peer has closed",
                    "the application is blocked or overloaded and has not got to these sockets yet"
                ],
                steps: [
                    "ss -tanp state close-wait '( \(sportOrDport) = :\(dport) )'   # on the \(side): which process holds them, and how many",
                    "ls /proc/PID/fd | wc -l   # repeated: a descriptor count that only grows is a leak",
                    "review the \(side) application's close path: every branch after a read returns 0 (EOF) must close()"
                ])
        }
    }

    mutating func finWait2Stuck() {
        var items: [GroupKey: [Item]] = [:]
        for n in notes {
            for role in Role.allCases {
                guard let i = n[role].finWait2, i.held(end: end) >= options.stuckAfter else { continue }
                let who = role.name, peer = role.peer.name
                var line = "\(conn(n)): \(who) in FIN_WAIT_2 from frame \(frame(i.frame)) (the \(peer) acknowledged its FIN)"
                if i.evidence < .observed { line += ", inferred: the ACK is presumed to have arrived" }
                line += heldTail(i, who: who, verb: "no FIN from the \(peer)")
                let item = Item(
                    notes: n, role: role, held: i.held(end: end), frames: [i.frame].compactMap { $0 },
                    evidence: i.evidence >= .observed ? .observed : .inferred, line: line,
                    first: i.since, last: i.until ?? end)
                items[key(n, role), default: []].append(item)
            }
        }
        for (k, group) in items.sorted(by: { $0.key < $1.key }) {
            let n = group.count, longest = group.map(\.held).max() ?? 0
            let role = group[0].role, peer = role.peer.name
            // Its peer's CLOSE_WAIT is the cause, and is reported as such when it was held as long.
            let explained = group.allSatisfy { item in
                (item.notes[role.peer].closeWait?.held(end: end) ?? 0) >= options.stuckAfter
            }
            let peerAddr = role == .client ? group[0].notes.server : group[0].notes.client
            let summary =
                "\(count(n, "connection")) \(k.kind == .listener ? "to \(k.subject)" : "from \(k.subject) to \(k.peer ?? "?")") "
                + "waited in FIN_WAIT_2 for up to \(dur(longest)): the \(peer) acknowledged the FIN and did not close its side"
                + (explained ? " (see close-wait-stuck)." : ".")
            let filter = role == .client ? "dport = :\(peerAddr.port)" : "sport = :\(group[0].notes.server.port)"
            add(
                .finWait2Stuck, severity: explained ? .info : .warning, k, group, summary: summary, threshold: options.stuckAfter,
                causes: [
                    "the \(peer) application does not close its socket after reading end-of-file (its side sits in CLOSE_WAIT)",
                    "a deliberate half-close (shutdown(SHUT_WR)) while the \(peer) still has data to send",
                    "the \(peer) vanished after acknowledging the FIN (crash, path broke)"
                ],
                steps: [
                    "ss -tano state fin-wait-2 '( \(filter) )'   # on the \(role.name): the timer shows how long the kernel still waits",
                    "sysctl net.ipv4.tcp_fin_timeout   # how long an orphaned FIN_WAIT_2 is kept (Linux: 60 s)",
                    "on the \(peer): ss -tanp state close-wait, and its application's close path"
                ])
        }
    }

    // MARK: - Handshakes

    mutating func connectionRefused() {
        var items: [GroupKey: [Item]] = [:]
        for n in notes {
            guard let rst = n.refusedFrame else { continue }
            let syn = n.synFrames.first
            let line = "\(conn(n)): SYN at frame \(frame(syn)), RST from the server at frame \(frame(rst))"
            items[GroupKey(kind: .listener, subject: n.server.description), default: []].append(
                Item(notes: n, role: .server, frames: [syn, rst].compactMap { $0 }, line: line, first: n.firstTime, last: n.lastTime))
        }
        for (k, group) in items.sorted(by: { $0.key < $1.key }) {
            let clients = Set(group.map { $0.notes.client.address })
            let port = group[0].notes.server.port
            add(
                .connectionRefused, severity: .warning, k, group,
                summary: "\(count(group.count, "connection attempt")) from \(count(clients.count, "client host")) to \(k.subject) "
                    + "\(group.count == 1 ? "was" : "were") refused with a RST: nothing listens there.",
                threshold: nil,
                causes: [
                    "the service is not running, crashed, or is restarting",
                    "it listens on another address or port (127.0.0.1 instead of 0.0.0.0, a changed port)",
                    "a firewall rule rejects with a TCP reset"
                ],
                steps: [
                    "ss -ltnp '( sport = :\(port) )'   # on the server: is anything listening, on which address",
                    "the service's status and logs (systemctl status, journalctl -u)",
                    "nstat -az TcpOutRsts TcpAttemptFails   # on the server and the clients"
                ])
        }
    }

    /// Connections whose SYNs went out more than once and got nothing back at all.
    func unansweredSyn(_ n: ConnectionNotes) -> Bool {
        n.synFrames.count >= 2 && n.refusedFrame == nil && n.synAckFrames.isEmpty && (n.packetsFromServer ?? 0) == 0
            && n[.client].state == .synSent
    }

    mutating func listenQueueOverflow() {
        var byListener: [SocketAddress: [ConnectionNotes]] = [:]
        for n in notes where !n.midstream && !flooded.contains(n.ref.id) { byListener[n.server, default: []].append(n) }
        for (listener, conns) in byListener.sorted(by: { $0.key.description < $1.key.description }) {
            let answered = conns.filter { !$0.synAckFrames.isEmpty }
            guard !answered.isEmpty else { continue }
            // SYNs left unanswered while the same listener was answering, or holding, others: an
            // answered connection's span overlaps the SYNs' span. Sorted by start with the running
            // latest end, each query is a binary search (a flood must not make this quadratic).
            let spans = answered.map { ($0.firstTime, activeUntil($0)) }.sorted { $0.0 < $1.0 }
            var latestEnd: [Int64] = []
            for s in spans { latestEnd.append(max(latestEnd.last ?? .min, s.1)) }
            func overlaps(_ from: Int64, _ to: Int64) -> Bool {
                var lo = 0, hi = spans.count  // first span starting after `to`
                while lo < hi { let mid = (lo + hi) / 2; if spans[mid].0 <= to { lo = mid + 1 } else { hi = mid } }
                return lo > 0 && latestEnd[lo - 1] >= from
            }
            let dropped = conns.filter { u in
                unansweredSyn(u) && overlaps(u.firstSynTime ?? u.firstTime, u.lastSynTime ?? u.lastTime)
            }
            // SYN+ACKs retransmitted after the client's ACK went by: the ACK was dropped (queue full).
            let ackDropped = answered.filter { a in
                guard let ack = a.clientAckFrame, a.synAckFrames.count >= 2, let last = a.synAckFrames.last else { return false }
                return ack < last
            }
            guard !dropped.isEmpty || !ackDropped.isEmpty else { continue }
            var group: [Item] = []
            for u in dropped {
                group.append(
                    Item(
                        notes: u, role: .server, frames: u.synFrames,
                        line: "\(conn(u)): \(count(u.synFrames.count, "SYN")) (frames \(frames(u.synFrames))), no answer",
                        first: u.firstSynTime ?? u.firstTime, last: u.lastSynTime ?? u.lastTime))
                explainedSyns.insert(u.ref.id)
            }
            for a in ackDropped {
                group.append(
                    Item(
                        notes: a, role: .server, frames: a.synAckFrames + [a.clientAckFrame].compactMap { $0 },
                        line: "\(conn(a)): the client's handshake ACK went by at frame \(frame(a.clientAckFrame)), "
                            + "yet the server retransmitted its SYN+ACK (frames \(frames(a.synAckFrames))): it dropped the ACK",
                        first: a.firstTime, last: a.lastSynAckTime ?? a.lastTime))
            }
            let ackDroppedIDs = Set(ackDropped.map(\.ref.id))
            let ok = answered.filter { !ackDroppedIDs.contains($0.ref.id) }
            if !ok.isEmpty {
                let shown = ok.prefix(5).map { "\($0.ref.id)" }.joined(separator: ", ")
                group.append(
                    Item(
                        notes: ok[0], role: .server, frames: ok.prefix(5).compactMap { $0.synAckFrames.first },
                        line: "answered in the same period: \(count(ok.count, "connection")) (\(shown)\(ok.count > 5 ? ", …" : "")), "
                            + "SYN+ACK at frames \(frames(ok.prefix(5).compactMap { $0.synAckFrames.first }))",
                        first: ok[0].firstTime, last: ok[0].lastTime))
                // Every answered connection is listed among the finding's connections (no line each).
                for a in ok.dropFirst() {
                    group.append(Item(notes: a, role: .server, line: "", first: a.firstTime, last: a.firstTime))
                }
            }
            let syns = dropped.reduce(0) { $0 + $1.synFrames.count }
            var what: [String] = []
            if !dropped.isEmpty { what.append("the SYNs of \(count(dropped.count, "other connection")) (\(syns) SYNs) went unanswered") }
            if !ackDropped.isEmpty { what.append("it dropped the handshake ACKs of \(count(ackDropped.count, "connection"))") }
            let k = GroupKey(kind: .listener, subject: listener.description)
            add(
                .listenQueueOverflow, severity: .critical, k, group,
                summary: "\(listener) answered \(count(answered.count, "connection")) while "
                    + what.joined(separator: " and ") + " in the same period: its accept queue is full.",
                threshold: nil, connectionCount: dropped.count + ackDropped.count,
                causes: [
                    "the application does not call accept() fast enough (blocked, busy, single-threaded, or never)",
                    "the listen() backlog is too small for the connection rate (capped by net.core.somaxconn)",
                    "a burst of connections larger than the backlog"
                ],
                steps: [
                    "ss -ltn '( sport = :\(listener.port) )'   # on the server: Recv-Q = connections waiting for accept(), Send-Q = the backlog",
                    "nstat -az TcpExtListenOverflows TcpExtListenDrops   # rising: the kernel is dropping SYNs or ACKs",
                    "sysctl net.core.somaxconn net.ipv4.tcp_max_syn_backlog; the backlog the application passes to listen()"
                ])
        }
    }

    /// Until when a connection held the listener's attention: one still open at the end (waiting in
    /// the accept queue, say) to the end of the capture.
    func activeUntil(_ n: ConnectionNotes) -> Int64 {
        guard let f = n.final, f.endReason != .endOfCapture else { return end }
        return n.lastTime
    }

    mutating func synUnanswered() {
        // A capture that shows nothing sent toward a client host cannot tell a dropped SYN from a
        // one-sided capture: such findings say their evidence is inferred.
        var hostsReached = Set<IPAddress>()
        for n in notes where (n.packetsFromServer ?? 0) > 0 { hostsReached.insert(n.client.address) }
        var items: [GroupKey: [Item]] = [:]
        for n in notes where unansweredSyn(n) && !explainedSyns.contains(n.ref.id) && !flooded.contains(n.ref.id) {
            let span = CaptureTime.elapsed(from: n.firstSynTime ?? n.firstTime, to: n.lastSynTime ?? n.lastTime)
            let line =
                "\(conn(n)): \(count(n.synFrames.count, "SYN")) over \(dur(span)) (frames \(frames(n.synFrames))), "
                + "nothing from the server"
            items[GroupKey(kind: .listener, subject: n.server.description), default: []].append(
                Item(
                    notes: n, role: .client, held: span, frames: n.synFrames,
                    evidence: hostsReached.contains(n.client.address) ? .observed : .inferred, line: line,
                    first: n.firstSynTime ?? n.firstTime, last: n.lastSynTime ?? n.lastTime))
        }
        for (k, group) in items.sorted(by: { $0.key < $1.key }) {
            var g = group
            if g.contains(where: { $0.evidence == .inferred }) {
                g.append(
                    Item(
                        notes: g[0].notes, role: .client, evidence: .inferred,
                        line: "inferred: the capture holds no packet at all toward these clients, so a capture that "
                            + "sees only one direction would look the same",
                        first: g[0].first, last: g[0].last))
            }
            let syns = group.reduce(0) { $0 + $1.frames.count }
            let port = group[0].notes.server.port
            add(
                .synUnanswered, severity: .warning, k, g,
                summary: "\(count(group.count, "connection attempt")) to \(k.subject) sent \(syns) SYNs and got no answer: "
                    + "the SYNs are dropped on the way, or the host is unreachable.",
                threshold: nil, connectionCount: group.count,
                causes: [
                    "a firewall or security group drops the SYNs silently",
                    "the server host is down, or the address is wrong or unroutable (no ICMP comes back)",
                    "the listener drops SYNs because its queues are full (see listen-queue-overflow when it answers others)"
                ],
                steps: [
                    "tcpdump -ni any 'tcp port \(port) and tcp[tcpflags] & tcp-syn != 0'   # on the server: do the SYNs arrive?",
                    "ss -ltn '( sport = :\(port) )' and nstat -az TcpExtListenDrops   # on the server",
                    "the firewall rules on the path and on both hosts (nft list ruleset); ip route get on the client"
                ])
        }
    }

    /// A handshake the client never went on with: only SYNs from it, no ACK of the SYN+ACK.
    func halfOpen(_ n: ConnectionNotes) -> Bool {
        guard let f = n.final, !n.midstream, !n.synFrames.isEmpty, n.refusedFrame == nil, n.clientAckFrame == nil else { return false }
        return f.packetsFromClient == UInt64(n.synFrames.count)
    }

    mutating func synFlood() {
        var byListener: [SocketAddress: [ConnectionNotes]] = [:]
        for n in notes where halfOpen(n) { byListener[n.server, default: []].append(n) }
        for (listener, list) in byListener.sorted(by: { $0.key.description < $1.key.description })
        where list.count >= options.synFlood {
            // The most first SYNs inside one window.
            let sorted = list.sorted { ($0.firstSynTime ?? $0.firstTime) < ($1.firstSynTime ?? $1.firstTime) }
            let times = sorted.map { $0.firstSynTime ?? $0.firstTime }
            var best = 0..<0, lo = 0
            for hi in times.indices {
                while CaptureTime.elapsed(from: times[lo], to: times[hi]) > options.synFloodWindow { lo += 1 }
                if hi + 1 - lo > best.count { best = lo..<(hi + 1) }
            }
            let burst = Array(sorted[best])
            let sources = Set(burst.map { $0.client.address })
            guard burst.count >= options.synFlood, sources.count >= options.synFloodSources else { continue }
            for n in list { flooded.insert(n.ref.id) }
            let span = CaptureTime.elapsed(from: times[best.lowerBound], to: times[best.upperBound - 1])
            let answered = burst.filter { !$0.synAckFrames.isEmpty }.count
            let synAcks = burst.reduce(0) { $0 + $1.synAckFrames.count }
            var group = burst.map { n in
                Item(
                    notes: n, role: .server, frames: n.synFrames + n.synAckFrames, line: "", first: n.firstSynTime ?? n.firstTime,
                    last: n.lastSynAckTime ?? n.lastTime)
            }
            group[0].line =
                "\(burst.count) handshakes from \(sources.count) source addresses within \(dur(span)), "
                + "first SYN at frame \(frame(burst[0].synFrames.first)); none completed: the clients sent nothing after their SYN"
            group.append(
                Item(
                    notes: burst[0], role: .server,
                    line: "the listener answered \(answered) of them with \(synAcks) SYN+ACKs (retransmissions included)"
                        + (answered < burst.count ? "; \(burst.count - answered) got no answer at all" : ""),
                    first: group[0].first, last: group[0].last))
            group.append(
                Item(
                    notes: burst[0], role: .server, evidence: .inferred,
                    line: "inferred: whether the sources exist cannot be seen; a capture on the server side shows only "
                        + "that nothing came back",
                    first: group[0].first, last: group[0].last))
            add(
                .synFlood, severity: .critical, GroupKey(kind: .listener, subject: listener.description), group,
                summary: "\(listener) received \(burst.count) handshakes from \(sources.count) sources within \(dur(span)) "
                    + "that never completed: a SYN flood, or clients whose replies cannot get back.",
                threshold: nil, connectionCount: burst.count,
                causes: [
                    "a SYN flood from spoofed source addresses (a denial-of-service attempt)",
                    "the path back to many clients is broken (asymmetric routing, a firewall that drops their ACKs)",
                    "a load test or scanner opening connections it never completes"
                ],
                steps: [
                    "ss -tan state syn-recv '( sport = :\(listener.port) )' | wc -l   # on the server: half-open now",
                    "nstat -az TcpExtSyncookiesSent TcpExtListenDrops TcpExtTCPReqQFullDrop; dmesg | grep 'SYN flooding'",
                    "sysctl net.ipv4.tcp_syncookies net.ipv4.tcp_max_syn_backlog net.ipv4.tcp_synack_retries"
                ])
        }
    }

    mutating func handshakeStalled() {
        var items: [GroupKey: [Item]] = [:]
        for n in notes where !flooded.contains(n.ref.id) {
            guard let i = n[.server].synReceived, i.held(end: end) >= options.stuckAfter, n.clientAckFrame == nil,
                n.synFrames.count <= 1 || !n.synAckFrames.isEmpty
            else { continue }
            let line =
                "\(conn(n)): SYN+ACK at frames \(frames(n.synAckFrames)), no handshake ACK"
                + heldTail(i, who: "server", verb: "no ACK from the client")
            items[GroupKey(kind: .listener, subject: n.server.description), default: []].append(
                Item(
                    notes: n, role: .server, held: i.held(end: end), frames: n.synFrames + n.synAckFrames,
                    evidence: .observed, line: line, first: i.since, last: i.until ?? end))
        }
        for (k, group) in items.sorted(by: { $0.key < $1.key }) {
            let longest = group.map(\.held).max() ?? 0
            let port = group[0].notes.server.port
            add(
                .handshakeStalled, severity: .warning, k, group,
                summary: "\(count(group.count, "handshake")) on \(k.subject) stayed in SYN_RECEIVED for up to \(dur(longest)): "
                    + "the server's SYN+ACKs get no ACK back.",
                threshold: options.stuckAfter,
                causes: [
                    "the path back from the client drops its packets (asymmetric routing, a stateful firewall that missed the SYN)",
                    "the SYN came from a spoofed or vanished address (see syn-flood when many do)",
                    "the client gave up and sent nothing more"
                ],
                steps: [
                    "ss -tan state syn-recv '( sport = :\(port) )'   # on the server",
                    "tcpdump on the client: does it receive the SYN+ACK and send the ACK?",
                    "nstat -az TcpExtTCPReqQFullDrop TcpExtListenDrops; the firewall's connection tracking on the path"
                ])
        }
    }

    // MARK: - Closes

    /// Resets grouped by who resets, and within that by what came before: a RST after at least
    /// `--idle-reset` without data, SYN or FIN from either side (an idle timeout) is reported apart
    /// from one in the middle of activity, whose causes and remedies differ. How long it was idle
    /// is in the connection's final facts: live, a reset counts as mid-activity until its
    /// connection leaves the tracker (10 s after it closed), and then moves.
    mutating func abortiveClose() {
        var active: [GroupKey: [Item]] = [:], idle: [GroupKey: [Item]] = [:]
        for n in notes where n.refusedFrame == nil {
            for role in Role.allCases {
                guard let f = n[role].resetFrame, n[role].resetFrom != .closed, n[role].resetFrom != .listen else { continue }
                // A RST that ends unanswered keep-alives is the kernel giving up: peer-vanished explains it.
                if unansweredKeepAlives(n, from: role)?.frames.contains(f) == true { continue }
                var line =
                    "\(conn(n)): the \(role.name) sent a RST at frame \(frame(f)) from \(n[role].resetFrom.name), "
                    + "\(dur(CaptureTime.elapsed(from: n.firstTime, to: n[role].resetTime))) after the connection opened"
                // The idle gap is measured at the connection's first RST, which is this one's.
                let gap = n.final?.resetBy == role ? n.final?.idleBeforeReset : nil
                if let gap, gap >= options.idleReset {
                    let silence = n.final?.silenceBeforeReset ?? gap
                    line +=
                        ", after \(dur(gap)) without data, SYN or FIN from either side ("
                        + (silence >= options.idleReset
                            ? "no segment at all for \(dur(silence))"
                            : "ACKs or keep-alives crossed, the last \(dur(silence)) before the RST") + ")"
                    idle[key(n, role), default: []].append(
                        Item(
                            notes: n, role: role, held: gap, frames: [f], line: line,
                            first: CaptureTime.adding(-gap, to: n[role].resetTime), last: n[role].resetTime))
                } else {
                    if let gap { line += "; the last data, SYN or FIN \(dur(gap)) before it" }
                    active[key(n, role), default: []].append(
                        Item(notes: n, role: role, frames: [f], line: line, first: n[role].resetTime, last: n[role].resetTime))
                }
            }
        }
        for (k, group) in active.sorted(by: { $0.key < $1.key }) {
            let role = group[0].role
            let port = group[0].notes.server.port
            let split = idle[k] != nil ? " in the middle of activity (see the idle resets reported apart)" : ""
            add(
                .abortiveClose, severity: .warning, k, group,
                summary: "\(count(group.count, "connection")) \(k.kind == .listener ? "to \(k.subject)" : "from \(k.subject) to \(k.peer ?? "?")") "
                    + "\(group.count == 1 ? "was" : "were") ended by a RST from the \(role.name) instead of a FIN\(split).",
                threshold: nil,
                causes: [
                    "the \(role.name) application closes with SO_LINGER {1, 0} (an abort by design, e.g. to skip TIME_WAIT)",
                    "it closed the socket with unread data in its receive buffer (Linux then resets)",
                    "a middlebox (load balancer, firewall, NAT) reset the flow"
                ],
                steps: [
                    "nstat -az TcpExtTCPAbortOnData TcpExtTCPAbortOnClose TcpExtTCPAbortOnLinger TcpExtTCPAbortOnTimeout   # on the \(role.name)",
                    "capture on the \(role.name) itself: a RST it never sent was forged by a middlebox (compare TTL and IP ID)",
                    "ss -tanei '( \(role == .server ? "sport" : "dport") = :\(port) )'   # unread data (Recv-Q) before the close"
                ])
        }
        for (k, group) in idle.sorted(by: { $0.key < $1.key }) {
            let role = group[0].role
            let port = group[0].notes.server.port
            let shortest = group.map(\.held).min() ?? 0, longest = group.map(\.held).max() ?? 0
            let span = group.count == 1 ? dur(longest) : "\(dur(shortest)) to \(dur(longest))"
            // Keep-alives or ACKs that crossed in the idle period refresh a middlebox's flow timer.
            let silent = group.allSatisfy { ($0.notes.final?.silenceBeforeReset ?? 0) >= options.idleReset }
            add(
                .abortiveClose, severity: .warning, k, group,
                summary: "\(count(group.count, "connection")) \(k.kind == .listener ? "to \(k.subject)" : "from \(k.subject) to \(k.peer ?? "?")") "
                    + "\(group.count == 1 ? "was" : "were") reset by the \(role.name) after \(span) idle: an idle timeout ends them.",
                threshold: options.idleReset,
                causes: [
                    "the \(role.name) application's idle timeout closes idle connections abortively (SO_LINGER {1, 0})",
                    "a load balancer, firewall or NAT on the path forgot the idle flow and resets it (or forges the RST in the \(role.name)'s name)"
                        + (silent ? "" : "; less likely here: ACKs or keep-alives crossed during the idle period, which refresh a middlebox's timer"),
                    "the peer keeps connections open (a pool, HTTP keep-alive) longer than the \(role.name) allows"
                ],
                steps: [
                    "the idle timeouts of the \(role.name) application (keep-alive timeout) and of every load balancer, firewall and NAT on the path",
                    "capture on the \(role.name) itself: a RST it never sent came from a middlebox (compare TTL and IP ID)",
                    "ss -tanoi '( \(role == .server ? "sport" : "dport") = :\(port) )'   # lastsnd/lastrcv: how long connections idle; "
                        + "enable TCP keep-alive below the shortest timeout, or let the peer close idle pooled connections first"
                ],
                label: "idle")
        }
    }

    mutating func timeWaitPileup() {
        struct Span { var notes: ConnectionNotes; var role: Role; var since: Int64; var until: Int64; var interval: HeldInterval }
        var spans: [GroupKey: [Span]] = [:]
        for n in notes {
            for role in Role.allCases {
                guard let i = n[role].timeWait else { continue }
                let host = role == .client ? n.client.address : n.server.address
                let peer = role == .client ? n.server : n.client
                let k = GroupKey(kind: .host, subject: host.description, peer: peer.description)
                spans[k, default: []].append(Span(notes: n, role: role, since: i.since, until: i.until ?? end, interval: i))
            }
        }
        let range = options.ephemeralPorts.count
        for (k, list) in spans.sorted(by: { $0.key < $1.key }) where list.count >= options.timeWaitPileup {
            // The most held at once: sweep the entries and exits in time order.
            var edges: [(Int64, Int)] = []
            for s in list { edges.append((s.since, 1)); edges.append((s.until, -1)) }
            edges.sort { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
            var now = 0, peak = 0, peakAt: Int64 = 0
            for (t, d) in edges {
                now += d
                if now > peak { peak = now; peakAt = t }
            }
            guard peak >= options.timeWaitPileup else { continue }
            let atPeak = list.filter { $0.since <= peakAt && $0.until >= peakAt }
            let share = Double(peak) / Double(max(range, 1))
            let reused = list.flatMap { $0.notes.reuseInTimeWaitFrames }
            let inferred = atPeak.filter { $0.interval.evidence < .observed }.count
            var group = atPeak.map { s in
                Item(
                    notes: s.notes, role: s.role, held: CaptureTime.elapsed(from: s.since, to: s.until),
                    frames: [s.interval.frame].compactMap { $0 }, evidence: s.interval.evidence >= .observed ? .observed : .inferred,
                    line: "", first: s.since, last: s.until)
            }
            let first = atPeak.map(\.since).min() ?? peakAt
            var lines = [
                "\(peak) TIME_WAIT endpoints at once at +\(offset(peakAt)), entered over \(dur(CaptureTime.elapsed(from: first, to: peakAt)))"
                    + " (TIME_WAIT lasts 2·MSL); \(Format.fixed(share * 100, 1))% of the ephemeral port range "
                    + "\(options.ephemeralPorts.lowerBound)-\(options.ephemeralPorts.upperBound)"
            ]
            if inferred > 0 { lines.append("inferred for \(inferred) of them: the ACK of the peer's FIN is presumed delivered") }
            if !reused.isEmpty {
                lines.append("\(count(reused.count, "SYN")) reused a 4-tuple still in TIME_WAIT (frames \(frames(reused)))")
            } else {
                lines.append("no SYN reused a 4-tuple still in TIME_WAIT")
            }
            group[0].line = lines[0]
            for l in lines.dropFirst() {
                group.append(
                    Item(
                        notes: group[0].notes, role: group[0].role, evidence: group[0].evidence, line: l,
                        first: group[0].first, last: group[0].last))
            }
            let port = list[0].role == .client ? list[0].notes.server.port : list[0].notes.client.port
            add(
                .timeWaitPileup, severity: share >= options.criticalPortShare ? .critical : .warning, k, group,
                summary: "\(k.subject) held \(peak) connections to \(k.peer ?? "?") in TIME_WAIT at once "
                    + "(\(Format.fixed(share * 100, 1))% of its ephemeral ports): new connections to it can fail with EADDRNOTAVAIL.",
                threshold: nil, connectionCount: peak, details: lines,
                causes: [
                    "a new connection per request, closed by this side first (no keep-alive or connection pool)",
                    "a connection rate above what the ephemeral range can hold for 2·MSL (ports ÷ 60 s on Linux)",
                    "the peer expects this side to close first; letting the server close first moves TIME_WAIT there"
                ],
                steps: [
                    "ss -tan state time-wait '( dport = :\(port) )' | wc -l   # on \(k.subject)",
                    "sysctl net.ipv4.ip_local_port_range net.ipv4.tcp_tw_reuse",
                    "nstat -az TcpExtTW TcpExtTWRecycled TcpExtTCPTimeWaitOverflow; reuse connections (HTTP keep-alive, a pool)"
                ])
        }
    }

    // MARK: - Established trouble

    mutating func zeroWindowStall() {
        var items: [GroupKey: [Item]] = [:]
        for n in notes {
            for role in Role.allCases {
                guard let z = n[role].longestZeroWindow, z.provenNanos >= options.stuckAfter else { continue }
                let line =
                    "\(conn(n)): the \(role.name) advertised a zero window at frame \(frame(z.frame)); its peer probed it "
                    + "\(count(z.probes, "time")), the last at frame \(frame(z.lastProbeFrame)), \(dur(z.provenNanos)) later"
                items[key(n, role), default: []].append(
                    Item(
                        notes: n, role: role, held: z.provenNanos, frames: [z.frame, z.lastProbeFrame].compactMap { $0 },
                        line: line, first: z.time, last: z.lastProbeTime ?? z.time))
            }
        }
        for (k, group) in items.sorted(by: { $0.key < $1.key }) {
            let role = group[0].role
            let longest = group.map(\.held).max() ?? 0
            let filter = role == .server ? "sport = :\(group[0].notes.server.port)" : "dport = :\(group[0].notes.server.port)"
            add(
                .zeroWindowStall, severity: .warning, k, group,
                summary: "the \(role.name) side \(k.kind == .listener ? k.subject : "\(k.subject) (to \(k.peer ?? "?"))") kept a zero receive window "
                    + "for at least \(dur(longest)) while its peer had data to send: the receiving application stopped reading.",
                threshold: options.stuckAfter,
                causes: [
                    "the receiving application is not reading the socket (blocked, busy, deadlocked)",
                    "it reads more slowly than the sender writes, and its receive buffer is full"
                ],
                steps: [
                    "ss -tanm '( \(filter) )'   # on the \(role.name): a Recv-Q that stays high is data the application has not read",
                    "nstat -az TcpExtTCPToZeroWindowAdv TcpExtTCPFromZeroWindowAdv TcpExtTCPWantZeroWindowAdv",
                    "what the receiving process is doing: its threads' stacks (gdb, py-spy dump, jstack)"
                ])
        }
    }

    mutating func peerVanished() {
        var items: [GroupKey: [Item]] = [:]
        for n in notes {
            if let gone = n.vanished {
                let talker = gone.peer
                let line =
                    "\(conn(n)): \(n.vanishedCount) retransmissions from the \(talker.name) went unacknowledged "
                    + "(presumed gone at frame \(frame(n.vanishedFrame))); inferred: the capture cannot show what became of the \(gone.name)"
                items[key(n, talker), default: []].append(
                    Item(
                        notes: n, role: talker, frames: [n.vanishedFrame].compactMap { $0 }, evidence: .inferred,
                        line: line, first: n.vanishedTime, last: n.lastTime))
            } else if let talker = n.keptTalking {
                let gone = talker.peer
                let line =
                    "\(conn(n)): the \(gone.name) reset at frame \(frame(n[gone].resetFrame)), yet the \(talker.name) kept "
                    + "sending (frame \(frame(n.keptTalkingFrame))): the RST did not reach it"
                items[key(n, talker), default: []].append(
                    Item(
                        notes: n, role: talker, frames: [n[gone].resetFrame, n.keptTalkingFrame].compactMap { $0 },
                        evidence: .observed, line: line, first: n.firstTime, last: n.lastTime))
            } else {
                for talker in Role.allCases {
                    guard let item = unansweredKeepAlives(n, from: talker) else { continue }
                    items[key(n, talker), default: []].append(item)
                }
            }
        }
        for (k, group) in items.sorted(by: { $0.key < $1.key }) {
            let role = group[0].role
            let filter = role == .server ? "sport = :\(group[0].notes.server.port)" : "dport = :\(group[0].notes.server.port)"
            add(
                .peerVanished, severity: .warning, k, group,
                summary: "\(count(group.count, "connection")) \(k.kind == .listener ? "on \(k.subject)" : "from \(k.subject) to \(k.peer ?? "?")") "
                    + "kept sending to a peer that no longer answers"
                    + (group.allSatisfy { $0.line.contains(" keep-alive") } ? " (keep-alive probes, unanswered)" : "")
                    + ": the connection is half-open.",
                threshold: nil,
                causes: [
                    "the peer host crashed, rebooted or lost its network",
                    "the path broke: a NAT or firewall forgot the flow, or dropped the peer's RST",
                    "the peer reset the connection and the RST was lost"
                ],
                steps: [
                    "ss -tano '( \(filter) )'   # on the \(role.name): the timer and its count (on: retransmissions; keepalive: unanswered probes)",
                    "sysctl net.ipv4.tcp_retries2 net.ipv4.tcp_keepalive_time net.ipv4.tcp_keepalive_intvl net.ipv4.tcp_keepalive_probes   # how long the kernel tries before giving up",
                    "enable TCP keep-alive or TCP_USER_TIMEOUT in the application; check the NAT/firewall idle timeouts on the path"
                ])
        }
    }

    /// Keep-alives `talker` sent after the last segment of its peer, who had answered before:
    /// at least `unansweredKeepAlives` to the end of the capture, or fewer then `talker`'s own RST
    /// (its kernel gave up: Linux resets after TCP_KEEPCNT unanswered probes). Needs the final
    /// facts (the peer's last segment is a pure ACK more often than not, which raises no event).
    func unansweredKeepAlives(_ n: ConnectionNotes, from talker: Role) -> Item? {
        guard let f = n.final, let peerLast = f.lastTime(of: talker.peer) else { return nil }
        let probes = n[talker].keepAlives.filter { $0.time > peerLast }
        guard let firstProbe = probes.first, let lastProbe = probes.last else { return nil }
        let reset = n[talker].resetFrame != nil && n[talker].resetTime >= lastProbe.time ? n[talker].resetFrame : nil
        guard probes.count >= options.unansweredKeepAlives || (reset != nil && probes.count >= 1) else { return nil }
        let gone = talker.peer
        let untilTime = reset != nil ? n[talker].resetTime : lastProbe.time
        let atLeast = probes.count == EndpointNotes.keepAliveLimit ? "at least " : ""
        var line =
            "\(conn(n)): \(atLeast)\(count(probes.count, "keep-alive")) from the \(talker.name) (frames \(frames(probes.compactMap(\.frame)))) "
            + "went unanswered, the first \(dur(CaptureTime.elapsed(from: peerLast, to: firstProbe.time))) after the \(gone.name)'s last segment"
        if let reset {
            line +=
                "; the \(talker.name) then reset the connection (frame \(frame(reset))), \(dur(CaptureTime.elapsed(from: peerLast, to: untilTime))) "
                + "after it last heard from the \(gone.name): its keep-alive gave up"
        } else {
            line += "; nothing from the \(gone.name) in the \(dur(CaptureTime.elapsed(from: peerLast, to: end))) to the end of the capture"
        }
        line += "; inferred: the capture cannot show what became of the \(gone.name)"
        return Item(
            notes: n, role: talker, frames: probes.compactMap(\.frame) + [reset].compactMap { $0 }, evidence: .inferred,
            line: line, first: firstProbe.time, last: untilTime)
    }

    mutating func retransmissionHeavy() {
        var items: [GroupKey: [Item]] = [:]
        for n in notes where n.vanished == nil && n.keptTalking == nil {
            guard let f = n.final else { continue }
            for role in Role.allCases {
                let sent = role == .client ? f.packetsFromClient : f.packetsFromServer
                let r = n[role].retransmissions
                guard r >= options.retransmissionMinimum, sent > 0,
                    Double(r) / Double(sent) >= options.retransmissionShare
                else { continue }
                var line =
                    "\(conn(n)): the \(role.name) retransmitted \(r) of its \(sent) segments "
                    + "(\(Format.fixed(Double(r) * 100 / Double(sent), 1))%), frames \(frames(n[role].retransmissionFrames))"
                if let rtt = f.handshakeRTT { line += "; handshake RTT \(dur(rtt)), connection \(dur(f.durationNanos))" }
                items[key(n, role), default: []].append(
                    Item(notes: n, role: role, frames: n[role].retransmissionFrames, line: line, first: n.firstTime, last: n.lastTime))
            }
        }
        for (k, group) in items.sorted(by: { $0.key < $1.key }) {
            let role = group[0].role
            add(
                .retransmissionHeavy, severity: .warning, k, group,
                summary: "\(count(group.count, "connection")) \(k.kind == .listener ? "from \(k.subject)" : "from \(k.subject) to \(k.peer ?? "?")") "
                    + "retransmitted at least \(Format.fixed(options.retransmissionShare * 100, 0))% of the \(role.name)'s segments: "
                    + "packets are being lost on the path.",
                threshold: nil,
                causes: [
                    "loss on the path: a congested or faulty link, a policer, a full queue in a middlebox",
                    "a receiver or middlebox that drops segments (MTU black hole, checksum offload bugs)",
                    "the capture point is before the loss; after it, the originals would be missing instead"
                ],
                steps: [
                    "ss -tani '( dport = :\(group[0].notes.server.port) or sport = :\(group[0].notes.server.port) )'   # on the \(role.name): retrans, rtt, cwnd",
                    "nstat -az TcpRetransSegs TcpExtTCPLostRetransmit TcpExtTCPTimeouts TcpExtTCPSackRecovery",
                    "ip -s link on each hop's interfaces (drops, errors); mtr or a capture at the other end to find where"
                ])
        }
    }

    /// Handshake time as the client lives it: its first SYN to the listener's first SYN+ACK, so a
    /// lost SYN's retransmission delay counts (the summary's split RTT starts at the last SYN).
    mutating func slowHandshake() {
        var byListener: [SocketAddress: [(ConnectionNotes, Int64)]] = [:]
        for n in notes where !n.midstream {
            guard let s = n.firstSynTime, let a = n.firstSynAckTime else { continue }
            byListener[n.server, default: []].append((n, CaptureTime.elapsed(from: s, to: a)))
        }
        for (listener, list) in byListener.sorted(by: { $0.key.description < $1.key.description })
        where list.count >= options.slowHandshakeSamples {
            let sorted = list.map(\.1).sorted()
            func pct(_ p: Double) -> Int64 { sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded(.up)))] }
            let p50 = pct(0.5)
            // Saturating: a damaged file's times can put p50 anywhere in the 64-bit range.
            let fourTimes = p50.multipliedReportingOverflow(by: 4)
            let slow = list.filter { _, d in
                d >= CaptureTime.adding(options.slowHandshake, to: p50) && (fourTimes.overflow ? d == .max : d >= fourTimes.partialValue)
            }
            guard !slow.isEmpty else { continue }
            var group: [Item] = slow.map { n, d in
                let lost = n.synFrames.count > 1 ? " (\(n.synFrames.count) SYNs: the first went unanswered)" : ""
                return Item(
                    notes: n, role: .server, held: d, frames: n.synFrames + n.synAckFrames.prefix(1),
                    line: "\(conn(n)): first SYN at frame \(frame(n.synFrames.first)), answered at frame "
                        + "\(frame(n.synAckFrames.first)) \(dur(d)) later\(lost)",
                    first: n.firstSynTime ?? n.firstTime, last: n.firstSynAckTime ?? n.lastTime)
            }
            group.append(
                Item(
                    notes: slow[0].0, role: .server, held: 0,
                    line: "\(sorted.count) handshakes answered: p50 \(dur(p50)), p90 \(dur(pct(0.9))), "
                        + "max \(dur(sorted.last ?? 0))",
                    first: group[0].first, last: group[0].last))
            add(
                .slowHandshake, severity: .warning, GroupKey(kind: .listener, subject: listener.description), group,
                summary: "\(slow.count) of \(sorted.count) handshakes to \(listener) took far longer than its median "
                    + "\(dur(p50)) (up to \(dur(slow.map(\.1).max() ?? 0))): connections are slow to open.",
                threshold: options.slowHandshake, connectionCount: slow.count,
                causes: [
                    "SYNs lost or dropped on the way, answered only after the client's retransmission (1 s, then 3 s on Linux)",
                    "the listener's SYN or accept queue is full at times and drops SYNs (bursts)",
                    "the server answers slowly (CPU, SYN cookies under load) or the path's delay varies"
                ],
                steps: [
                    "nstat -az TcpExtListenDrops TcpExtListenOverflows TcpExtTCPReqQFullDrop   # on the server",
                    "nstat -az TcpExtTCPSynRetrans   # on the clients: SYN retransmissions",
                    "ss -ltn '( sport = :\(listener.port) )'; the loss on the path (ip -s link, mtr)"
                ])
        }
    }

    // MARK: - Building findings

    /// The subject an endpoint's finding belongs to: a server endpoint's listener, or a client's host
    /// (with the server it talks to).
    func key(_ n: ConnectionNotes, _ role: Role) -> GroupKey {
        role == .server
            ? GroupKey(kind: .listener, subject: n.server.description)
            : GroupKey(kind: .host, subject: n.client.address.description, peer: n.server.description)
    }

    mutating func add(
        _ code: DiagnosisCode, severity: DiagnosisSeverity, _ k: GroupKey, _ items: [Item],
        summary: String, threshold: Int64?, connectionCount: Int? = nil, details: [String]? = nil,
        causes: [String], steps: [String], label: String? = nil
    ) {
        let ids = Array(Set(items.map(\.notes.ref.id)))
        var fs = Array(Set(items.flatMap(\.frames))).sorted()
        if fs.count > options.listLimit { fs = Array(fs.prefix(options.listLimit)) }
        var lines = details ?? items.map(\.line).filter { !$0.isEmpty }
        let limit = 8
        if lines.count > limit {
            let more = lines.count - limit
            lines = Array(lines.prefix(limit)) + ["… and \(more) more"]
        }
        let held = items.map(\.held).max() ?? 0
        findings.append(
            Finding(
                code: code, severity: severity, subjectKind: k.kind, subject: k.subject, peer: k.peer, summary: summary,
                evidence: items.allSatisfy { $0.evidence >= .observed } ? .observed : .inferred,
                details: lines, connections: Array(ids.sorted().prefix(options.listLimit)),
                connectionCount: connectionCount ?? ids.count, frames: fs,
                durationNanos: threshold != nil ? held : nil, thresholdNanos: threshold,
                firstTime: items.map(\.first).min() ?? 0, lastTime: items.map(\.last).max() ?? 0,
                causes: causes, nextSteps: steps, label: label))
    }

    // MARK: - Wording

    func conn(_ n: ConnectionNotes) -> String { "connection \(n.ref.id) (\(n.client) → \(n.server))" }

    func frame(_ f: FrameRef?) -> String {
        guard let f else { return "?" }
        if sourceNames.count > 1, Int(f.source) < sourceNames.count { return "\(Escaped.text(sourceNames[Int(f.source)]))#\(f.number)" }
        return "\(f.number)"
    }

    func frames(_ fs: [FrameRef]) -> String {
        let shown = fs.prefix(6).map { frame($0) }.joined(separator: ", ")
        return fs.count > 6 ? shown + ", …" : shown
    }

    func dur(_ n: Int64) -> String { Format.duration(n) }

    func offset(_ t: Int64) -> String {
        Format.fixed(Double(CaptureTime.elapsed(from: notes.map(\.firstTime).min() ?? t, to: t)) / 1e9, 3) + "s"
    }

    /// "…; no FIN from the server in the 2.5s to the end of the capture" or "…; it left CLOSE_WAIT 3.1s later (frame 9)".
    func heldTail(_ i: HeldInterval, who: String, verb: String) -> String {
        if let until = i.until {
            return "; it left \(i.state.name) for \(i.leftTo?.name ?? "?") only \(dur(CaptureTime.elapsed(from: i.since, to: until))) later"
                + (i.leftFrame.map { " (frame \(frame($0)))" } ?? "")
        }
        return "; \(verb) in the \(dur(i.held(end: end))) to the end of the capture"
    }

    func count(_ n: Int, _ noun: String) -> String { n == 1 ? "1 \(noun)" : "\(n) \(noun)s" }
}

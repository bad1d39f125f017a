import WireStateTracker

/// How the text report is laid out for where it goes: which connections, how wide, which clock,
/// whether coloured. The CLI decides it from options and the terminal; the report only obeys.
public struct ReportView: Sendable {
    /// How times are shown in the timeline and the START column.
    public enum TimeMode: String, Sendable, CaseIterable {
        /// Seconds since the first packet of the run (`+1.203238`).
        case relative
        /// UTC wall-clock time of the capture (`2026-11-21T18:13:43.202706000Z`; `18:13:43.202706` in the table).
        case absolute
        /// Seconds since the previous line of the same connection.
        case delta
    }

    /// The terminal's width; nil: no limit (a pipe or a file gets every column).
    public var width: Int?
    public var time: TimeMode = .relative
    /// ANSI colours for severities and stuck states.
    public var color = false

    public init(width: Int? = nil, time: TimeMode = .relative, color: Bool = false) {
        self.width = width
        self.time = time
        self.color = color
    }

    /// States a connection is commonly stuck in: a leak or a half-done close worth the eye.
    static let stuck: Set<TCPState> = [.closeWait, .finWait2, .synSent, .synReceived, .lastAck]

    public static let reset = "\u{1b}[0m"
    /// Yellow: a state connections get stuck in.
    public static let stuckColor = "\u{1b}[33m"
    /// Whether `state` is one a connection gets stuck in (coloured on a terminal).
    public static func isStuck(_ state: TCPState) -> Bool { stuck.contains(state) }
    /// The SGR sequence for a severity.
    public static func sgr(_ severity: Severity) -> String {
        switch severity {
        case .violation: return "\u{1b}[1;31m"  // bold red
        case .suspicious: return "\u{1b}[33m"  // yellow
        case .captureGap: return "\u{1b}[36m"  // cyan
        case .notable: return "\u{1b}[2m"  // dim
        }
    }

    /// `text` in the colour for `severity` (unchanged without colour).
    func paint(_ text: String, _ severity: Severity) -> String {
        color ? Self.sgr(severity) + text + Self.reset : text
    }

    /// A state cell, yellow when the state is one a connection gets stuck in.
    func paint(state text: String, _ state: TCPState) -> String {
        color && Self.stuck.contains(state) ? Self.stuckColor + text + Self.reset : text
    }
}

import WireStateReport
import WireStateTracker

/// Colour for `live`'s text events on a terminal, the same as `analyze`'s: an anomaly line in its
/// severity's colour, a transition into a state connections get stuck in (CLOSE_WAIT, FIN_WAIT_2,
/// SYN_SENT…) in yellow. Never in a pipe (that is JSON Lines anyway), with NO_COLOR or --color never.
enum LiveColor {
    static func paint(_ line: String, _ event: TrackerEvent) -> String {
        switch event {
        case .anomaly(let a):
            return ReportView.sgr(a.severity) + line + ReportView.reset
        case .transition(let t) where ReportView.isStuck(t.to):
            return ReportView.stuckColor + line + ReportView.reset
        default:
            return line
        }
    }
}

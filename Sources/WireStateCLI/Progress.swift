#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif
import WireStateCapture
import WireStatePipeline
import WireStateReport

/// The progress line of a long read on a terminal's standard error: bytes and frames read,
/// packets per second, an ETA from the file's size, connections open. It appears only after the
/// first second (short runs stay silent), is redrawn at most 4 times a second in place, and is
/// erased before anything else is printed. Also the place that notices Ctrl-C while reading.
final class ReadWatcher {
    let showProgress: Bool
    private let started = ReadWatcher.now()
    private var lastDraw: Double = 0
    private var drawn = false
    private var framesBefore: UInt64 = 0
    private var currentName = ""
    private var lastFrames: UInt64 = 0

    init(showProgress: Bool) {
        self.showProgress = showProgress
    }

    static func now() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }

    /// Whether a stop (SIGINT/SIGTERM) was asked for.
    var interrupted: Bool { StopSignals.received != nil }

    /// `Pipeline.watch`: draws the line when due; false once Ctrl-C was pressed.
    func observe(_ p: ReadProgress) -> Bool {
        if p.name != currentName { framesBefore += lastFrames; currentName = p.name }
        lastFrames = p.frames
        if interrupted { return false }
        guard showProgress else { return true }
        let t = Self.now()
        let elapsed = t - started
        guard elapsed >= 1, t - lastDraw >= 0.25 else { return true }
        lastDraw = t
        let frames = framesBefore + p.frames
        var line = "reading \(Escaped.text(p.name)): "
        if let read = p.bytesRead, read >= 0 {
            line += Self.bytes(read)
            if let total = p.totalBytes, total > 0 {
                let fraction = min(1, Double(read) / Double(total))
                line += " of \(Self.bytes(total)) (\(Int(fraction * 100))%)"
                if fraction > 0.01 {
                    // ETA from this file's share read so far: compressed files advance evenly too.
                    let fileElapsed = elapsed
                    line += ", ETA \(Self.clock(fileElapsed * (1 - fraction) / fraction))"
                }
            }
            line += ", "
        }
        line +=
            "\(Self.grouped(frames)) frames, \(Self.grouped(UInt64(Double(frames) / elapsed))) pkts/s, "
            + "\(Self.grouped(UInt64(p.openConnections))) connections open"
        var width = Terminal.size(2)?.columns ?? 80
        width = max(20, width - 1)
        if line.count > width { line = String(line.prefix(width - 1)) + "…" }
        emit("\r\u{1b}[K" + line)
        drawn = true
        return true
    }

    /// Erases the line (before the report or an error is printed).
    func clear() {
        if drawn { emit("\r\u{1b}[K") }
        drawn = false
    }

    private func emit(_ s: String) {
        var e = FDOutput(fd: 2)
        e.write(s)
        e.flush()
    }

    static func bytes(_ n: Int64) -> String {
        let v = Double(n)
        if v >= 1e9 { return Format.fixed(v / 1e9, 2) + " GB" }
        if v >= 1e6 { return Format.fixed(v / 1e6, 1) + " MB" }
        if v >= 1e3 { return Format.fixed(v / 1e3, 0) + " kB" }
        return "\(n) B"
    }

    static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return "\(s / 60):" + (s % 60 < 10 ? "0" : "") + "\(s % 60)"
    }

    static func grouped(_ n: UInt64) -> String {
        let s = String(n)
        var out = ""
        for (i, ch) in s.enumerated() {
            if i > 0 && (s.count - i) % 3 == 0 { out += "," }
            out.append(ch)
        }
        return out
    }
}

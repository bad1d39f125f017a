#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif
import ArgumentParser

/// What the terminal (if any) behind a descriptor is: whether it is one, and its size. Output
/// adapts to a terminal (width, pager, colour, progress) and never to a pipe or a file, so what a
/// script reads does not depend on the window it was started from.
enum Terminal {
    static func isTerminal(_ fd: Int32) -> Bool { isatty(fd) == 1 }

    /// Columns and rows of the terminal on `fd`; `COLUMNS`/`LINES` stand in where the ioctl fails.
    static func size(_ fd: Int32) -> (columns: Int, rows: Int)? {
        var w = winsize()
        if ioctl(fd, UInt(TIOCGWINSZ), &w) == 0, w.ws_col > 0 {
            return (Int(w.ws_col), Int(max(w.ws_row, 1)))
        }
        guard let c = environment("COLUMNS").flatMap(Int.init), c > 0 else { return nil }
        return (c, environment("LINES").flatMap(Int.init) ?? 24)
    }

    static func environment(_ name: String) -> String? {
        guard let v = getenv(name) else { return nil }
        return String(cString: v)
    }
}

/// `--color auto|always|never`: auto colours only a terminal, and never when `NO_COLOR` is set
/// (https://no-color.org) or `TERM=dumb`.
enum ColorChoice: String, ExpressibleByArgument, CaseIterable {
    case auto, always, never

    func enabled(fd: Int32 = 1) -> Bool {
        switch self {
        case .always: return true
        case .never: return false
        case .auto:
            if let v = Terminal.environment("NO_COLOR"), !v.isEmpty { return false }
            if Terminal.environment("TERM") == "dumb" { return false }
            return Terminal.isTerminal(fd)
        }
    }
}

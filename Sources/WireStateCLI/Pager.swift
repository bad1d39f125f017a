#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif
import WireStateReport

/// Shows long output through a pager when standard output is a terminal, as git does:
/// `$PAGER`, else `less -FRX` (quit if one screen, keep colours, leave the text on the screen).
/// Not with `--no-pager`, not in a pipe, and not when the text fits the screen.
enum Pager {
    /// Writes `text` to standard output, through the pager when it is longer than the screen.
    static func show(_ text: String, enabled: Bool) {
        var out = PagedOutput(enabled: enabled)
        out.write(text)
        out.finish()
    }

    /// The pager command line for `sh -c`, nil for none (`PAGER=cat` or empty means none).
    static func command() -> String? {
        if let p = Terminal.environment("WIRESTATE_PAGER") ?? Terminal.environment("PAGER") {
            let trimmed = p.trimmingSpaces()
            return trimmed.isEmpty || trimmed == "cat" ? nil : trimmed
        }
        return "less -FRX"
    }

    /// Starts the pager with a pipe on its standard input; nil if it could not be started.
    /// Ctrl-C belongs to the pager meanwhile (it is ignored here, as git does).
    static func spawn(_ command: String) -> (pid: pid_t, input: Int32)? {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { return nil }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fds[0], 0)
        posix_spawn_file_actions_addclose(&actions, fds[1])
        posix_spawn_file_actions_addclose(&actions, fds[0])
        if Terminal.environment("LESS") == nil { setenv("LESS", "FRX", 0) }
        var pid: pid_t = 0
        let args = ["/bin/sh", "-c", command]
        var cargs: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
        defer { for a in cargs { free(a) } }
        let rc = posix_spawn(&pid, "/bin/sh", &actions, nil, &cargs, environ)
        close(fds[0])
        guard rc == 0 else {
            close(fds[1])
            return nil
        }
        signal(SIGINT, SIG_IGN)
        signal(SIGPIPE, SIG_IGN)
        return (pid, fds[1])
    }
}

/// Standard output, or the pager once what was written reaches a screenful (`Pager`): the
/// report is written as it is made, and only its first screen is held to decide. Not a terminal,
/// `--no-pager`, or no pager: written straight through (buffered, `FDOutput`).
struct PagedOutput: TextSink {
    /// The screen's rows while still deciding; nil once decided.
    private var screen: Int?
    private var command: String?
    private var held: [UInt8] = []
    private var lines = 0
    private var out: FDOutput?
    private var pager: pid_t?

    init(enabled: Bool) {
        if enabled, Terminal.isTerminal(1), let size = Terminal.size(1), let command = Pager.command() {
            screen = size.rows
            self.command = command
        } else {
            out = StandardOutput()
        }
    }

    mutating func write(_ text: String) {
        if out != nil {
            out!.write(text)
            return
        }
        held.append(contentsOf: text.utf8)
        for b in text.utf8 where b == 0x0a { lines += 1 }
        if let screen, lines >= screen { decide(page: true) }
    }

    mutating func flush() { out?.flush() }

    /// The pager quit (or standard output failed): the rest of the report is not made.
    var isClosed: Bool { out?.failed ?? false }

    /// Pages (or not) what is held, and everything written after it.
    private mutating func decide(page: Bool) {
        screen = nil
        if page, let command, let started = Pager.spawn(command) {
            pager = started.pid
            out = FDOutput(fd: started.input)
        } else {
            out = StandardOutput()
        }
        out!.write(utf8: held)
        held = []
    }

    /// Writes what is left and waits for the pager, if one was started.
    mutating func finish() {
        if out == nil { decide(page: false) }
        out!.flush()
        guard let pager, let fd = out?.fd else { return }
        close(fd)
        var status: Int32 = 0
        while waitpid(pager, &status, 0) < 0 && errno == EINTR {}
    }
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while s.first == " " || s.first == "\t" { s.removeFirst() }
        while s.last == " " || s.last == "\t" { s.removeLast() }
        return String(s)
    }
}

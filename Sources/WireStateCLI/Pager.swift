#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Shows long output through a pager when standard output is a terminal, as git does:
/// `$PAGER`, else `less -FRX` (quit if one screen, keep colours, leave the text on the screen).
/// Not with `--no-pager`, not in a pipe, and not when the text fits the screen.
enum Pager {
    /// Writes `text` to standard output, through the pager when it is longer than the screen.
    /// Returns false when the pager could not be started (the text is then written directly).
    static func show(_ text: String, enabled: Bool) {
        if enabled, Terminal.isTerminal(1),
            let size = Terminal.size(1), lineCount(text, atMost: size.rows) >= size.rows,
            let command = command(), spawn(command, text)
        {
            return
        }
        var out = StandardOutput()
        out.write(text)
        out.flush()
    }

    static func lineCount(_ text: String, atMost limit: Int) -> Int {
        var n = 0
        for b in text.utf8 where b == 0x0a {
            n += 1
            if n >= limit { break }
        }
        return n
    }

    /// The pager command line for `sh -c`, nil for none (`PAGER=cat` or empty means none).
    static func command() -> String? {
        if let p = Terminal.environment("WIRESTATE_PAGER") ?? Terminal.environment("PAGER") {
            let trimmed = p.trimmingSpaces()
            return trimmed.isEmpty || trimmed == "cat" ? nil : trimmed
        }
        return "less -FRX"
    }

    /// Runs the pager with `text` on its standard input and waits for it. Ctrl-C belongs to the
    /// pager meanwhile (it is ignored here, as git does).
    static func spawn(_ command: String, _ text: String) -> Bool {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { return false }
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
        guard rc == 0 else { close(fds[1]); return false }
        signal(SIGINT, SIG_IGN)
        signal(SIGPIPE, SIG_IGN)
        var out = FDOutput(fd: fds[1])
        out.write(text)
        out.flush()
        close(fds[1])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return true
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

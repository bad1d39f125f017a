import Foundation
import Testing

/// Input echoed in messages is escaped for the terminal, and a file name is bytes, not UTF-8.
@Suite struct NamesAndTerminalTests {
    static func temporaryDirectory(_ tag: String) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ws-\(tag)-\(getpid())")
        try? FileManager.default.removeItem(at: dir)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    /// Runs the binary through sh so that arguments can be bytes that are not UTF-8
    /// (Foundation's `Process` takes Strings). `script` sees the binary as $0.
    static func shell(_ script: String, in dir: URL) throws -> WireStateBinary.Result {
        try WireStateBinary.run(executable: URL(fileURLWithPath: "/bin/sh"), ["-c", script, WireStateBinary.url.path], in: dir)
    }

    @Test func aFileNameThatIsNotUTF8OpensAndIsPrintedEscaped() throws {
        let dir = try Self.temporaryDirectory("names")
        defer { try? FileManager.default.removeItem(at: dir) }
        let capture = WireStateBinary.repo.appendingPathComponent("Captures/refused.pcap").path
        let made = try Self.shell("cp '\(capture)' \"$(printf 'cap-\\377\\033[31m.pcap')\"", in: dir)
        #expect(made.status == 0)
        let r = try Self.shell("exec \"$0\" analyze \"$(printf 'cap-\\377\\033[31m.pcap')\"", in: dir)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("Totals: 1 connection (0 midstream, 1 refused"))
        // check finds it by listing the directory, writes its expectation beside it with the same
        // bytes, and names it escaped.
        let update = try Self.shell("exec \"$0\" check --update .", in: dir)
        #expect(update.status == 0, "\(update.stdout)\(update.stderr)")
        #expect(update.stdout.contains("cap-\\xff\\x1b[31m.pcap"))
        #expect(!update.stdout.contains("\u{1b}"))
        let listing = try Self.shell("test -f \"$(printf 'cap-\\377\\033[31m.expect')\" && echo same-bytes", in: dir)
        #expect(listing.stdout == "same-bytes\n", "\(listing.stdout)\(listing.stderr)")
        // A missing one is named once, escaped, on one line.
        let missing = try Self.shell("exec \"$0\" analyze \"$(printf 'gone-\\376\\033[2J.pcap')\"", in: dir)
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("gone-\\xfe\\x1b[2J.pcap: No such file or directory"), "\(missing.stderr)")
        #expect(!missing.stderr.contains("\u{1b}") && !missing.stdout.contains("\u{1b}"))
    }

    @Test func checkDoesNotEchoTerminalEscapesFromExpectationFiles() throws {
        let dir = try Self.temporaryDirectory("escapes")
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.copyItem(
            at: WireStateBinary.repo.appendingPathComponent("Captures/refused.pcap"),
            to: dir.appendingPathComponent("refused.pcap"))
        try "connection 1 \u{1b}]0;owned\u{07}\u{1b}[2J\n".write(
            to: dir.appendingPathComponent("refused.expect"),
            atomically: true, encoding: .utf8)
        let r = try WireStateBinary.run(["check", dir.path])
        #expect(r.status != 0)
        #expect(!r.stdout.contains("\u{1b}") && !r.stderr.contains("\u{1b}"), "\(r.stdout)\(r.stderr)")
        #expect(!r.stdout.contains("\u{07}"))
    }

    /// libpcap has no name for DLT 147 (USER0): the message says "DLT 147" once.
    @Test func aLinkTypeWithoutANameIsNamedOnce() throws {
        let dir = try Self.temporaryDirectory("dlt")
        defer { try? FileManager.default.removeItem(at: dir) }
        var bytes: [UInt8] = [0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 147, 0, 0, 0]
        bytes += [1, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 4, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef]
        let file = dir.appendingPathComponent("user0.pcap")
        try Data(bytes).write(to: file)
        let r = try WireStateBinary.run(["analyze", file.path])
        #expect(r.status == 2)
        #expect(r.stderr.contains("unsupported link type DLT 147; supported:"), "\(r.stderr)")
        #expect(!r.stderr.contains("(DLT 147)"))
    }
}

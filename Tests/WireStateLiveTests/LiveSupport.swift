import Foundation
#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

// Support for the live-capture tests: the built binary, child processes with bounded waits,
// loopback sockets with timeouts, the kernel's view through `ss`, and JSON Lines records.
// Every wait has a deadline; every socket is on 127.0.0.1 or ::1.

enum LiveEnv {
    static var isRoot: Bool { geteuid() == 0 }

    /// The `wirestate` executable built beside this test runner (any scratch path): the runner's
    /// own directory or one of its parents (an .xctest bundle on other platforms is a folder).
    static let binary: URL? = {
        if let path = ProcessInfo.processInfo.environment["WIRESTATE_BINARY"],
            FileManager.default.isExecutableFile(atPath: path)
        {
            return URL(fileURLWithPath: path)
        }
        var starts: [URL] = []
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            starts.append(URL(fileURLWithPath: exe))
        }
        if let b = Bundle.main.executableURL { starts.append(b) }
        starts.append(URL(fileURLWithPath: CommandLine.arguments[0]))
        for start in starts {
            var dir = start.resolvingSymlinksInPath().deletingLastPathComponent()
            for _ in 0..<4 {
                let candidate = dir.appendingPathComponent("wirestate")
                if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
                dir = dir.deletingLastPathComponent()
            }
        }
        return nil
    }()

    static func tool(_ name: String) -> String? {
        for dir in ["/usr/bin", "/bin", "/usr/sbin", "/sbin", "/usr/local/bin"] {
            let p = dir + "/" + name
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return nil
    }

    /// How to run a command as user `nobody`: setpriv, else runuser.
    static var asNobody: [String]? {
        if let setpriv = tool("setpriv") {
            return [setpriv, "--reuid=nobody", "--regid=\(nobodyGroup)", "--clear-groups"]
        }
        if let runuser = tool("runuser") { return [runuser, "-u", "nobody", "--"] }
        return nil
    }

    static var nobodyGroup: String {
        getgrnam("nogroup") != nil ? "nogroup" : "nobody"
    }

    static var hasNobody: Bool { getpwnam("nobody") != nil }

    /// A copy of the binary in `dir` (mode 755), so another user can run it wherever the build lives
    /// (a checkout under /root is not reachable by `nobody`).
    static func copyOfBinary(in dir: URL) throws -> String {
        guard let binary else { throw LiveTestError("the wirestate binary was not found beside the test runner") }
        let copy = dir.appendingPathComponent("wirestate")
        try FileManager.default.copyItem(at: binary, to: copy)
        chmod(copy.path, 0o755)
        return copy.path
    }

    /// A fresh directory under the system temporary directory.
    static func scratch(_ label: String) throws -> URL {
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("wirestate-live-\(label)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        chmod(dir.path, 0o755)
        return dir
    }

    static func remove(_ dir: URL) {
        try? FileManager.default.removeItem(at: dir)
    }

    static func wallClock() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    static func monotonic() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    static func sleep(_ seconds: Double) {
        usleep(useconds_t(seconds * 1e6))
    }
}

struct LiveTestError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

// MARK: - Child processes

/// A child process whose output goes to files (no pipe can fill up), with bounded waits.
final class Child {
    let process = Process()
    let stdoutURL: URL
    let stderrURL: URL

    /// Runs `executable` (default: the wirestate binary) with `args`; `prefix` (e.g. setpriv ...)
    /// runs before the executable.
    init(_ args: [String], executable: String? = nil, prefix: [String] = [], in dir: URL) throws {
        guard let exe = executable ?? LiveEnv.binary?.path else {
            throw LiveTestError("the wirestate binary was not found beside the test runner; build it first")
        }
        let tag = UInt32.random(in: 0...UInt32.max)
        stdoutURL = dir.appendingPathComponent("stdout-\(tag)")
        stderrURL = dir.appendingPathComponent("stderr-\(tag)")
        _ = FileManager.default.createFile(atPath: stdoutURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrURL.path, contents: nil)
        let argv = prefix + [exe] + args
        process.executableURL = URL(fileURLWithPath: argv[0])
        process.arguments = Array(argv.dropFirst())
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: stdoutURL)
        process.standardError = try FileHandle(forWritingTo: stderrURL)
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }
    var stdout: String { (try? String(contentsOf: stdoutURL, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? "" }
    var isRunning: Bool { process.isRunning }

    func signal(_ sig: Int32) { kill(pid, sig) }

    /// Waits (bounded) until `check` holds; false at the deadline.
    func waitFor(_ seconds: Double, poll: Double = 0.005, _ check: (Child) -> Bool) -> Bool {
        let deadline = LiveEnv.monotonic() + seconds
        while LiveEnv.monotonic() < deadline {  // bounded by the deadline
            if check(self) { return true }
            LiveEnv.sleep(poll)
        }
        return check(self)
    }

    /// Waits for the "listening on" note that follows the capture's activation.
    func waitUntilListening(_ seconds: Double = 15) throws {
        let ok = waitFor(seconds) { $0.stderr.contains("listening on") || !$0.isRunning }
        guard ok, isRunning else {
            throw LiveTestError("wirestate did not start capturing: status \(isRunning ? "running" : "\(process.terminationStatus)"), stderr: \(stderr)")
        }
    }

    /// The exit status, waiting at most `seconds`; on timeout the child is killed and nil returned.
    func exitStatus(within seconds: Double) -> Int32? {
        if waitFor(seconds, poll: 0.01, { !$0.isRunning }) {
            process.waitUntilExit()
            return process.terminationReason == .exit ? process.terminationStatus : 128 + process.terminationStatus
        }
        kill(pid, SIGKILL)
        _ = waitFor(5, poll: 0.01) { !$0.isRunning }
        return nil
    }

    /// Runs to completion (bounded) and returns (status, stdout, stderr).
    static func run(
        _ args: [String], executable: String? = nil, prefix: [String] = [], in dir: URL,
        timeout: Double = 30
    ) throws -> (status: Int32?, stdout: String, stderr: String) {
        let c = try Child(args, executable: executable, prefix: prefix, in: dir)
        let status = c.exitStatus(within: timeout)
        return (status, c.stdout, c.stderr)
    }
}

// MARK: - JSON Lines

struct Record {
    var line: String
    var object: [String: Any]
    var type: String { object["type"] as? String ?? "" }
    subscript(_ key: String) -> Any? { object[key] }
    func string(_ key: String) -> String? { object[key] as? String }
    func int(_ key: String) -> Int? { (object[key] as? NSNumber)?.intValue }
    func double(_ key: String) -> Double? { (object[key] as? NSNumber)?.doubleValue }
    func bool(_ key: String) -> Bool? { (object[key] as? NSNumber)?.boolValue }
}

enum JSONL {
    /// Every complete line parsed; throws on a line that is not a JSON object.
    static func parse(_ text: String) throws -> [Record] {
        var out: [Record] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            guard let obj = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                throw LiveTestError("not a JSON object: \(line)")
            }
            out.append(Record(line: String(line), object: obj))
        }
        return out
    }

    /// The event records (not the end-of-run input/summary/capture records), as sorted lines.
    static func eventLines(_ records: [Record]) -> [String] {
        records.filter { ["connection", "transition", "confirmation", "anomaly"].contains($0.type) }
            .map(\.line).sorted()
    }
}

// MARK: - Loopback sockets

/// Blocking TCP sockets on loopback with 5 s timeouts on every operation.
enum Net {
    static let timeout: Int = 5

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static func fail(_ what: String) -> Failure {
        Failure(description: "\(what): \(String(cString: strerror(errno)))")
    }

    static func withAddress<R>(v6: Bool, port: UInt16, _ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        if v6 {
            var a = sockaddr_in6()
            a.sin6_family = sa_family_t(AF_INET6)
            a.sin6_port = port.bigEndian
            a.sin6_addr = in6addr_loopback
            return withUnsafePointer(to: &a) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        }
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = port.bigEndian
        a.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        return withUnsafePointer(to: &a) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
    }

    static func socket(v6: Bool) throws -> Int32 {
        let fd = Glibc.socket(v6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw fail("socket") }
        var tv = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        return fd
    }

    /// A listening socket on loopback:port (SO_REUSEADDR; IPv6 only for ::1).
    static func listen(v6: Bool = false, port: UInt16) throws -> Int32 {
        let fd = try socket(v6: v6)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        if v6 { setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &one, socklen_t(MemoryLayout<Int32>.size)) }
        guard withAddress(v6: v6, port: port, { bind(fd, $0, $1) }) == 0 else {
            let e = fail("bind \(port)"); Glibc.close(fd); throw e
        }
        guard Glibc.listen(fd, 16) == 0 else { let e = fail("listen"); Glibc.close(fd); throw e }
        return fd
    }

    /// A port free on both 127.0.0.1 and ::1 (bound and released; never connected, so no TIME_WAIT).
    static func freePort() throws -> UInt16 {
        for _ in 0..<50 {  // bounded retries
            let fd = try socket(v6: false)
            defer { Glibc.close(fd) }
            guard withAddress(v6: false, port: 0, { bind(fd, $0, $1) }) == 0 else { continue }
            guard let port = localEndpoint(fd)?.port, port != 0 else { continue }
            let fd6 = try socket(v6: true)
            var one: Int32 = 1
            setsockopt(fd6, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &one, socklen_t(MemoryLayout<Int32>.size))
            let ok6 = withAddress(v6: true, port: port, { bind(fd6, $0, $1) }) == 0
            Glibc.close(fd6)
            if ok6 { return port }
        }
        throw LiveTestError("no free port on loopback after 50 tries")
    }

    /// Connects (non-blocking connect, so the local endpoint is known even when refused).
    /// Returns the socket, its local endpoint as `ss -n` prints it, and the connect error (0 = connected).
    static func connect(v6: Bool = false, port: UInt16) throws -> (fd: Int32, local: String, error: Int32) {
        let fd = try socket(v6: v6)
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
        let rc = withAddress(v6: v6, port: port) { Glibc.connect(fd, $0, $1) }
        let startErr = rc == 0 ? 0 : errno
        guard let local = localEndpoint(fd) else { let e = fail("getsockname"); Glibc.close(fd); throw e }
        var err: Int32 = startErr
        if startErr == EINPROGRESS {
            var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            guard Glibc.poll(&p, 1, Int32(timeout * 1000)) == 1 else {
                Glibc.close(fd)
                throw LiveTestError("connect to port \(port) timed out")
            }
            var len = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len)
        }
        _ = fcntl(fd, F_SETFL, flags)
        return (fd, local.text, err)
    }

    static func accept(_ listener: Int32) throws -> Int32 {
        var p = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
        guard Glibc.poll(&p, 1, Int32(timeout * 1000)) == 1 else { throw LiveTestError("accept timed out") }
        let fd = Glibc.accept(listener, nil, nil)
        guard fd >= 0 else { throw fail("accept") }
        var tv = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        return fd
    }

    static func send(_ fd: Int32, _ text: String) throws {
        let bytes = Array(text.utf8)
        var off = 0
        while off < bytes.count {  // bounded: each pass sends >= 1 byte or throws
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + off, bytes.count - off, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw fail("send") }
            off += n
        }
    }

    static func receive(_ fd: Int32, exactly count: Int) throws -> String {
        var buf = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {  // bounded: each pass reads >= 1 byte or throws
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + got, count - got, 0) }
            guard n > 0 else { throw n == 0 ? LiveTestError("EOF after \(got) of \(count) bytes") : fail("recv") }
            got += n
        }
        return String(decoding: buf, as: UTF8.self)
    }

    /// Reads to the peer's FIN (at most 1 MiB).
    static func receiveToEOF(_ fd: Int32) throws -> String {
        var all: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while all.count <= 1 << 20 {  // bounded by size and the receive timeout
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
            if n == 0 { return String(decoding: all, as: UTF8.self) }
            guard n > 0 else { throw fail("recv") }
            all += buf[0..<n]
        }
        throw LiveTestError("more than 1 MiB before EOF")
    }

    /// Reads whatever is waiting, without blocking.
    static func drain(_ fd: Int32) {
        var buf = [UInt8](repeating: 0, count: 65536)
        for _ in 0..<64 {  // bounded
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, Int32(MSG_DONTWAIT)) }
            if n <= 0 { return }
        }
    }

    static func shutdownWrite(_ fd: Int32) { shutdown(fd, Int32(SHUT_WR)) }

    static func close(_ fd: Int32) { Glibc.close(fd) }

    /// close() with SO_LINGER {1, 0}: RST if the connection is synchronized, no TIME_WAIT.
    static func abort(_ fd: Int32) {
        var l = linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, socklen_t(MemoryLayout<linger>.size))
        Glibc.close(fd)
    }

    struct Endpoint { var text: String; var port: UInt16 }

    static func localEndpoint(_ fd: Int32) -> Endpoint? {
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let ok =
            withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
            } == 0
        guard ok else { return nil }
        var buf = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        switch Int32(storage.ss_family) {
        case AF_INET:
            return withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
                    var a = sin.pointee.sin_addr
                    inet_ntop(AF_INET, &a, &buf, socklen_t(buf.count))
                    let port = UInt16(bigEndian: sin.pointee.sin_port)
                    return Endpoint(text: "\(String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)):\(port)", port: port)
                }
            }
        case AF_INET6:
            return withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin6 in
                    var a = sin6.pointee.sin6_addr
                    inet_ntop(AF_INET6, &a, &buf, socklen_t(buf.count))
                    let port = UInt16(bigEndian: sin6.pointee.sin6_port)
                    return Endpoint(text: "[\(String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))]:\(port)", port: port)
                }
            }
        default:
            return nil
        }
    }
}

// MARK: - The kernel's view

struct KernelSocket {
    var ssState: String
    var state: String
    var local: String
    var peer: String
}

enum Kernel {
    /// ss(8) state names → RFC 9293 names.
    static let rfcName: [String: String] = [
        "ESTAB": "ESTABLISHED", "SYN-SENT": "SYN_SENT", "SYN-RECV": "SYN_RECEIVED",
        "FIN-WAIT-1": "FIN_WAIT_1", "FIN-WAIT-2": "FIN_WAIT_2", "TIME-WAIT": "TIME_WAIT",
        "CLOSE-WAIT": "CLOSE_WAIT", "LAST-ACK": "LAST_ACK", "CLOSING": "CLOSING",
        "LISTEN": "LISTEN", "UNCONN": "CLOSED", "CLOSE": "CLOSED"
    ]

    /// `ss -tanH state all '( sport = :P or dport = :P )'`, parsed.
    static func sockets(port: UInt16, in dir: URL) throws -> [KernelSocket] {
        guard let ss = LiveEnv.tool("ss") else { throw LiveTestError("ss (iproute2) is not installed") }
        let r = try Child.run(
            ["-tanH", "state", "all", "( sport = :\(port) or dport = :\(port) )"],
            executable: ss, in: dir, timeout: 10)
        guard r.status == 0 else { throw LiveTestError("ss failed: \(r.stderr)") }
        return r.stdout.split(separator: "\n").compactMap { line in
            let f = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard f.count >= 5 else { return nil }
            return KernelSocket(ssState: f[0], state: rfcName[f[0]] ?? "?" + f[0], local: f[3], peer: f[4])
        }
    }

    /// Both endpoints' states for one connection; a socket ss does not show is CLOSED (a socket that
    /// reached CLOSED leaves the kernel's tables even while its descriptor is open).
    static func states(_ sockets: [KernelSocket], client: String, server: String) -> (client: String, server: String) {
        let c = sockets.filter { $0.local == client && $0.peer == server }.map(\.state)
        let s = sockets.filter { $0.local == server && $0.peer == client }.map(\.state)
        return (c.first ?? "CLOSED", s.first ?? "CLOSED")
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Giving up root once the capture is open, as tcpdump's `-Z` does.
public enum Privileges {
    /// The account privileges were dropped to.
    public struct Account: Sendable, Equatable {
        public var name: String
        public var uid: UInt32
        public var gid: UInt32
    }

    public static var isRoot: Bool { geteuid() == 0 }

    /// Looks `user` up (name, or a numeric uid) in the password database.
    public static func account(_ user: String) -> Account? {
        var pwd = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16_384)
        if getpwnam_r(user, &pwd, &buffer, buffer.count, &result) == 0, result != nil {
            return Account(name: String(cString: pwd.pw_name), uid: UInt32(pwd.pw_uid), gid: UInt32(pwd.pw_gid))
        }
        if let uid = UInt32(user), getpwuid_r(uid, &pwd, &buffer, buffer.count, &result) == 0, result != nil {
            return Account(name: String(cString: pwd.pw_name), uid: UInt32(pwd.pw_uid), gid: UInt32(pwd.pw_gid))
        }
        return nil
    }

    /// Switches the process to `user`: its supplementary groups (initgroups), its group, then its
    /// user id, and checks that root cannot be regained. Open files and sockets (the capture, the
    /// file being written) stay usable. Throws `.permission` when the process may not switch.
    @discardableResult
    public static func drop(to user: String) throws(CaptureError) -> Account {
        guard let account = account(user) else {
            throw CaptureError(kind: .other, source: user, message: "no such user")
        }
        func fail(_ step: String) -> CaptureError {
            let e = errno
            return CaptureError(
                kind: e == EPERM ? .permission : .other, source: user,
                message: "cannot drop privileges (\(step): \(String(cString: strerror(e))))")
        }
        #if canImport(Darwin)
            guard initgroups(account.name, Int32(bitPattern: account.gid)) == 0 else { throw fail("initgroups") }
        #else
            guard initgroups(account.name, account.gid) == 0 else { throw fail("initgroups") }
        #endif
        guard setgid(account.gid) == 0 else { throw fail("setgid") }
        guard setuid(account.uid) == 0 else { throw fail("setuid") }
        if account.uid != 0 && (setuid(0) == 0 || seteuid(0) == 0) {
            throw CaptureError(kind: .permission, source: user, message: "root could be regained after dropping privileges")
        }
        return account
    }

    /// This program's own path (for messages such as the `setcap` advice).
    public static var executablePath: String {
        #if os(Linux)
            var buffer = [CChar](repeating: 0, count: 4097)
            let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
            if n > 0 { return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) }
        #endif
        return CommandLine.arguments.first ?? "wirestate"
    }
}

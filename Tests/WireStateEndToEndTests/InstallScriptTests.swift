import Foundation
import Testing

/// scripts/install.sh puts the binary on PATH and says where and why.
@Suite struct InstallScriptTests {
    @Test func installsIntoThePrefixGivenAndSaysSo() throws {
        let dir = try NamesAndTerminalTests.temporaryDirectory("install-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let script = WireStateBinary.repo.appendingPathComponent("scripts/install.sh").path
        let r = try NamesAndTerminalTests.shell("WIRESTATE_BINARY=\"$0\" PATH=/usr/bin:/bin exec bash '\(script)' '\(dir.path)/p'", in: dir)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("Installed \(dir.path)/p/bin/wirestate (as asked)"))
        #expect(r.stdout.contains("is not on your PATH"))
        let v = try WireStateBinary.run(executable: dir.appendingPathComponent("p/bin/wirestate"), ["--version"], in: dir)
        #expect(v.stdout == "0.1.0\n")
    }

    @Test func theDefaultPrefixDependsOnWhoRunsIt() throws {
        let dir = try NamesAndTerminalTests.temporaryDirectory("install-home-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let script = WireStateBinary.repo.appendingPathComponent("scripts/install.sh").path
        if getuid() == 0 {
            // As root the default is /usr/local; run as nobody (setpriv) for the ~/.local default.
            let r = try NamesAndTerminalTests.shell(
                "cp \"$0\" ws && chmod 777 . && chmod 755 ws && HOME='\(dir.path)' WIRESTATE_BINARY=\"$PWD/ws\" setpriv --reuid=65534 --regid=65534 --clear-groups bash '\(script)'",
                in: dir)
            #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
            #expect(r.stdout.contains("Installed \(dir.path)/.local/bin/wirestate (the default without root"), "\(r.stdout)")
        } else {
            let r = try NamesAndTerminalTests.shell("HOME='\(dir.path)' WIRESTATE_BINARY=\"$0\" bash '\(script)'", in: dir)
            #expect(r.stdout.contains("Installed \(dir.path)/.local/bin/wirestate (the default without root"))
        }
    }
}

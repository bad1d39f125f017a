import Foundation
import Testing

/// The --static-swift-stdlib binary runs where the Swift toolchain is not (scripts/test-static.sh:
/// a chroot holding only the binary and its C libraries). Building it in release mode takes many
/// minutes on two cores, so it runs only with WIRESTATE_STATIC_TEST=1 (the suite does not build it).
@Suite struct StaticBuildTests {
    static var enabled: Bool { ProcessInfo.processInfo.environment["WIRESTATE_STATIC_TEST"] == "1" }

    @Test(.enabled(if: StaticBuildTests.enabled, "opt-in: WIRESTATE_STATIC_TEST=1 (a slow release build)"))
    func theStaticBinaryRunsWithoutTheToolchain() throws {
        let script = WireStateBinary.repo.appendingPathComponent("scripts/test-static.sh").path
        var args = [script]
        if let built = ProcessInfo.processInfo.environment["WIRESTATE_STATIC_BINARY"] { args.append(built) }
        let r = try WireStateBinary.run(executable: URL(fileURLWithPath: "/bin/bash"), args, in: WireStateBinary.repo)
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("test-static: OK") || r.stdout.contains("skipped: chroot needs root"), "\(r.stdout)")
    }
}

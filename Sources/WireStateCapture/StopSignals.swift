#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif
import CPcap
import Synchronization

/// SIGINT / SIGTERM as a request to stop a live capture cleanly.
///
/// The handler only records the signal and calls `pcap_breakloop` (which libpcap documents as safe
/// in a signal handler) so a read in progress returns at once; the capture loop sees the request at
/// its next read (`LiveCapture.poll`) and ends, and the caller prints its summary and closes the file.
/// Each handler is installed with `SA_RESETHAND`: a second Ctrl-C kills the process the usual way.
public enum StopSignals {
    /// The first stop signal received (0: none).
    private static let pending = Atomic<Int32>(0)
    /// The capture to break, as the bits of its `pcap_t *` (0: none).
    private static let breakTarget = Atomic<UInt>(0)

    /// The first stop signal received since `install`, if any.
    public static var received: Int32? {
        let s = pending.load(ordering: .acquiring)
        return s == 0 ? nil : s
    }

    /// Installs the handlers. `capture`, if given, has its blocking read broken on a signal.
    public static func install(signals: [Int32] = [SIGINT, SIGTERM], breaking capture: LiveCapture? = nil) {
        pending.store(0, ordering: .releasing)
        if let h = capture?.rawHandle {
            breakTarget.store(UInt(bitPattern: UnsafeMutableRawPointer(h)), ordering: .releasing)
        }
        // A parent may have started us with these signals blocked (the mask is inherited): unblock them.
        var mask = sigset_t()
        sigemptyset(&mask)
        for sig in signals { sigaddset(&mask, sig) }
        pthread_sigmask(SIG_UNBLOCK, &mask, nil)
        for sig in signals {
            var action = sigaction()
            #if canImport(Darwin)
                action.__sigaction_u.__sa_handler = stopSignalHandler
            #else
                action.__sigaction_handler.sa_handler = stopSignalHandler
            #endif
            sigemptyset(&action.sa_mask)
            action.sa_flags = Int32(bitPattern: UInt32(SA_RESETHAND))
            sigaction(sig, &action, nil)
        }
    }

    /// Puts the default dispositions back.
    public static func uninstall(signals: [Int32] = [SIGINT, SIGTERM]) {
        for sig in signals { signal(sig, SIG_DFL) }
        breakTarget.store(0, ordering: .releasing)
    }

    /// Forgets `handle` if it is the one to break (the capture is being closed).
    static func detach(_ handle: OpaquePointer) {
        let bits = UInt(bitPattern: UnsafeMutableRawPointer(handle))
        _ = breakTarget.compareExchange(expected: bits, desired: 0, ordering: .acquiringAndReleasing)
    }

    fileprivate static func handle(_ sig: Int32) {
        _ = pending.compareExchange(expected: 0, desired: sig, ordering: .acquiringAndReleasing)
        let bits = breakTarget.load(ordering: .acquiring)
        if bits != 0, let raw = UnsafeMutableRawPointer(bitPattern: bits) {
            pcap_breakloop(OpaquePointer(raw))
        }
    }
}

private func stopSignalHandler(_ sig: Int32) {
    StopSignals.handle(sig)
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif
import WireStateDecoder
import WireStateTracker

/// `--threads N`: the tracking of one run spread over N - 1 worker threads beside the reading one,
/// with output byte for byte the one thread's (`ThreadsTests`).
///
/// The reading thread (the caller's) reads, decodes and reassembles as before, numbers every TCP
/// segment (its step), and sorts the segments by the shard hash of their 4-tuple (`Shard.hash`,
/// the same both ways) into batches of `batchSteps` steps. Every worker gets every batch: it
/// processes its own segments and, at every other step, only moves its clock (`pass`), exactly as
/// a `--shard` run does, so that each TIME_WAIT expiry happens at the same step as in one run.
/// Each worker's events of a batch come back with their `EventOrder` and the step that created
/// their connection; the reading thread interleaves the workers' lists by that key (each is
/// already in order; `wirestate merge` does the same across processes), renumbers connections
/// and tunnels as one tracker numbers them (in order of creation, which is the merged order of
/// `.opened` events), and hands the events to the sink: one run's events, in one run's order.
///
/// Queues: a batch is published to all workers at once under one mutex, and at most
/// `maxInFlight` batches are out; the reading thread merges the oldest when it is done. While a
/// worker runs a batch nothing is shared but the batch, which nobody writes then (each worker
/// writes only its own output slot).
///
/// Cost: the reading thread's share is decode, hashing, one copy of each segment into the batch,
/// the merge and the sink. Events cross between threads packed by kind (`Output`). Per-thread
/// state lives behind plain pointers (`WorkerState`), so it pays no dynamic exclusivity checks.
struct ParallelTracking {
    static let defaultBatchSteps = 4096
    static let maxInFlight = 4

    /// One segment for one worker: its position in the batch.
    struct Owned {
        var offset: Int32
        var frame: FrameRef
        var segment: TCPSegment
    }

    /// What a worker hands back for one batch: its events in order, each kind in its own array.
    /// A `TrackerEvent` is 512 bytes (the size of its largest case, a connection summary), and most
    /// events are transitions and confirmations of under 100; stored apart they cost a fifth of the
    /// memory traffic between the threads.
    struct Output {
        var kinds: [Kind] = []
        var keys: [EventOrder] = []
        var summaries: [ConnectionSummary] = []
        var transitions: [Transition] = []
        var confirmations: [Confirmation] = []
        var anomalies: [Anomaly] = []
        var newTunnels: [TunnelPath] = []
        var held = 0

        enum Kind: UInt8 { case opened, finished, transition, confirmation, anomaly }

        /// Empty, with the capacity kept.
        mutating func clear() {
            kinds.removeAll(keepingCapacity: true)
            keys.removeAll(keepingCapacity: true)
            summaries.removeAll(keepingCapacity: true)
            transitions.removeAll(keepingCapacity: true)
            confirmations.removeAll(keepingCapacity: true)
            anomalies.removeAll(keepingCapacity: true)
            newTunnels = []
            held = 0
        }

        mutating func append(_ event: TrackerEvent, _ key: EventOrder) {
            keys.append(key)
            switch event {
            case .opened(let s):
                kinds.append(.opened)
                summaries.append(s)
            case .finished(let s):
                kinds.append(.finished)
                summaries.append(s)
            case .transition(let t):
                kinds.append(.transition)
                transitions.append(t)
            case .confirmation(let c):
                kinds.append(.confirmation)
                confirmations.append(c)
            case .anomaly(let a):
                kinds.append(.anomaly)
                anomalies.append(a)
            }
        }

        /// Reads the events back in order.
        struct Cursor {
            var event = 0, summary = 0, transition = 0, confirmation = 0, anomaly = 0

            mutating func next(_ o: Output) -> TrackerEvent {
                defer { event += 1 }
                switch o.kinds[event] {
                case .opened:
                    summary += 1
                    return .opened(o.summaries[summary - 1])
                case .finished:
                    summary += 1
                    return .finished(o.summaries[summary - 1])
                case .transition:
                    transition += 1
                    return .transition(o.transitions[transition - 1])
                case .confirmation:
                    confirmation += 1
                    return .confirmation(o.confirmations[confirmation - 1])
                case .anomaly:
                    anomaly += 1
                    return .anomaly(o.anomalies[anomaly - 1])
                }
            }
        }
    }

    final class Batch: @unchecked Sendable {
        let sequence: Int
        /// The step of `times[0]`.
        let firstStep: UInt64
        private(set) var times: [Int64]
        /// Per worker, its segments in step order.
        private(set) var owned: [[Owned]]
        /// Input ends: (how many of this batch's steps came before it, steps of the run so far).
        let ends: [(offset: Int, steps: UInt64)]
        /// Quiet periods of a live capture: (how many of this batch's steps came before it, the
        /// time the tracker is swept to).
        let ticks: [(offset: Int, time: Int64)]
        /// Per worker, written only by that worker.
        let outputs: UnsafeMutablePointer<Output>
        let workers: Int
        /// Workers still running it (guarded by the pool's mutex).
        var pending: Int

        init(
            sequence: Int, firstStep: UInt64, times: [Int64], owned: [[Owned]], ends: [(offset: Int, steps: UInt64)],
            ticks: [(offset: Int, time: Int64)], outputs spare: [Output]? = nil
        ) {
            self.sequence = sequence
            self.firstStep = firstStep
            self.times = times
            self.owned = owned
            self.ends = ends
            self.ticks = ticks
            workers = owned.count
            outputs = .allocate(capacity: workers)
            if let spare, spare.count == workers {
                outputs.initialize(from: spare, count: workers)
            } else {
                outputs.initialize(repeating: Output(), count: workers)
            }
            pending = workers
        }

        /// After the merge, when no worker reads it any more: its arrays, emptied, to be filled
        /// again by the next batch. Why: a batch's arrays are about a megabyte each, and freed
        /// batch by batch glibc kept some 45 MiB of them once its mmap threshold had risen
        /// (docs/scaling.md).
        func recycle() -> (times: [Int64], owned: [[Owned]], outputs: [Output]) {
            var t = times, o = owned
            times = []
            owned = []
            t.removeAll(keepingCapacity: true)
            for w in o.indices { o[w].removeAll(keepingCapacity: true) }
            var outs: [Output] = []
            outs.reserveCapacity(workers)
            for w in 0..<workers {
                var out = (outputs + w).move()
                (outputs + w).initialize(to: Output())
                out.clear()
                outs.append(out)
            }
            return (t, o, outs)
        }

        deinit {
            outputs.deinitialize(count: workers)
            outputs.deallocate()
        }
    }

    /// A worker's own state, touched only by its thread once started.
    struct WorkerState {
        let index: Int
        var tracker: ConnectionTracker
        var tagger = EventTagger()
        /// The batch in progress's events.
        var output = Output()
        var tunnelsSent = 0
        var next = 0  // the sequence of the next batch to run

        init(index: Int, configuration: ConnectionTracker.Configuration) {
            self.index = index
            tracker = ConnectionTracker(configuration: configuration)
            tracker.recordsOrigins = true
        }

        /// Runs one batch into its output slot.
        mutating func run(_ b: Batch) {
            // The slot holds an emptied output of an earlier batch: fill that one.
            swap(&output, &b.outputs[index])
            b.owned[index].withUnsafeBufferPointer { mine in
                b.times.withUnsafeBufferPointer { times in
                    var k = 0, e = 0, q = 0
                    for i in 0..<times.count {
                        while e < b.ends.count, b.ends[e].offset == i {
                            end(steps: b.ends[e].steps)
                            e += 1
                        }
                        while q < b.ticks.count, b.ticks[q].offset == i {
                            tick(now: b.ticks[q].time, after: b.firstStep + UInt64(i))
                            q += 1
                        }
                        if k < mine.count, Int(mine[k].offset) == i {
                            tracker.process(mine[k].segment, frame: mine[k].frame, time: times[i])
                            k += 1
                        } else {
                            tracker.pass(time: times[i])
                        }
                        if !tracker.origins.isEmpty { tag(step: b.firstStep + UInt64(i), ending: false) }
                    }
                    while e < b.ends.count {
                        end(steps: b.ends[e].steps)
                        e += 1
                    }
                    while q < b.ticks.count {
                        tick(now: b.ticks[q].time, after: b.firstStep + UInt64(times.count))
                        q += 1
                    }
                }
            }
            b.outputs[index] = output
            output = Output()
            if tracker.tunnelPaths.count > tunnelsSent {
                b.outputs[index].newTunnels = Array(tracker.tunnelPaths[tunnelsSent...])
                tunnelsSent = tracker.tunnelPaths.count
            }
            b.outputs[index].held = tracker.connectionCount
        }

        /// A quiet period of a live capture, before step `next`: the tracker is swept to `now`
        /// (`Pipeline.tick`). Its events are placed after step `next - 1`'s own, in the phases of
        /// an input's end (due deadlines by time, then idle ones), so that the workers' events
        /// of a tick interleave as one tracker's, between the two steps.
        mutating func tick(now: Int64, after next: UInt64) {
            tracker.sweep(now: now)
            if !tracker.origins.isEmpty { tag(step: next &- 1, ending: true) }
        }

        /// An input ended (`Pipeline.finish`, or a recording that starts earlier than the last ended).
        mutating func end(steps: UInt64) {
            while tracker.finishSome(1024) { tag(step: steps, ending: true) }
            tag(step: steps, ending: true)
        }

        /// The tracker's events of the step, with their keys (as `Pipeline.drainInOrder` gives
        /// them), into the batch's output; the tracker's buffer is emptied for the next step, so
        /// it stays small and in cache.
        mutating func tag(step: UInt64, ending: Bool) {
            defer {
                tracker.events.removeAll(keepingCapacity: true)
                tracker.origins.removeAll(keepingCapacity: true)
            }
            guard !tracker.events.isEmpty else { return }
            let events = tracker.events
            tagger.tag(events, tracker.origins, step: step, ending: ending) { i, position in output.append(events[i], position) }
        }
    }

    /// The threads and the queue between them.
    final class Pool: @unchecked Sendable {
        let states: UnsafeMutablePointer<WorkerState>
        let count: Int
        private let lock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        private let work = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
        private let done = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
        // Guarded by `lock`.
        private var published: [Batch] = []
        private var stopping = false
        private var threads: [pthread_t] = []

        /// What a worker thread starts with. The pool outlives its threads (`shutdown` joins them
        /// before anything is freed), so the thread need not own it.
        final class Context {
            unowned(unsafe) let pool: Pool
            let index: Int
            init(pool: Pool, index: Int) {
                self.pool = pool
                self.index = index
            }
        }

        init(workers n: Int, configuration: ConnectionTracker.Configuration) {
            count = n
            states = .allocate(capacity: n)
            for i in 0..<n { (states + i).initialize(to: WorkerState(index: i, configuration: configuration)) }
            pthread_mutex_init(lock, nil)
            pthread_cond_init(work, nil)
            pthread_cond_init(done, nil)
            for i in 0..<n {
                let context = Unmanaged.passRetained(Context(pool: self, index: i)).toOpaque()
                var t = pthread_t()
                let rc = pthread_create(
                    &t, nil,
                    { raw in
                        let c = Unmanaged<Context>.fromOpaque(raw!).takeRetainedValue()
                        c.pool.serve(c.index)
                        return nil
                    }, context)
                precondition(rc == 0, "pthread_create failed: \(rc)")
                threads.append(t)
            }
        }

        private var joined = false

        /// Stops and joins the worker threads.
        func shutdown() {
            guard !joined else { return }
            joined = true
            pthread_mutex_lock(lock)
            stopping = true
            pthread_cond_broadcast(work)
            pthread_mutex_unlock(lock)
            for t in threads { pthread_join(t, nil) }
        }

        deinit {
            shutdown()
            states.deinitialize(count: count)
            states.deallocate()
            pthread_cond_destroy(work)
            pthread_cond_destroy(done)
            pthread_mutex_destroy(lock)
            lock.deallocate()
            work.deallocate()
            done.deallocate()
        }

        /// A worker thread: runs every published batch in order until told to stop.
        private func serve(_ index: Int) {
            let state = states + index
            while true {
                pthread_mutex_lock(lock)
                var batch: Batch?
                while true {
                    batch = published.first { $0.sequence == state.pointee.next }
                    if batch != nil || stopping { break }
                    pthread_cond_wait(work, lock)
                }
                pthread_mutex_unlock(lock)
                guard let b = batch else { return }
                state.pointee.run(b)
                state.pointee.next += 1
                pthread_mutex_lock(lock)
                b.pending -= 1
                if b.pending == 0 {
                    published.removeAll { $0 === b }
                    pthread_cond_broadcast(done)
                }
                pthread_mutex_unlock(lock)
            }
        }

        func publish(_ b: Batch) {
            pthread_mutex_lock(lock)
            published.append(b)
            pthread_cond_broadcast(work)
            pthread_mutex_unlock(lock)
        }

        /// Whether every worker has run `b`.
        func isDone(_ b: Batch) -> Bool {
            pthread_mutex_lock(lock)
            defer { pthread_mutex_unlock(lock) }
            return b.pending == 0
        }

        func wait(for b: Batch) {
            pthread_mutex_lock(lock)
            while b.pending > 0 { pthread_cond_wait(done, lock) }
            pthread_mutex_unlock(lock)
        }
    }

    let pool: Pool
    /// Steps per batch (tests use tiny batches, so that every boundary is crossed).
    let batchSteps: Int
    // The batch being filled.
    private var firstStep: UInt64
    private var times: [Int64] = []
    private var owned: [[Owned]]
    private var ends: [(offset: Int, steps: UInt64)] = []
    private var ticks: [(offset: Int, time: Int64)] = []
    private var inFlight: [Batch] = []
    private var spareTimes: [Int64]?
    private var spareOwned: [[Owned]] = []
    /// The arrays of the last batch merged, emptied, for the next one (`Batch.recycle`).
    private var spareOutputs: [Output]?
    private var sequence = 0
    /// Per worker: its local connection ids → one run's.
    private var ids: [[UInt64: UInt64]]
    private var nextID: UInt64 = 1
    /// Per worker: its tunnel table so far; and one run's, with each path's number.
    private var workerTunnels: [[TunnelPath]]
    private(set) var tunnels: [TunnelPath] = []
    private var tunnelNumbers: [TunnelPath: UInt32] = [:]
    /// Connections the workers held after their last merged batch (progress lines).
    private(set) var held = 0

    /// `workers` tracking threads beside the caller's (which reads, decodes, merges and writes).
    init(workers n: Int, configuration: ConnectionTracker.Configuration, firstStep: UInt64, batchSteps: Int = defaultBatchSteps) {
        precondition(n >= 1)
        self.batchSteps = max(1, batchSteps)
        self.firstStep = firstStep
        // A cap on connections held is shared out: memory stays under it. Reached, each worker evicts
        // from its own table, so evictions differ from one thread's (each is still counted and reported).
        var perWorker = configuration
        perWorker.maxConnections = configuration.maxConnections.map { max(1, ($0 + n - 1) / n) }
        pool = Pool(workers: n, configuration: perWorker)
        owned = Array(repeating: [], count: n)
        ids = Array(repeating: [:], count: n)
        workerTunnels = Array(repeating: [], count: n)
        times.reserveCapacity(self.batchSteps)
    }

    /// The worker of a flow (both directions alike).
    @inline(__always)
    func worker(of s: TCPSegment) -> Int {
        Int(Shard.hash(s.source, s.destination) % UInt64(pool.count))
    }

    /// One step: a segment for worker `owner` (nil: a segment no worker tracks, `--shard`).
    /// Returns whether the batch is full.
    @inline(__always)
    mutating func add(_ s: TCPSegment, frame: FrameRef, time: Int64, owner: Int?) -> Bool {
        if let owner { owned[owner].append(Owned(offset: Int32(times.count), frame: frame, segment: s)) }
        times.append(time)
        return times.count >= batchSteps
    }

    /// An input ended after `steps` steps: every worker finishes what it holds there.
    mutating func end(steps: UInt64) {
        ends.append((times.count, steps))
    }

    /// A live capture's quiet period: every worker sweeps its tracker to `now` there. The caller
    /// sends it out at once (`flush`, as `Pipeline.tick` does): two quiet periods between the same
    /// two steps would share their keys' step, and one's idle evictions (deadline `.max`) would
    /// sort after the other's due deadlines; in batches of their own, each is merged whole.
    mutating func tick(now: Int64) {
        ticks.append((times.count, now))
    }

    /// For live capture: sends the batch being filled, however small, and hands `sink` every
    /// batch already done, in order; with `wait`, every batch out (a quiet period: nothing is
    /// arriving, so waiting holds nothing up). A quiet link sees its events at once; under load
    /// batches fill and go out as they do for a file.
    mutating func flush<Sink: EventSink>(into sink: inout Sink, wait: Bool) {
        publish(into: &sink, wait: wait)
        while let b = inFlight.first, pool.isDone(b) {
            inFlight.removeFirst()
            merge(b, into: &sink)
            reuse(b)
        }
    }

    /// Sends the batch being filled to the workers (and, with too many out, merges the oldest into
    /// `sink`). `wait`: merge every batch out, for the end of the run.
    mutating func publish<Sink: EventSink>(into sink: inout Sink, wait: Bool) {
        if !times.isEmpty || !ends.isEmpty || !ticks.isEmpty {
            let b = Batch(
                sequence: sequence, firstStep: firstStep, times: times, owned: owned, ends: ends, ticks: ticks,
                outputs: spareOutputs)
            spareOutputs = nil
            sequence += 1
            firstStep += UInt64(times.count)
            if let spare = spareTimes {
                times = spare
                owned = spareOwned
                spareTimes = nil
            } else {
                times = []
                times.reserveCapacity(batchSteps)
                for w in owned.indices { owned[w] = [] }
            }
            ends = []
            ticks = []
            pool.publish(b)
            inFlight.append(b)
        }
        while !inFlight.isEmpty && (wait || inFlight.count > Self.maxInFlight) {
            let b = inFlight.removeFirst()
            pool.wait(for: b)
            merge(b, into: &sink)
            reuse(b)
        }
    }

    /// Keeps a merged batch's arrays for the next batch.
    private mutating func reuse(_ b: Batch) {
        let (t, o, outs) = b.recycle()
        guard o.count == owned.count else { return }
        spareTimes = t
        spareOwned = o
        spareOutputs = outs
    }

    /// Stops the worker threads (after the last `publish(wait: true)`).
    func shutdown() { pool.shutdown() }

    /// One finished batch: the workers' events interleaved by key (then worker), renumbered.
    private mutating func merge<Sink: EventSink>(_ b: Batch, into sink: inout Sink) {
        let n = pool.count
        held = 0
        for w in 0..<n {
            workerTunnels[w] += b.outputs[w].newTunnels
            held += b.outputs[w].held
        }
        var cursors = Array(repeating: Output.Cursor(), count: n)
        while true {
            var best = -1
            for w in 0..<n where cursors[w].event < b.outputs[w].keys.count {
                if best < 0 || EventOrder.precedes(b.outputs[w].keys[cursors[w].event], b.outputs[best].keys[cursors[best].event]) {
                    best = w
                }
            }
            if best < 0 { break }
            let key = b.outputs[best].keys[cursors[best].event]
            var event = cursors[best].next(b.outputs[best])
            renumber(&event, from: best, &sink)
            sink.order(key)
            sink.consume(event)
        }
    }

    /// `event` of worker `w`, in place, with one run's connection and tunnel numbers.
    private mutating func renumber<Sink: EventSink>(_ event: inout TrackerEvent, from w: Int, _ sink: inout Sink) {
        switch event {
        case .opened(var s):
            ids[w][s.ref.id] = nextID
            s.ref.id = nextID
            nextID += 1
            s.tunnelID = tunnel(s.tunnelID, from: w, &sink)
            event = .opened(s)
        case .finished(var s):
            s.ref.id = ids[w].removeValue(forKey: s.ref.id) ?? s.ref.id
            s.tunnelID = tunnel(s.tunnelID, from: w, &sink)
            event = .finished(s)
        case .transition(var t):
            t.connection.id = ids[w][t.connection.id] ?? t.connection.id
            event = .transition(t)
        case .confirmation(var c):
            c.connection.id = ids[w][c.connection.id] ?? c.connection.id
            event = .confirmation(c)
        case .anomaly(var a):
            a.connection.id = ids[w][a.connection.id] ?? a.connection.id
            event = .anomaly(a)
        }
    }

    /// Worker `w`'s tunnel number `local` as one run numbers it (in order of first use).
    private mutating func tunnel<Sink: EventSink>(_ local: UInt32, from w: Int, _ sink: inout Sink) -> UInt32 {
        guard local != 0, Int(local) - 1 < workerTunnels[w].count else { return local }
        let path = workerTunnels[w][Int(local) - 1]
        if let n = tunnelNumbers[path] { return n }
        tunnels.append(path)
        let n = UInt32(tunnels.count)
        tunnelNumbers[path] = n
        sink.tunnelsChanged(tunnels)
        return n
    }
}

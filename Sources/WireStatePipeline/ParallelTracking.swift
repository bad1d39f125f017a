#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif
import WireStateDecoder
import WireStateTracker

/// `--threads N`: the tracking of one run spread over N worker threads, with output byte for byte
/// the one thread's (`ThreadsTests`).
///
/// The reading thread (the caller's) reads, decodes and reassembles as before, numbers every TCP
/// segment (its step), and sorts the segments by the shard hash of their 4-tuple (`Shard.hash`,
/// the same both ways) into batches of `batchSteps` steps. Every worker gets every batch: it
/// processes its own segments and, at every other step, only moves its clock (`pass`), exactly as
/// a `--shard` run does, so that each TIME_WAIT expiry happens at the same step as in one run.
/// Each worker's events of a batch come back tagged with their `EventOrder` and the step that
/// created their connection; the reading thread interleaves the N lists by that key (each is
/// already in order; `wirestate merge` does the same across processes), renumbers connections
/// and tunnels as one tracker numbers them (in order of creation, which is the merged order of
/// `.opened` events), and hands the events to the sink. One run's events, in one run's order.
///
/// Queues: a batch is published to all workers at once under one mutex, and at most
/// `maxInFlight` batches are out; the reading thread merges the oldest when it is done. Nothing
/// is shared while a worker runs a batch except the batch itself, which nobody writes then
/// (each worker writes only its own output slot).
final class ParallelTracking: @unchecked Sendable {
    static let defaultBatchSteps = 4096
    static let maxInFlight = 4
    /// Steps per batch (tests use tiny batches, so that every boundary is crossed).
    let batchSteps: Int

    /// One segment for one worker: its position in the batch.
    struct Owned {
        var offset: Int32
        var frame: FrameRef
        var segment: TCPSegment
    }

    /// An event of a worker with its place in the one-run order.
    struct Tagged {
        var key: MergeOrder
        var event: TrackerEvent
    }

    /// (EventOrder, creation step): as `MergeKey.Event` compares them.
    struct MergeOrder {
        var order: EventOrder
        var created: UInt64

        static func < (a: MergeOrder, b: MergeOrder) -> Bool {
            if a.order != b.order { return a.order < b.order }
            return a.order.phase == .segment ? false : a.created < b.created
        }
    }

    final class Batch: @unchecked Sendable {
        let sequence: Int
        /// The step of `times[0]`.
        let firstStep: UInt64
        var times: [Int64] = []
        /// Per worker, its segments in step order.
        var owned: [[Owned]]
        /// Input ends: (how many of this batch's steps came before it, steps of the run so far).
        var ends: [(offset: Int, steps: UInt64)] = []
        /// Per worker, written only by that worker.
        let outputs: UnsafeMutablePointer<[Tagged]>
        let newTunnels: UnsafeMutablePointer<[TunnelPath]>
        let held: UnsafeMutablePointer<Int>
        let workers: Int
        /// Workers still running it (guarded by the tracking's mutex).
        var pending: Int

        init(sequence: Int, firstStep: UInt64, workers: Int) {
            self.sequence = sequence
            self.firstStep = firstStep
            self.workers = workers
            owned = Array(repeating: [], count: workers)
            outputs = .allocate(capacity: workers)
            outputs.initialize(repeating: [], count: workers)
            newTunnels = .allocate(capacity: workers)
            newTunnels.initialize(repeating: [], count: workers)
            held = .allocate(capacity: workers)
            held.initialize(repeating: 0, count: workers)
            pending = workers
        }

        deinit {
            outputs.deinitialize(count: workers)
            outputs.deallocate()
            newTunnels.deinitialize(count: workers)
            newTunnels.deallocate()
            held.deinitialize(count: workers)
            held.deallocate()
        }
    }

    /// A worker's own state, touched only by its thread once started.
    final class Worker: @unchecked Sendable {
        let index: Int
        var tracker: ConnectionTracker
        /// Local connection id → the step that created it (open connections only).
        var created: [UInt64: UInt64] = [:]
        var tunnelsSent = 0
        var next = 0  // the sequence of the next batch to run
        var thread: pthread_t?

        init(index: Int, configuration: ConnectionTracker.Configuration) {
            self.index = index
            tracker = ConnectionTracker(configuration: configuration)
            tracker.recordsOrigins = true
        }

        /// Runs one batch into its output slot.
        func run(_ b: Batch) {
            var out: [Tagged] = []
            let mine = b.owned[index]
            var k = 0, e = 0
            for i in 0..<b.times.count {
                while e < b.ends.count, b.ends[e].offset == i {
                    end(steps: b.ends[e].steps, &out)
                    e += 1
                }
                let step = b.firstStep + UInt64(i)
                if k < mine.count, Int(mine[k].offset) == i {
                    tracker.process(mine[k].segment, frame: mine[k].frame, time: b.times[i])
                    k += 1
                } else {
                    tracker.pass(time: b.times[i])
                }
                collect(step: step, ending: false, &out)
            }
            while e < b.ends.count {
                end(steps: b.ends[e].steps, &out)
                e += 1
            }
            b.outputs[index] = out
            if tracker.tunnelPaths.count > tunnelsSent {
                b.newTunnels[index] = Array(tracker.tunnelPaths[tunnelsSent...])
                tunnelsSent = tracker.tunnelPaths.count
            }
            b.held[index] = tracker.connectionCount
        }

        /// An input ended (`Pipeline.finish`, or a recording that starts earlier than the last ended).
        func end(steps: UInt64, _ out: inout [Tagged]) {
            while tracker.finishSome(1024) { collect(step: steps, ending: true, &out) }
            collect(step: steps, ending: true, &out)
        }

        /// The tracker's events with their keys, as `Pipeline.drainInOrder` gives them to a sink.
        func collect(step: UInt64, ending: Bool, _ out: inout [Tagged]) {
            guard !tracker.events.isEmpty else {
                tracker.origins.removeAll(keepingCapacity: true)
                return
            }
            var next = 0
            var position = EventOrder(step: step, phase: ending ? .end : .segment)
            for (i, event) in tracker.events.enumerated() {
                while next < tracker.origins.count, tracker.origins[next].firstEvent <= i {
                    switch tracker.origins[next].kind {
                    case .deadline(let d): position = EventOrder(step: step, phase: ending ? .endDeadline : .deadline, deadline: d)
                    case .idle: position = EventOrder(step: step, phase: .deadline, deadline: .max)
                    case .segment: position = EventOrder(step: step, phase: .segment)
                    case .end: position = EventOrder(step: step, phase: .end)
                    }
                    next += 1
                }
                let id: UInt64
                switch event {
                case .opened(let s):
                    id = s.ref.id
                    created[id] = step
                case .finished(let s): id = s.ref.id
                case .transition(let t): id = t.connection.id
                case .confirmation(let c): id = c.connection.id
                case .anomaly(let a): id = a.connection.id
                }
                let creation = created[id] ?? step
                if case .finished = event { created.removeValue(forKey: id) }
                out.append(Tagged(key: MergeOrder(order: position, created: creation), event: event))
            }
            tracker.events.removeAll(keepingCapacity: true)
            tracker.origins.removeAll(keepingCapacity: true)
        }
    }

    let workers: [Worker]
    private let lock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let work = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let done = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    // Guarded by `lock`.
    private var published: [Batch] = []
    private var stopping = false

    // The reading thread's own.
    private var filling: Batch
    private var inFlight: [Batch] = []
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

    init(threads: Int, configuration: ConnectionTracker.Configuration, firstStep: UInt64, batchSteps: Int = defaultBatchSteps) {
        let n = max(2, threads)
        self.batchSteps = max(1, batchSteps)
        // A cap on connections held is shared out: memory stays under it. Reached, each worker evicts
        // from its own table, so evictions differ from one thread's (each is still counted and reported).
        var perWorker = configuration
        perWorker.maxConnections = configuration.maxConnections.map { max(1, ($0 + n - 1) / n) }
        workers = (0..<n).map { Worker(index: $0, configuration: perWorker) }
        ids = Array(repeating: [:], count: n)
        workerTunnels = Array(repeating: [], count: n)
        filling = Batch(sequence: 0, firstStep: firstStep, workers: n)
        pthread_mutex_init(lock, nil)
        pthread_cond_init(work, nil)
        pthread_cond_init(done, nil)
        for w in workers {
            let context = Unmanaged.passRetained(Context(owner: self, worker: w)).toOpaque()
            var t = pthread_t()
            let rc = pthread_create(
                &t, nil,
                { raw in
                    let c = Unmanaged<Context>.fromOpaque(raw!).takeRetainedValue()
                    c.owner.serve(c.worker)
                    return nil
                }, context)
            precondition(rc == 0, "pthread_create failed: \(rc)")
            w.thread = t
        }
    }

    /// What a worker thread starts with. The tracking outlives its threads (`shutdown` joins them
    /// before anything is freed), so the thread need not own it.
    final class Context {
        unowned(unsafe) let owner: ParallelTracking
        let worker: Worker
        init(owner: ParallelTracking, worker: Worker) {
            self.owner = owner
            self.worker = worker
        }
    }

    private var joined = false

    /// Stops and joins the worker threads (after the last `publish(wait: true)`).
    func shutdown() {
        guard !joined else { return }
        joined = true
        pthread_mutex_lock(lock)
        stopping = true
        pthread_cond_broadcast(work)
        pthread_mutex_unlock(lock)
        for w in workers { if let t = w.thread { pthread_join(t, nil) } }
    }

    deinit {
        shutdown()
        pthread_cond_destroy(work)
        pthread_cond_destroy(done)
        pthread_mutex_destroy(lock)
        lock.deallocate()
        work.deallocate()
        done.deallocate()
    }

    /// A worker thread: runs every published batch in order until told to stop.
    private func serve(_ w: Worker) {
        while true {
            pthread_mutex_lock(lock)
            var batch: Batch?
            while true {
                batch = published.first { $0.sequence == w.next }
                if batch != nil || stopping { break }
                pthread_cond_wait(work, lock)
            }
            pthread_mutex_unlock(lock)
            guard let b = batch else { return }
            w.run(b)
            w.next += 1
            pthread_mutex_lock(lock)
            b.pending -= 1
            if b.pending == 0 {
                published.removeAll { $0 === b }
                pthread_cond_broadcast(done)
            }
            pthread_mutex_unlock(lock)
        }
    }

    /// The worker of a flow (both directions alike).
    @inline(__always)
    func worker(of s: TCPSegment) -> Int {
        Int(Shard.hash(s.source, s.destination) % UInt64(workers.count))
    }

    /// One step: a segment for worker `owner` (nil: a segment no worker tracks, `--shard`).
    @inline(__always)
    func add(_ s: TCPSegment, frame: FrameRef, time: Int64, owner: Int?) -> Bool {
        if let owner {
            filling.owned[owner].append(Owned(offset: Int32(filling.times.count), frame: frame, segment: s))
        }
        filling.times.append(time)
        return filling.times.count >= batchSteps
    }

    /// An input ended after `steps` steps: every worker finishes what it holds there.
    func end(steps: UInt64) {
        filling.ends.append((filling.times.count, steps))
    }

    /// Sends the batch being filled to the workers (and, with too many out, merges the oldest into
    /// `sink`). `wait`: merge every batch out, for the end of the run.
    func publish<Sink: EventSink>(into sink: inout Sink, wait: Bool) {
        if !filling.times.isEmpty || !filling.ends.isEmpty {
            let b = filling
            sequence += 1
            filling = Batch(sequence: sequence, firstStep: b.firstStep + UInt64(b.times.count), workers: workers.count)
            pthread_mutex_lock(lock)
            published.append(b)
            pthread_cond_broadcast(work)
            pthread_mutex_unlock(lock)
            inFlight.append(b)
        }
        while !inFlight.isEmpty && (wait || inFlight.count > Self.maxInFlight) {
            let b = inFlight.removeFirst()
            pthread_mutex_lock(lock)
            while b.pending > 0 { pthread_cond_wait(done, lock) }
            pthread_mutex_unlock(lock)
            merge(b, into: &sink)
        }
    }

    /// One finished batch: the workers' events interleaved by key (then worker), renumbered.
    private func merge<Sink: EventSink>(_ b: Batch, into sink: inout Sink) {
        for w in 0..<workers.count { workerTunnels[w] += b.newTunnels[w] }
        held = (0..<workers.count).reduce(0) { $0 + b.held[$1] }
        var heads = Array(repeating: 0, count: workers.count)
        while true {
            var best = -1
            for w in 0..<workers.count where heads[w] < b.outputs[w].count {
                if best < 0 || b.outputs[w][heads[w]].key < b.outputs[best][heads[best]].key { best = w }
            }
            if best < 0 { break }
            let t = b.outputs[best][heads[best]]
            heads[best] += 1
            let event = renumber(t.event, from: best, &sink)
            sink.order(t.key.order)
            sink.consume(event)
        }
    }

    /// `event` of worker `w` with one run's connection and tunnel numbers.
    private func renumber<Sink: EventSink>(_ event: TrackerEvent, from w: Int, _ sink: inout Sink) -> TrackerEvent {
        func global(_ ref: ConnectionRef) -> ConnectionRef {
            var r = ref
            r.id = ids[w][ref.id] ?? ref.id
            return r
        }
        func tunnel(_ local: UInt32) -> UInt32 {
            guard local != 0, Int(local) - 1 < workerTunnels[w].count else { return local }
            let path = workerTunnels[w][Int(local) - 1]
            if let n = tunnelNumbers[path] { return n }
            tunnels.append(path)
            let n = UInt32(tunnels.count)
            tunnelNumbers[path] = n
            sink.tunnelsChanged(tunnels)
            return n
        }
        switch event {
        case .opened(var s):
            ids[w][s.ref.id] = nextID
            s.ref.id = nextID
            nextID += 1
            s.tunnelID = tunnel(s.tunnelID)
            return .opened(s)
        case .finished(var s):
            let local = s.ref.id
            s.ref = global(s.ref)
            s.tunnelID = tunnel(s.tunnelID)
            ids[w].removeValue(forKey: local)
            return .finished(s)
        case .transition(var t):
            t.connection = global(t.connection)
            return .transition(t)
        case .confirmation(var c):
            c.connection = global(c.connection)
            return .confirmation(c)
        case .anomaly(var a):
            a.connection = global(a.connection)
            return .anomaly(a)
        }
    }
}

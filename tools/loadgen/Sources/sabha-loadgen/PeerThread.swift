import CLoadgenNet
import Glibc
import Synchronization

/// What a peer thread reports to the main thread, about twice a second.
struct ThreadSnapshot: Sendable {
    var publishersConnected = 0
    var publishersFailed = 0
    var subscribersConnected = 0
    var subscribersFailed = 0
    var subscribersWithKeyframe = 0
    var packetsSent: UInt64 = 0
    var bytesSent: UInt64 = 0
    var packetsReceived: UInt64 = 0
    var bytesReceived: UInt64 = 0
    var expected: Int64 = 0
    var lost: Int64 = 0
    var authenticated: UInt64 = 0
    var authFailures: UInt64 = 0
    var pliReceived: UInt64 = 0
    var sendErrors: UInt64 = 0
    /// Latency samples since the main thread last took them.
    var latency = LatencyHistogram()
}

/// One event loop driving many peers: epoll over their sockets, `recvmmsg` per ready socket, publishers' media
/// timers, everyone's ICE/DTLS/RTCP timers. Peers arrive through `adopt` from the main thread.
final class PeerThread: @unchecked Sendable {
    let index: Int
    /// Minimum time between two polls of the sockets: packets accumulate meanwhile and each `recvmmsg` takes
    /// more of them. Latency is unaffected (it uses the kernel's receive time), publishers still send on time.
    let pollIntervalNs: Int64
    private let epoll: Int32
    private let inbox = Mutex<[any LoadPeer]>([])
    /// Peers to let go (a meeting participant that left): the thread stops driving them and forgets them.
    private let leaving = Mutex<[any LoadPeer]>([])
    let snapshot = Mutex(ThreadSnapshot())
    private let stopFlag = Atomic<Bool>(false)
    private var thread: pthread_t?

    init(index: Int, pollIntervalNs: Int64) throws {
        self.index = index
        self.pollIntervalNs = pollIntervalNs
        epoll = lg_epoll_create()
        guard epoll >= 0 else { throw LoadgenError.socket("epoll_create1: \(String(cString: strerror(-epoll)))") }
    }

    deinit { close(epoll) }

    func adopt(_ peer: any LoadPeer) {
        inbox.withLock { $0.append(peer) }
    }

    /// The peer stops sending and receiving at the thread's next round (its socket stays open until the last
    /// reference to it goes, so the server sees silence, as from a closed browser tab).
    func retire(_ peer: any LoadPeer) {
        leaving.withLock { $0.append(peer) }
    }

    func start() {
        let box = Unmanaged.passRetained(self)
        var handle = pthread_t()
        pthread_create(&handle, nil, { raw in
            let thread = Unmanaged<PeerThread>.fromOpaque(raw!).takeRetainedValue()
            thread.run()
            return nil
        }, box.toOpaque())
        thread = handle
    }

    /// Asks the loop to end and waits for it.
    func stopAndJoin() {
        stopFlag.store(true, ordering: .releasing)
        if let thread { pthread_join(thread, nil) }
        thread = nil
    }

    private func run() {
        lg_set_thread_name("loadgen-\(index)")
        let io = PeerThreadIO()
        // Slots stay put (their index is the epoll tag); a retired peer leaves a nil behind.
        var peers: [(any LoadPeer)?] = []
        var publishers: [Int] = []
        var tags = [UInt64](repeating: 0, count: 256)
        var nextSlowTickNs: Int64 = 0
        var nextSnapshotNs: Int64 = 0
        var nextDueNs = Int64.max
        var lastPollNs: Int64 = 0
        var gone = ThreadSnapshot()

        while !stopFlag.load(ordering: .acquiring) {
            var now = lg_monotonic_ns()
            let earliestPoll = min(lastPollNs + pollIntervalNs, nextDueNs)
            if now < earliestPoll {
                var pause = timespec(tv_sec: 0, tv_nsec: Int(earliestPoll - now))
                nanosleep(&pause, nil)
                now = lg_monotonic_ns()
            }
            lastPollNs = now
            let arrivals = inbox.withLock { pending -> [any LoadPeer] in
                let taken = pending
                pending.removeAll()
                return taken
            }
            for peer in arrivals {
                _ = lg_epoll_add(epoll, peer.transport.fd, UInt64(peers.count))
                if peer.isPublisher { publishers.append(peers.count) }
                peers.append(peer)
                peer.begin(now: now)
                nextDueNs = now
            }
            let departures = leaving.withLock { pending -> [any LoadPeer] in
                let taken = pending
                pending.removeAll()
                return taken
            }
            for peer in departures {
                guard let slot = peers.firstIndex(where: { $0 === peer }) else {
                    leaving.withLock { $0.append(peer) }  // adopted after we took the inbox: next round
                    continue
                }
                if let participant = peer as? MeetingPeer {
                    // Its counters stay in the totals, so rates do not dip when someone leaves.
                    participant.publishReport()
                    Self.add(participant, to: &gone)
                }
                _ = lg_epoll_del(epoll, peer.transport.fd)
                peers[slot] = nil
                publishers.removeAll { $0 == slot }
            }

            let timeoutMs = nextDueNs <= now ? 0 : Int32(min((nextDueNs - now + 999_999) / 1_000_000, 5))
            let ready = tags.withUnsafeMutableBufferPointer { lg_epoll_wait(epoll, $0.baseAddress, 256, timeoutMs) }
            for i in 0..<max(Int(ready), 0) {
                guard let peer = peers[Int(tags[i])] else { continue }
                // At most 4 batches per socket per round, so one busy socket cannot starve the others.
                for _ in 0..<4 {
                    let count = Int(lg_recv_batch(peer.transport.fd, io.receiveSlots, UInt32(PeerThreadIO.batch)))
                    guard count > 0 else { break }
                    let nowNs = lg_monotonic_ns()
                    for j in 0..<count {
                        let slot = io.receiveSlots[j]
                        let arrival = slot.stamp_ns != 0 ? slot.stamp_ns : lg_realtime_ns()
                        peer.receive(slot.data, length: Int(slot.length), arrivalNs: arrival, now: nowNs, io: io)
                    }
                    if count < PeerThreadIO.batch { break }
                }
            }

            now = lg_monotonic_ns()
            nextDueNs = now + 5_000_000
            for p in publishers {
                if let peer = peers[p] { nextDueNs = min(nextDueNs, peer.tick(now: now, io: io)) }
            }
            if now >= nextSlowTickNs {
                for case let peer? in peers where !peer.isPublisher { _ = peer.tick(now: now, io: io) }
                nextSlowTickNs = now + 5_000_000
            }
            nextDueNs = min(nextDueNs, nextSlowTickNs)
            if now >= nextSnapshotNs {
                publish(peers, gone: gone, io: io)
                nextSnapshotNs = now + 250_000_000
            }
        }
        publish(peers, gone: gone, io: io)
    }

    /// A meeting participant's traffic counters (it both sends and receives).
    private static func add(_ participant: MeetingPeer, to s: inout ThreadSnapshot) {
        s.packetsSent &+= participant.publisher.stats.packetsSent
        s.bytesSent &+= participant.publisher.stats.bytesSent
        s.pliReceived &+= participant.publisher.stats.pliReceived
        s.packetsReceived &+= participant.received.packets
        s.bytesReceived &+= participant.received.bytes
        s.expected += participant.received.expected
        s.lost += participant.received.lost
        s.authenticated &+= participant.received.authenticated
        s.authFailures &+= participant.received.authFailures
    }

    private func publish(_ peers: [(any LoadPeer)?], gone: ThreadSnapshot, io: PeerThreadIO) {
        var s = gone
        for case let peer? in peers {
            if let participant = peer as? MeetingPeer {
                participant.publishReport()
                if participant.transport.isConnected { s.publishersConnected += 1 }
                if participant.transport.isFailed { s.publishersFailed += 1 }
                Self.add(participant, to: &s)
            } else if let publisher = peer as? Publisher {
                if publisher.transport.isConnected { s.publishersConnected += 1 }
                if publisher.transport.isFailed { s.publishersFailed += 1 }
                s.packetsSent &+= publisher.stats.packetsSent
                s.bytesSent &+= publisher.stats.bytesSent
                s.pliReceived &+= publisher.stats.pliReceived
            } else if let subscriber = peer as? Subscriber {
                if subscriber.transport.isConnected { s.subscribersConnected += 1 }
                if subscriber.transport.isFailed { s.subscribersFailed += 1 }
                if subscriber.hasKeyframe { s.subscribersWithKeyframe += 1 }
                s.packetsReceived &+= subscriber.stats.packets
                s.bytesReceived &+= subscriber.stats.bytes
                s.expected += subscriber.expected
                s.lost += subscriber.lost
                s.authenticated &+= subscriber.stats.authenticated
                s.authFailures &+= subscriber.stats.authFailures
            }
        }
        s.sendErrors = io.sendErrors
        let interval = io.intervalLatency
        io.intervalLatency.reset()
        snapshot.withLock { shared in
            var latency = shared.latency
            latency.merge(interval)
            s.latency = latency
            shared = s
        }
    }
}

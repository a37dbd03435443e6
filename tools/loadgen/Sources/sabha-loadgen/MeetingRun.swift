import CLoadgenNet
import Foundation
import MediaCore
import Synchronization

/// `--mode meeting` and `--mode churn`: N participants meet in one room over `/ws`, each publishing Opus and
/// three-layer simulcast VP8 and receiving everyone. Once every participant's signalling has settled, a window
/// checks that each of the N·(N−1)·2 directed flows (publisher → receiver, audio and video) delivers packets,
/// with loss, latency and the server's CPU and drop counters. Churn mode then has participants leave and come
/// back (`--cycles`, a mix of `LeaveKind`s, `--churn-concurrency` at a time) while sampling the server's RSS,
/// checks every flow again, and finally everyone leaves and the server's `/metrics` must return to idle
/// (no transports or consumers, pool buffers back to where they were). Every phase is bounded in time.
/// With `--viewers`, viewers join after the participants (role viewer, publishing nothing) and each must receive
/// every participant's audio and video too; their figures are reported apart (`FlowWindow.viewers`).
final class MeetingRun {
    let options: LoadgenCommand
    let churn: Bool
    let cycles: Int
    let deadlineNs: Int64

    init(options: LoadgenCommand) {
        self.options = options
        churn = options.mode == "churn"
        cycles = churn ? (options.cycles ?? 1000) : 0
        deadlineNs = lg_monotonic_ns() + Int64(LoadgenCommand.seconds(options.timeLimit)! * 1e9)
    }

    private var participants: [MeetingParticipant] = []
    private var probe: ServerProbe!
    /// `--second-server` (its /metrics) and `--second-server-pid` (its CPU).
    private var secondProbe: ServerProbe!
    private var problems: [String] = []
    private var rss = MeetingSummary.Memory()
    private var nextRSSSampleNs: Int64 = 0
    private var churnRSS: (first: Int?, last: Int?, max: Int?) = (nil, nil, nil)
    private var inChurn = false
    private let started = lg_monotonic_ns()

    func run() throws -> MeetingSummary {
        _ = lg_raise_fd_limit()
        let (videoLayers, audioClip) = try LoadRun(options: options).prepareMedia()
        if options.encodeOnly { throw LoadgenError.encodeOnly }
        guard let audioClip, videoLayers.count == 3 else { throw LoadgenError.configuration("meeting modes publish audio and three video layers") }
        let http = try HTTPClient(url: options.server)
        let keyPath = options.tokenKey ?? (options.dataDir! as NSString).appendingPathComponent("token-hs256.key")
        let profiles: [SRTPProfile] = switch options.srtp {
        case "gcm": [.aeadAES128GCM]
        case "both": [.aeadAES128GCM, .aes128CMHMACSHA1_80]
        default: [.aes128CMHMACSHA1_80]
        }
        let threads = try (0..<options.threads).map { try PeerThread(index: $0, pollIntervalNs: Int64(options.pollInterval * 1_000_000)) }
        threads.forEach { $0.start() }
        defer { threads.forEach { $0.stopAndJoin() } }
        let tile = LoadgenCommand.size(options.tile) ?? (320, 180)
        let environment = MeetingEnvironment(
            http: http, room: options.room, signer: try TokenSigner(keyFile: keyPath), videoLayers: videoLayers, audio: audioClip,
            context: try DTLSContext(certificate: try DTLSCertificate(), profiles: profiles), threads: threads,
            participants: options.participants, setupTimeoutNs: Int64(LoadgenCommand.seconds(options.setupTimeout)! * 1e9),
            socketBufferBytes: Int32(options.socketBuffer * 1024), localIP: options.localIp ?? "127.0.0.1",
            pacingFactor: options.pacingFactor, decryptEvery: options.decryptEvery, tile: (tile.0, tile.1))
        probe = ServerProbe(http: http, pid: options.serverPid)
        secondProbe = ServerProbe(http: try options.secondServer.map { try HTTPClient(url: $0) } ?? http, pid: options.secondServerPid)
        participants = (0..<options.participants + options.viewers).map { MeetingParticipant(index: $0, environment: environment) }
        let progress = Progress(threads: threads, start: started)

        // Baseline before anyone joins: what "idle" means for the pool.
        let baseline = probe.metrics()
        guard !baseline.isEmpty else { throw LoadgenError.signalling("GET \(options.server)/metrics gave nothing") }
        rss.beforeJoin = probe.residentKiB

        let joinStart = lg_monotonic_ns()
        try joinAll(progress: progress)
        let joinSeconds = seconds(since: joinStart)
        let settleStart = lg_monotonic_ns()
        let settled = try settle(limitSeconds: 30 + Double(participants.count) * 0.5, progress: progress)
        let settleSeconds = seconds(since: settleStart)
        pause(LoadgenCommand.seconds(options.warmup)!, progress: progress)
        let durationSeconds = LoadgenCommand.seconds(options.duration)!
        let meeting = window(seconds: durationSeconds, label: "meeting", settled: settled, progress: progress)
        rss.meeting = probe.residentKiB

        var churnResult: MeetingSummary.Churn?
        var afterChurn: MeetingSummary.FlowWindow?
        if churn {
            churnResult = runChurn(progress: progress)
            let settledAgain = try settle(limitSeconds: 60, progress: progress)
            pause(LoadgenCommand.seconds(options.warmup)!, progress: progress)
            afterChurn = window(seconds: LoadgenCommand.seconds(options.verifyWindow)!, label: "after churn", settled: settledAgain, progress: progress)
        }

        // Everyone leaves; the server must come back to idle.
        for participant in participants where participant.phase != .idle { participant.leave(.leave) }
        let idle = waitForIdle(baseline: baseline, progress: progress)
        rss.afterTeardown = probe.residentKiB
        rss.churnFirst = churnRSS.first
        rss.churnLast = churnRSS.last
        rss.churnMax = churnRSS.max

        var passed = problems.isEmpty && meeting.flowsMissing == 0 && (meeting.viewers?.flowsMissing ?? 0) == 0 && idle.reached
        if let afterChurn { passed = passed && afterChurn.flowsMissing == 0 }
        if let churnResult { passed = passed && churnResult.failed == 0 && churnResult.completed == cycles }
        let video = videoLayers.last!
        return MeetingSummary(
            config: .init(mode: options.mode, server: options.server, room: options.room, participants: options.participants,
                          flowsPerWindow: options.participants * (options.participants - 1) * 2, viewers: options.viewers,
                          viewerFlowsPerWindow: options.viewers * options.participants * 2, cycles: cycles,
                          churnConcurrency: options.churnConcurrency, seed: options.seed, tile: "\(tile.0)x\(tile.1)",
                          simulcastLayers: videoLayers.map { "\($0.width)x\($0.height) " + String(format: "%.0f kbit/s", $0.averageKbps) },
                          fps: video.fps, audioKbps: options.audioKbps, threads: options.threads, decryptEvery: options.decryptEvery,
                          srtpProfiles: profiles.map(\.rawValue)),
            setup: .init(joinSeconds: Summary.Distribution.round(joinSeconds), settleSeconds: Summary.Distribution.round(settleSeconds),
                         settled: settled, participantErrors: participants.flatMap { p in p.errors.prefix(3).map { "\(p.identity): \($0)" } }.prefix(50).map { $0 }),
            meeting: meeting, churn: churnResult, afterChurn: afterChurn, idle: idle, rssKiB: rss,
            serverDropsOverRun: ServerProbe.dropsBetween(baseline, probe.metrics()),
            runSeconds: Summary.Distribution.round(seconds(since: started)), passed: passed, problems: Array(problems.prefix(50)))
    }

    // MARK: - Phases

    private func isFailed(_ participant: MeetingParticipant) -> Bool {
        if case .failed = participant.phase { return true }
        return false
    }

    /// Joins everyone one after another, participants first, then viewers; each waits for its first answer, as a
    /// browser would before the next person clicks (a viewer with nothing to receive does not offer, so waits for
    /// nothing). A `redirect` ends the run: every `/ws` goes to `--server`.
    private func joinAll(progress: Progress) throws {
        for participant in participants {
            participant.join()
            let limit = lg_monotonic_ns() + 15_000_000_000
            while !participant.isAnsweredOrIdle, !isFailed(participant), lg_monotonic_ns() < min(limit, deadlineNs) {
                pumpAll(progress: progress)
            }
            try checkRedirect(participant)
            if !participant.isAnsweredOrIdle { problems.append("\(participant.identity) got no answer after joining: \(participant.errors.prefix(3))") }
        }
    }

    private func checkRedirect(_ participant: MeetingParticipant) throws {
        guard let url = participant.redirect else { return }
        throw LoadgenError.signalling("\(participant.identity) was redirected to \(url): \(options.server) does not hold room \(options.room) "
            + "(this generator sends every /ws to --server and follows no redirect)")
    }

    /// Handles every participant's messages; sleeps a little when there were none. Samples RSS once a second.
    private func pumpAll(progress: Progress) {
        var any = false
        for participant in participants where participant.pump() { any = true }
        let now = lg_monotonic_ns()
        if now >= nextRSSSampleNs {
            nextRSSSampleNs = now + 1_000_000_000
            if inChurn, let kib = probe.residentKiB {
                if churnRSS.first == nil { churnRSS.first = kib }
                churnRSS.last = kib
                churnRSS.max = max(churnRSS.max ?? 0, kib)
            }
        }
        progress.tick()
        if !any { usleep(1000) }
    }

    private func pause(_ seconds: Double, progress: Progress) {
        let end = min(lg_monotonic_ns() + Int64(seconds * 1e9), deadlineNs)
        while lg_monotonic_ns() < end { pumpAll(progress: progress) }
    }

    /// Waits until every joined participant (and viewer) has media and a stream from each other participant;
    /// rejoins the failed (but a redirected one ends the run).
    private func settle(limitSeconds: Double, progress: Progress) throws -> Bool {
        let end = min(lg_monotonic_ns() + Int64(limitSeconds * 1e9), deadlineNs)
        var retried = Set<Int>()
        let publishing = { (index: Int) in index < self.options.participants }
        while lg_monotonic_ns() < end {
            pumpAll(progress: progress)
            for participant in participants where !participant.isJoined && participant.phase != .joining && !retried.contains(participant.index) {
                try checkRedirect(participant)
                problems.append("\(participant.identity) was \(participant.phase) before a check; joining again")
                retried.insert(participant.index)
                if participant.phase != .left { participant.leave(.drop) }
                participant.join()
            }
            let present = participants.filter(\.isJoined).map(\.index)
            if present.count == participants.count,
               participants.allSatisfy({ p in p.isSettled(with: present.filter { $0 != p.index && publishing($0) }) }) {
                return true
            }
        }
        let unsettled = participants.filter { p in !p.isSettled(with: participants.map(\.index).filter { $0 != p.index && publishing($0) }) }
        problems.append("signalling did not settle within \(Int(limitSeconds)) s: \(unsettled.count) participants unsettled (\(unsettled.prefix(5).map(\.identity)))")
        return false
    }

    /// Counts what every receiver got from every participant over `seconds` (the viewers apart).
    private func window(seconds: Double, label: String, settled: Bool, progress: Progress) -> MeetingSummary.FlowWindow {
        let peers = participants.map(\.peer)
        let epochs = peers.map { $0?.markWindow() }
        // The threads reset their latency windows at their next round.
        let resetLimit = lg_monotonic_ns() + 2_000_000_000
        while lg_monotonic_ns() < resetLimit,
              zip(peers, epochs).contains(where: { peer, epoch in peer.map { $0.report.withLock { $0.windowEpoch } != epoch } ?? false }) {
            pumpAll(progress: progress)
        }
        let first = peers.map { $0?.report.withLock { $0 } }
        let serverPorts = Set(participants.lazy.map(\.serverPort).filter { $0 != 0 })
        let kernelBefore = ServerProbe.kernelReceiveDrops(serverPorts: serverPorts)
        let sendErrorsBefore = progress.aggregate().sendErrors
        let metricsBefore = probe.metrics()
        let cpuBefore = probe.cpuSeconds
        let secondMetricsBefore = options.secondServer.map { _ in secondProbe.metrics() }
        let secondCPUBefore = secondProbe.cpuSeconds
        let ownBefore = LoadRun.ownCPUSeconds()
        let start = lg_monotonic_ns()
        pause(seconds, progress: progress)
        let elapsed = Double(lg_monotonic_ns() - start) / 1e9
        let cpu = cpuBefore.flatMap { before in probe.cpuSeconds.map { $0 - before } }
        let secondCPU = secondCPUBefore.flatMap { before in secondProbe.cpuSeconds.map { $0 - before } }
        let own = LoadRun.ownCPUSeconds() - ownBefore
        let metricsAfter = probe.metrics()
        let secondDrops = secondMetricsBefore.map { ServerProbe.dropsBetween($0, secondProbe.metrics()) }
        let kernelAfter = ServerProbe.kernelReceiveDrops(serverPorts: serverPorts)
        let sendErrors = progress.aggregate().sendErrors &- sendErrorsBefore
        // Reports are copied 4 times a second: wait for one taken after the window ended.
        pause(0.3, progress: progress)
        let last = peers.map { $0?.report.withLock { $0 } }

        var tally = MeetingFlowTally()
        var viewers = MeetingFlowTally()
        for (receiver, participant) in participants.enumerated() {
            let samePeer = peers[receiver] === participant.peer
            if participant.isViewer {
                viewers.add(participant, publishers: 0..<options.participants, first: first[receiver], last: last[receiver], samePeer: samePeer, elapsed: elapsed)
            } else {
                tally.add(participant, publishers: 0..<options.participants, first: first[receiver], last: last[receiver], samePeer: samePeer, elapsed: elapsed)
            }
        }
        log(tally.said(label))
        if options.viewers > 0 { log(viewers.said("\(label), viewers")) }
        let gauge = { (name: String) in metricsAfter[name].map { Int($0) } }
        let percent = { (cpu: Double) in Summary.Distribution.round(100 * cpu / elapsed) }
        return MeetingSummary.FlowWindow(
            label: label, settledBefore: settled, seconds: Summary.Distribution.round(elapsed), flowsExpected: tally.expectedFlows,
            flowsArrived: tally.expectedFlows - tally.missingCount, flowsMissing: tally.missingCount, audioFlowsMissing: tally.audioMissing,
            videoFlowsMissing: tally.videoMissing, flowsNotSignalled: tally.notSignalled, missing: tally.missing,
            packetsReceivedPerSecond: Summary.Distribution.round(Double(tally.packets) / elapsed),
            mbitReceivedPerSecond: Summary.Distribution.round(Double(tally.bytes) * 8 / elapsed / 1e6),
            expected: tally.expected, lost: tally.lost, lossPercent: Summary.Distribution.round(tally.lossPercent),
            latency: Summary.Latency(tally.latency), videoFramesPerSecondPerFlow: Summary.Distribution(tally.videoFrameRates),
            authFailures: tally.authFailures, generatorSRTPRefused: tally.srtpRefused + viewers.srtpRefused, unknownSSRCPackets: tally.unknown,
            serverCPUSeconds: cpu.map(Summary.Distribution.round), serverCPUPercentOfOneCore: cpu.map(percent),
            secondServerCPUSeconds: secondCPU.map(Summary.Distribution.round), secondServerCPUPercentOfOneCore: secondCPU.map(percent),
            generatorCPUSeconds: Summary.Distribution.round(own),
            serverPacketsForwardedPerCPUSecond: cpu.flatMap { c in
                guard c > 0, let a = metricsBefore["sabha_rtp_forwarded_total"], let b = metricsAfter["sabha_rtp_forwarded_total"] else { return nil }
                return ((b - a) / c).rounded()
            },
            serverDrops: ServerProbe.dropsBetween(metricsBefore, metricsAfter), secondServerDrops: secondDrops,
            kernelDropsAtServerSocket: kernelAfter.server - kernelBefore.server,
            kernelDropsAtGeneratorSockets: kernelAfter.others - kernelBefore.others,
            generatorSendErrors: sendErrors,
            serverTransports: gauge("sabha_transports"), serverProducers: gauge("sabha_producers"),
            serverConsumers: gauge("sabha_consumers"), serverPoolBuffersInUse: gauge("sabha_pool_buffers_in_use"),
            viewers: options.viewers > 0 ? MeetingSummary.ViewerFlows(viewers, elapsed: elapsed) : nil)
    }

    /// Leave-and-rejoin cycles, `--churn-concurrency` participants away at a time, until `cycles` have completed
    /// (or failed) or the time limit comes.
    private func runChurn(progress: Progress) -> MeetingSummary.Churn {
        struct Away {
            var kind: LeaveKind
            var rejoinAtNs: Int64
            var leftNs: Int64
            var rejoined = false
            var deadlineNs: Int64 = 0
        }
        var rng = SplitMix64(seed: UInt64(truncatingIfNeeded: options.seed))
        var away: [Int: Away] = [:]
        var begun = 0
        var completed = 0
        var failures: [String] = []
        var failedCount = 0
        var byKind: [String: Int] = [:]
        var cycleMs: [Double] = []
        let start = lg_monotonic_ns()
        let limit = deadlineNs - 40_000_000_000  // leave time for the checks after churn (they take ≈ 10 s)
        inChurn = true
        nextRSSSampleNs = 0
        var nextLine = start + 1_000_000_000
        while (begun < cycles || !away.isEmpty) && lg_monotonic_ns() < limit {
            pumpAll(progress: progress)
            let now = lg_monotonic_ns()
            while away.count < options.churnConcurrency && begun < cycles {
                let candidates = participants.filter { p in
                    away[p.index] == nil && p.isJoined && !p.offerInFlight && (p.peer?.report.withLock { $0.connected } ?? false)
                }
                guard !candidates.isEmpty else { break }
                let participant = candidates[Int(rng.next() % UInt64(candidates.count))]
                let roll = rng.next() % 100
                let kind: LeaveKind = roll < 50 ? .leave : roll < 80 ? .drop : .blip
                participant.leave(kind)
                away[participant.index] = Away(kind: kind, rejoinAtNs: now + Int64(50 + rng.next() % 250) * 1_000_000, leftNs: now)
                begun += 1
                byKind[kind.rawValue, default: 0] += 1
            }
            for (index, var entry) in away {
                let participant = participants[index]
                if !entry.rejoined {
                    guard now >= entry.rejoinAtNs else { continue }
                    participant.join(resume: entry.kind == .blip)
                    entry.rejoined = true
                    entry.deadlineNs = now + 20_000_000_000
                    away[index] = entry
                    continue
                }
                if participant.isJoined, let peer = participant.peer, peer.report.withLock({ $0.connected }), !participant.offerInFlight {
                    completed += 1
                    cycleMs.append(Double(now - entry.leftNs) / 1e6)
                    away[index] = nil
                } else if isFailed(participant) || now >= entry.deadlineNs {
                    failedCount += 1
                    if failures.count < 20 {
                        failures.append("cycle \(begun) (\(entry.kind.rawValue)) of \(participant.identity): \(participant.phase); \(participant.errors.suffix(2))")
                    }
                    away[index] = nil
                    participant.leave(.drop)
                    participant.join()  // settle() waits for it
                }
            }
            if now >= nextLine {
                nextLine += 1_000_000_000
                log(String(format: "churn: %d of %d cycles done, %d failed, %d away | server RSS %@ KiB", completed, cycles, failedCount,
                           away.count, probe.residentKiB.map(String.init) ?? "-"))
            }
        }
        inChurn = false
        if let kib = probe.residentKiB {
            churnRSS.last = kib
            churnRSS.max = max(churnRSS.max ?? 0, kib)
        }
        let elapsed = seconds(since: start)
        if begun < cycles { problems.append("churn stopped at the time limit after \(begun) of \(cycles) cycles") }
        return MeetingSummary.Churn(
            cycles: cycles, begun: begun, completed: completed, failed: failedCount, byKind: byKind,
            seconds: Summary.Distribution.round(elapsed), cyclesPerSecond: Summary.Distribution.round(Double(completed) / max(elapsed, 0.001)),
            cycleMs: Summary.Distribution(cycleMs), failures: failures)
    }

    /// After everyone left: transports, producers and consumers at 0 and pool buffers back at the baseline.
    private func waitForIdle(baseline: [String: Double], progress: Progress) -> MeetingSummary.Idle {
        let start = lg_monotonic_ns()
        let end = min(start + 30_000_000_000, deadlineNs + 30_000_000_000)
        let poolBaseline = Int(baseline["sabha_pool_buffers_in_use"] ?? 0)
        var samples: [String: Double] = [:]
        var reached = false
        while lg_monotonic_ns() < end {
            pumpAll(progress: progress)
            samples = probe.metrics()
            let zero = ["sabha_transports", "sabha_producers", "sabha_consumers", "sabha_meeting_participants"].allSatisfy { samples[$0] == 0 }
            if zero, Int(samples["sabha_pool_buffers_in_use"] ?? -1) <= poolBaseline {
                reached = true
                break
            }
            usleep(200_000)
        }
        let value = { (name: String) in samples[name].map { Int($0) } }
        if !reached {
            problems.append("the server did not return to idle within 30 s of everyone leaving: transports \(value("sabha_transports") ?? -1), "
                + "consumers \(value("sabha_consumers") ?? -1), pool buffers in use \(value("sabha_pool_buffers_in_use") ?? -1) (baseline \(poolBaseline))")
        }
        return MeetingSummary.Idle(
            reached: reached, seconds: Summary.Distribution.round(seconds(since: start)), transports: value("sabha_transports"),
            producers: value("sabha_producers"), consumers: value("sabha_consumers"), participants: value("sabha_meeting_participants"),
            poolBuffersInUse: value("sabha_pool_buffers_in_use"), poolBuffersBaseline: poolBaseline)
    }

    private func seconds(since start: Int64) -> Double { Double(lg_monotonic_ns() - start) / 1e9 }
}

/// A small seeded generator (SplitMix64), so a churn run's sequence of leaves can be repeated with `--seed`.
struct SplitMix64 {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

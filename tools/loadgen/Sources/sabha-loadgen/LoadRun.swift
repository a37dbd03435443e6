import CLoadgenNet
import Foundation
import MediaCore
import Synchronization

/// One run: encode the clips, signal and start the publishers, then the subscribers, let media flow for the
/// duration with a progress line each second, stop, end the sessions, and summarise.
final class LoadRun {
    let options: LoadgenCommand
    let durationNs: Int64
    let setupTimeoutNs: Int64
    /// Signalling all peers must finish within this, however slow the server answers.
    let signallingLimitNs: Int64
    /// After the window closes the peers keep running this long, so packets stamped in the window that are still
    /// on their way are counted; what has not arrived by then is lost.
    static let drainNs: Int64 = 2_000_000_000

    init(options: LoadgenCommand) throws {
        self.options = options
        durationNs = Int64(LoadgenCommand.seconds(options.duration)! * 1e9)
        setupTimeoutNs = Int64(LoadgenCommand.seconds(options.setupTimeout)! * 1e9)
        signallingLimitNs = 60_000_000_000 + Int64(options.publishers + options.subscribers) * 100_000_000
    }

    func run() throws -> Summary {
        _ = lg_raise_fd_limit()
        let (videoLayers, audioClip) = try prepareMedia()
        let videoClip = videoLayers.last
        if options.encodeOnly { throw LoadgenError.encodeOnly }
        let janus = options.target == "janus"
        let localIP = options.localIp ?? (janus ? "127.0.0.2" : "127.0.0.1")
        let signalling: any SignallingClient
        /// The subscribers' signalling, by group (`--subscriber-group`; one group otherwise).
        let viewerSignalling: [any SignallingClient]
        let groups = try options.subscriberGroups()
        let groupOf = LoadgenCommand.deal(groups)
        if janus {
            signalling = try JanusVideoroomClient(url: options.janusUrl, room: options.janusRoom)
            viewerSignalling = [signalling]
        } else {
            let keyPath = options.tokenKey ?? (options.dataDir! as NSString).appendingPathComponent("token-hs256.key")
            let (http, signer) = (try HTTPClient(url: options.server), try TokenSigner(keyFile: keyPath))
            signalling = WHIPClient(http: http, room: options.room, signer: signer,
                                    viewerHTTP: try options.subscriberServer.map { try HTTPClient(url: $0) }, whepQuery: options.whepQuery)
            viewerSignalling = options.subscriberGroup.isEmpty ? [signalling] : try groups.map {
                WHIPClient(http: http, room: options.room, signer: signer, viewerHTTP: try HTTPClient(url: $0.url), whepQuery: $0.query)
            }
        }

        let profiles: [SRTPProfile] = switch options.srtp {
        case "gcm": [.aeadAES128GCM]
        case "both": [.aeadAES128GCM, .aes128CMHMACSHA1_80]
        default: [.aes128CMHMACSHA1_80]
        }
        let context = try DTLSContext(certificate: try DTLSCertificate(), profiles: profiles)
        let bufferBytes = Int32(options.socketBuffer * 1024)

        let threads = try (0..<options.threads).map { try PeerThread(index: $0, pollIntervalNs: Int64(options.pollInterval * 1_000_000)) }
        threads.forEach { $0.start() }
        defer { threads.forEach { $0.stopAndJoin() } }

        var failures: [String] = []
        var publishers: [Publisher] = []
        var subscribers: [Subscriber] = []
        let runStart = lg_monotonic_ns()
        let slotEpoch = lg_realtime_ns()
        let measurement = MeasurementWindow()
        let progress = Progress(threads: threads, start: runStart)

        // Publishers first: subscribers need someone to watch.
        for i in 0..<options.publishers {
            guard lg_monotonic_ns() - runStart < signallingLimitNs else { failures.append("signalling limit reached"); break }
            let identity = "loadgen-pub-\(i)"
            do {
                let publisher = try Publisher(index: i, identity: identity, videoLayers: videoLayers, audio: audioClip, context: context,
                                              setupTimeoutNs: setupTimeoutNs, socketBufferBytes: bufferBytes, localIP: localIP,
                                              pacingFactor: options.pacingFactor, slotEpochNs: slotEpoch)
                try publisher.accept(try signalling.publish(identity: identity, local: publisher.localDescription()))
                publishers.append(publisher)
                threads[i % threads.count].adopt(publisher)
            } catch {
                failures.append("publisher \(i): \(error)")
            }
            progress.tick()
        }
        guard !publishers.isEmpty else { throw LoadgenError.signalling("no publisher could start: \(failures.first ?? "")") }
        // Wait (bounded) until the publishers are connected, so that viewers find media flowing.
        let waitEnd = lg_monotonic_ns() + setupTimeoutNs
        while lg_monotonic_ns() < waitEnd {
            let s = progress.aggregate()
            if s.publishersConnected + s.publishersFailed >= publishers.count { break }
            usleep(20_000)
            progress.tick()
        }

        let rampIntervalNs = options.ramp > 0 ? Int64(1e9 / options.ramp) : 0
        for j in 0..<options.subscribers {
            guard lg_monotonic_ns() - runStart < signallingLimitNs else { failures.append("signalling limit reached after \(j) subscribers"); break }
            if rampIntervalNs > 0 {
                let due = runStart + Int64(j) * rampIntervalNs
                while lg_monotonic_ns() < due { usleep(UInt32(min(max((due - lg_monotonic_ns()) / 1000, 100), 100_000))); progress.tick() }
            }
            let publisher = publishers[j % publishers.count]
            let identity = "loadgen-sub-\(j)"
            do {
                let subscriber = try Subscriber(index: j, identity: identity, publisherIndex: publisher.index, publisherIdentity: publisher.identity,
                                                context: context, setupTimeoutNs: setupTimeoutNs,
                                                socketBufferBytes: bufferBytes, localIP: localIP, slotEpochNs: slotEpoch, window: measurement)
                subscriber.group = groupOf.isEmpty || viewerSignalling.count == 1 ? 0 : groupOf[j]
                subscriber.subscribeStartNs = lg_realtime_ns()
                try subscriber.accept(try viewerSignalling[subscriber.group].subscribe(identity: identity, publisher: publisher.identity,
                                                               local: subscriber.localDescription(audio: audioClip != nil, video: videoClip != nil)))
                subscribers.append(subscriber)
                threads[j % threads.count].adopt(subscriber)
            } catch {
                failures.append("subscriber \(j)" + (viewerSignalling.count > 1 ? " (group \(groupOf[j]))" : "") + ": \(error)")
            }
            progress.tick()
        }
        let signallingSeconds = Double(lg_monotonic_ns() - runStart) / 1e9
        let settleSeconds = settle(progress: progress, subscribers: subscribers.count, video: videoClip != nil)
        let measured = measure(progress: progress, window: measurement, slotEpoch: slotEpoch)
        threads.forEach { $0.stopAndJoin() }

        // End the sessions (viewers first; ending a publisher ends its viewers anyway).
        var ended = 0
        let endDeadline = lg_monotonic_ns() + 20_000_000_000
        for subscriber in subscribers where lg_monotonic_ns() < endDeadline {
            if let session = subscriber.session, viewerSignalling[subscriber.group].end(session, identity: subscriber.identity) { ended += 1 }
        }
        for publisher in publishers where lg_monotonic_ns() < endDeadline {
            if let session = publisher.session, signalling.end(session, identity: publisher.identity) { ended += 1 }
        }
        signalling.close()
        log("ended \(ended) of \(subscribers.count + publishers.count) sessions")

        return summarise(
            publishers: publishers, subscribers: subscribers, failures: failures, videoLayers: videoLayers, audioClip: audioClip,
            profiles: profiles, signallingSeconds: signallingSeconds, settleSeconds: settleSeconds, measured: measured)
    }

    /// Waits for the steady state before measuring: every subscriber connected (or failed) and, with video,
    /// holding a keyframe (servers hold a new viewer's video until one). Janus's ICE takes about a second after
    /// its answer, so a window opened right after signalling would count that as loss. Bounded by
    /// --setup-timeout; returns the seconds it took.
    private func settle(progress: Progress, subscribers: Int, video: Bool) -> Double {
        let start = lg_monotonic_ns()
        while lg_monotonic_ns() < start + setupTimeoutNs {
            let s = progress.aggregate()
            let settled = s.subscribersConnected + s.subscribersFailed >= subscribers
                && (!video || s.subscribersWithKeyframe >= s.subscribersConnected)
            if settled { break }
            usleep(20_000)
            progress.tick()
        }
        return Double(lg_monotonic_ns() - start) / 1e9
    }

    /// What the window measured: the threads' counters at both ends, CPU of the generator and the server, and
    /// the window's slots (for loss).
    struct Measured {
        var counters: (ThreadSnapshot, ThreadSnapshot)
        var generatorCPU: Double
        var serverCPU: Double?
        var secondServerCPU: Double?
        var extraServerCPU: [Double?]
        var seconds: Double
        var slots: SlotWindow
    }

    /// The measurement window (--duration), then `drainNs` for packets stamped in it to arrive.
    private func measure(progress: Progress, window: MeasurementWindow, slotEpoch: Int64) -> Measured {
        let windowStart = lg_monotonic_ns()
        let windowEnd = windowStart + durationNs
        let realtimeStart = lg_realtime_ns()
        window.open(realtimeNs: realtimeStart)
        let startCounters = progress.aggregate()
        let generatorCPUStart = Self.ownCPUSeconds()
        let serverCPUStart = options.serverPid.flatMap(Self.cpuSeconds(pid:))
        let secondServerCPUStart = options.secondServerPid.flatMap(Self.cpuSeconds(pid:))
        let extraServerCPUStart = options.extraServerPid.map(Self.cpuSeconds(pid:))
        while lg_monotonic_ns() < windowEnd {
            usleep(UInt32(min(max((windowEnd - lg_monotonic_ns()) / 1000, 1000), 50_000)))
            progress.tick()
        }
        let endCounters = progress.aggregate()
        let generatorCPU = Self.ownCPUSeconds() - generatorCPUStart
        let serverCPU = serverCPUStart.flatMap { start in options.serverPid.flatMap(Self.cpuSeconds(pid:)).map { $0 - start } }
        let secondServerCPU = secondServerCPUStart.flatMap { start in
            options.secondServerPid.flatMap(Self.cpuSeconds(pid:)).map { $0 - start }
        }
        let extraServerCPU = zip(options.extraServerPid, extraServerCPUStart).map { pid, start in
            start.flatMap { start in Self.cpuSeconds(pid: pid).map { $0 - start } }
        }
        let seconds = Double(lg_monotonic_ns() - windowStart) / 1e9
        let slots = SlotWindow(epochNs: slotEpoch, startNs: realtimeStart, endNs: lg_realtime_ns())
        window.close(realtimeNs: slots.endNs)
        let drainEnd = lg_monotonic_ns() + Self.drainNs
        while lg_monotonic_ns() < drainEnd { usleep(50_000) }
        return Measured(counters: (startCounters, endCounters), generatorCPU: generatorCPU, serverCPU: serverCPU,
                        secondServerCPU: secondServerCPU, extraServerCPU: extraServerCPU, seconds: seconds, slots: slots)
    }

    /// The VP8 clip of each layer (one, or three with `--simulcast`: a quarter, half and the full size at about
    /// 10 %, 30 % and 100 % of the bitrate, lowest first), from the cache when encoded before, and the Opus clip.
    func prepareMedia() throws -> ([VideoClip], AudioClip?) {
        var layers: [VideoClip] = []
        var audioClip: AudioClip?
        let start = lg_monotonic_ns()
        var sources: [String] = []
        if !options.noVideo {
            let (width, height) = LoadgenCommand.size(options.video)!
            let frames = max(1, Int(LoadgenCommand.seconds(options.clip)! * Double(options.fps)))
            let shapes: [(Int, Int, Int)] = options.publishesSimulcast
                ? [(width / 4, height / 4, options.videoKbps / 10), (width / 2, height / 2, options.videoKbps * 3 / 10),
                   (width, height, options.videoKbps)]
                : [(width, height, options.videoKbps)]
            for (w, h, kbps) in shapes {
                let (clip, source) = try loadOrEncode(width: w & ~1, height: h & ~1, kbps: max(kbps, 30), frames: frames)
                layers.append(clip)
                sources.append(source)
            }
        }
        if !options.noAudio {
            audioClip = try AudioClip.encode(bitrate: options.audioKbps * 1000)
        }
        var text = "media in " + String(format: "%.1f s:", Double(lg_monotonic_ns() - start) / 1e9)
        for (v, source) in zip(layers, sources) {
            text += " VP8 \(v.width)x\(v.height) \(v.frames.count) frames " + String(format: "%.0f kbit/s", v.averageKbps)
                + " (keyframe \(v.keyframeBytes) bytes, \(v.packetCount) packets per clip; \(source));"
        }
        if let a = audioClip { text += " Opus " + String(format: "%.0f kbit/s", a.averageKbps) }
        log(text)
        return (layers, audioClip)
    }

    private func loadOrEncode(width: Int, height: Int, kbps: Int, frames: Int) throws -> (VideoClip, String) {
        let cacheFile = options.clipCache.isEmpty ? nil
            : (options.clipCache as NSString).appendingPathComponent("vp8-\(width)x\(height)-\(options.fps)fps-\(kbps)k-\(frames)-v\(VideoClip.formatVersion).clip")
        if let cacheFile, let cached = VideoClip.load(path: cacheFile, width: width, height: height, fps: options.fps) {
            return (cached, "cached")
        }
        let clip = try VideoClip.encode(width: width, height: height, fps: options.fps, kbps: kbps, frameCount: frames)
        if let cacheFile {
            try? FileManager.default.createDirectory(atPath: options.clipCache, withIntermediateDirectories: true)
            clip.save(path: cacheFile)
        }
        return (clip, "encoded")
    }

    private func summarise(
        publishers: [Publisher], subscribers: [Subscriber], failures: [String], videoLayers: [VideoClip], audioClip: AudioClip?,
        profiles: [SRTPProfile], signallingSeconds: Double, settleSeconds: Double, measured: Measured
    ) -> Summary {
        let (window, windowSeconds, slots) = (measured.counters, measured.seconds, measured.slots)
        let (generatorCPU, serverCPU) = (measured.generatorCPU, measured.serverCPU)
        var failures = failures
        for publisher in publishers {
            if case .failed(let reason) = publisher.transport.state { failures.append("publisher \(publisher.index): \(reason)") }
        }
        for subscriber in subscribers {
            if case .failed(let reason) = subscriber.transport.state { failures.append("subscriber \(subscriber.index): \(reason)") }
        }
        let (entries, latency, windowTotals) = subscriberEntries(
            publishers: publishers, subscribers: subscribers, accounting: WindowAccounting(slots: slots, layers: videoLayers.count))
        let expected = windowTotals.expected
        let lost = windowTotals.lost
        let (first, last) = window
        let packetsSent = publishers.reduce(UInt64(0)) { $0 + $1.stats.packetsSent }
        let received = last.packetsReceived - first.packetsReceived
        let video = videoLayers.last.map {
            Summary.VideoConfig(width: $0.width, height: $0.height, fps: $0.fps, targetKbps: options.videoKbps, clipFrames: $0.frames.count,
                                clipKbps: Summary.Distribution.round($0.averageKbps), keyframeBytes: $0.keyframeBytes,
                                pacingFactor: options.pacingFactor,
                                simulcastLayers: videoLayers.count > 1
                                    ? videoLayers.map { "\($0.width)x\($0.height) " + String(format: "%.0f kbit/s", $0.averageKbps) } : [])
        }
        let audio = audioClip.map { Summary.AudioConfig(targetKbps: options.audioKbps, clipKbps: Summary.Distribution.round($0.averageKbps)) }
        return Summary(
            config: Summary.Config(
                server: options.target == "janus" ? options.janusUrl : options.server, room: options.target == "janus" ? String(options.janusRoom) : options.room, publishers: options.publishers, subscribers: options.subscribers,
                durationSeconds: Double(durationNs) / 1e9, threads: options.threads, srtpProfiles: profiles.map(\.rawValue),
                decryptEvery: options.decryptEvery, video: video, audio: audio,
                subscriberServer: options.subscriberServer, whepQuery: options.whepQuery,
                subscriberGroups: options.subscriberGroup.isEmpty ? nil : options.subscriberGroup),
            setup: Summary.Setup(
                publishersConnected: publishers.filter { $0.transport.connectedNs != 0 }.count,
                subscribersConnected: subscribers.filter { $0.transport.connectedNs != 0 }.count,
                subscribersWithKeyframe: subscribers.filter(\.hasKeyframe).count,
                failures: Array(failures.prefix(50)),
                connectMs: Summary.Distribution(entries.compactMap(\.connectMs)),
                signallingSeconds: Summary.Distribution.round(signallingSeconds),
                settleSeconds: Summary.Distribution.round(settleSeconds)),
            totals: Summary.Totals(
                packetsSent: packetsSent,
                bytesSent: publishers.reduce(UInt64(0)) { $0 + $1.stats.bytesSent },
                packetsReceived: subscribers.reduce(UInt64(0)) { $0 + $1.stats.packets },
                bytesReceived: subscribers.reduce(UInt64(0)) { $0 + $1.stats.bytes },
                expected: expected, lost: lost,
                lossPercent: Summary.Distribution.round(expected > 0 ? 100 * Double(lost) / Double(expected) : 0),
                lossWindowSeconds: slots.countedSeconds,
                subscribersSilent: windowTotals.silent, subscribersNotSignalled: windowTotals.notSignalled,
                subscribersOnSeveralLayers: windowTotals.severalLayers,
                authenticated: subscribers.reduce(UInt64(0)) { $0 + $1.stats.authenticated },
                authFailures: subscribers.reduce(UInt64(0)) { $0 + $1.stats.authFailures },
                rtcpAuthFailures: subscribers.reduce(UInt64(0)) { $0 + $1.stats.rtcpAuthFailures }
                    + publishers.reduce(UInt64(0)) { $0 + $1.stats.rtcpAuthFailures },
                pliReceivedByPublishers: publishers.reduce(UInt64(0)) { $0 + $1.stats.pliReceived + $1.stats.firReceived },
                keyframeRequestsThrottled: publishers.reduce(UInt64(0)) { $0 + $1.stats.keyframeRequestsThrottled },
                keyframesSent: publishers.reduce(UInt64(0)) { $0 + $1.stats.keyframes },
                skippedFrames: publishers.reduce(UInt64(0)) { $0 + $1.stats.skippedFrames },
                sendErrors: last.sendErrors,
                latency: Summary.Latency(latency)),
            window: Summary.Window(
                seconds: Summary.Distribution.round(windowSeconds),
                packetsReceivedPerSecond: Summary.Distribution.round(Double(received) / windowSeconds),
                mbitReceivedPerSecond: Summary.Distribution.round(Double(last.bytesReceived - first.bytesReceived) * 8 / windowSeconds / 1e6),
                packetsSentPerSecond: Summary.Distribution.round(Double(last.packetsSent - first.packetsSent) / windowSeconds),
                generatorCPUSeconds: Summary.Distribution.round(generatorCPU),
                serverCPUSeconds: serverCPU.map(Summary.Distribution.round),
                serverPacketsPerCPUSecond: serverCPU.flatMap { $0 > 0 ? (Double(received) / $0).rounded() : nil },
                secondServerCPUSeconds: measured.secondServerCPU.map(Summary.Distribution.round),
                secondServerPacketsPerCPUSecond: measured.secondServerCPU.flatMap { $0 > 0 ? (Double(received) / $0).rounded() : nil },
                extraServerCPUSeconds: options.extraServerPid.isEmpty ? nil : measured.extraServerCPU.map { $0.map(Summary.Distribution.round) }),
            subscribers: Summary.SubscriberDistributions(
                packets: Summary.Distribution(entries.map { Double($0.packets) }),
                lossPercent: Summary.Distribution(entries.map(\.lossPercent)),
                latencyP50Ms: Summary.Distribution(entries.compactMap(\.latency.p50Ms)),
                latencyP99Ms: Summary.Distribution(entries.compactMap(\.latency.p99Ms)),
                latencyMaxMs: Summary.Distribution(entries.compactMap(\.latency.maxMs)),
                keyframeWaitMs: Summary.Distribution(entries.compactMap(\.keyframeWaitMs))),
            groups: options.subscriberGroup.isEmpty ? nil : groupSummaries(
                groups: (try? options.subscriberGroups()) ?? [], subscribers: subscribers, entries: entries, publishers: publishers,
                accounting: WindowAccounting(slots: slots, layers: videoLayers.count), failures: failures),
            perSubscriber: options.perSubscriber ? entries : nil)
    }

    /// Each subscriber's figures, the merged latency of the window, and the window's loss over all subscribers
    /// (never-signalled ones included, as 100 % loss).
    private func subscriberEntries(publishers: [Publisher], subscribers: [Subscriber], accounting: WindowAccounting)
        -> ([Summary.SubscriberEntry], LatencyHistogram, (expected: Int64, lost: Int64, silent: Int, notSignalled: Int, severalLayers: Int)) {
        var latency = LatencyHistogram()
        var entries: [Summary.SubscriberEntry] = []
        var totals = (expected: Int64(0), lost: Int64(0), silent: 0, notSignalled: 0, severalLayers: 0)
        let publisherByIndex = Dictionary(publishers.map { ($0.index, $0) }, uniquingKeysWith: { a, _ in a })
        for s in subscribers {
            latency.merge(s.latency)
            let connected = s.transport.connectedNs != 0
            var failure: String?
            if case .failed(let reason) = s.transport.state { failure = reason }
            let w = accounting.entry(for: s, publisher: publisherByIndex[s.publisherIndex])
            totals.expected += Int64(w.expected)
            totals.lost += Int64(w.lost)
            if w.received == 0 { totals.silent += 1 }
            if w.layersReceived > 1 { totals.severalLayers += 1 }
            entries.append(Summary.SubscriberEntry(
                index: s.index, publisher: s.publisherIndex, connected: connected, failure: failure,
                packets: s.stats.packets, bytes: s.stats.bytes, videoPackets: s.stats.videoPackets, audioPackets: s.stats.audioPackets,
                expected: Int64(w.expected), received: Int64(w.received), lost: Int64(w.lost),
                lossPercent: Summary.Distribution.round(w.lossPercent),
                audioExpected: Int64(w.audioExpected), audioReceived: Int64(w.audioReceived), layer: w.layer, sequenceGaps: s.lost,
                authenticated: s.stats.authenticated, authFailures: s.stats.authFailures, latency: Summary.Latency(s.latency),
                keyframeWaitMs: s.hasKeyframe ? Summary.Distribution.round(Double(s.keyframeArrivalNs - s.subscribeStartNs) / 1e6) : nil,
                connectMs: connected ? Summary.Distribution.round(Double(s.transport.connectedNs - s.transport.startedNs) / 1e6) : nil,
                plisSent: s.stats.plisSent, senderReports: s.stats.senderReports))
        }
        if let first = publishers.first, options.subscribers > subscribers.count {
            let missing = options.subscribers - subscribers.count
            let w = accounting.unsignalled(publisher: first)
            totals.expected += Int64(w.expected) * Int64(missing)
            totals.lost += Int64(w.lost) * Int64(missing)
            totals.notSignalled = missing
        }
        return (entries, latency, totals)
    }

    /// Each `--subscriber-group`'s figures over the window, as the totals are for all: its subscribers' loss
    /// (never-signalled ones as 100 %), authenticated packets per second, merged latency, keyframe wait and connect time.
    private func groupSummaries(groups: [LoadgenCommand.SubscriberGroup], subscribers: [Subscriber], entries: [Summary.SubscriberEntry],
                                publishers: [Publisher], accounting: WindowAccounting, failures: [String]) -> [Summary.Group] {
        groups.enumerated().map { g, group in
            let members = zip(subscribers, entries).filter { $0.0.group == g }
            var latency = LatencyHistogram()
            members.forEach { latency.merge($0.0.latency) }
            var (expected, lost, received) = members.reduce((Int64(0), Int64(0), Int64(0))) { ($0.0 + $1.1.expected, $0.1 + $1.1.lost, $0.2 + $1.1.received) }
            let notSignalled = group.count - members.count
            if notSignalled > 0, let first = publishers.first {
                let w = accounting.unsignalled(publisher: first)
                expected += Int64(w.expected) * Int64(notSignalled)
                lost += Int64(w.lost) * Int64(notSignalled)
            }
            let seconds = accounting.slots.countedSeconds
            return Summary.Group(
                server: group.url, whepQuery: group.query, subscribers: group.count, signalled: members.count,
                connected: members.count { $0.1.connected }, withKeyframe: members.count { $0.0.hasKeyframe },
                silent: members.count { $0.1.received == 0 }, notSignalled: notSignalled,
                expected: expected, lost: lost,
                lossPercent: Summary.Distribution.round(expected > 0 ? 100 * Double(lost) / Double(expected) : 0),
                packetsReceivedPerSecond: Summary.Distribution.round(seconds > 0 ? Double(received) / seconds : 0),
                authFailures: members.reduce(UInt64(0)) { $0 + $1.1.authFailures },
                latency: Summary.Latency(latency),
                keyframeWaitMs: Summary.Distribution(members.compactMap(\.1.keyframeWaitMs)),
                connectMs: Summary.Distribution(members.compactMap(\.1.connectMs)),
                failures: Array(failures.filter { $0.contains("(group \(g))") }.prefix(5)))
        }
    }

    /// User + system CPU seconds of this process.
    static func ownCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
            + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
    }

    /// utime + stime of another process from /proc/PID/stat.
    static func cpuSeconds(pid: Int32) -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // After the command name: state is field 3, utime 14, stime 15 (1-based) → indices 11 and 12 here.
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}

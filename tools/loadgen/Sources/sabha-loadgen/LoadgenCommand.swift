import ArgumentParser
import Foundation

/// `sabha-loadgen`: real WebRTC publishers and subscribers against a Sabha server on loopback.
@main
struct LoadgenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sabha-loadgen",
        abstract: "Real WebRTC publishers and subscribers (ICE, DTLS-SRTP, RTCP, VP8 + Opus) against Sabha over WHIP/WHEP, or Janus's videoroom, on loopback.",
        discussion: "Prints a progress line each second on standard error and a JSON summary on standard output. Always stops by itself.")

    @Option(help: "fanout: WHIP publishers and WHEP subscribers (or Janus). meeting: --participants join one room over /ws, each publishing Opus and simulcast VP8 and receiving everyone; every directed flow must arrive. churn: the same, then --cycles leave-and-rejoin cycles, every flow again, and the server back to idle.")
    var mode = "fanout"
    @Option(help: "Meeting participants (meeting and churn modes).")
    var participants = 25
    @Option(help: "Meeting mode: viewers who join the same room over /ws after the participants, with a token of role viewer; they publish nothing, offer recvonly m-lines for every track and receive all of them. Their flows, loss and latency are reported apart (meeting.viewers).")
    var viewers = 0
    @Option(help: "Leave-and-rejoin cycles in churn mode (default 1000).")
    var cycles: Int?
    @Option(help: "Participants away at once during churn.")
    var churnConcurrency = 4
    @Option(help: "Seed of the churn's choices (who leaves, how, and for how long).")
    var seed = 1
    @Option(help: "Tile size every participant reports for each video it receives (video-size), WIDTHxHEIGHT: up to 200 high gets the lowest simulcast layer, up to 400 the middle one.")
    var tile = "320x180"
    @Option(help: "Meeting modes: media time after signalling settles before a flow check starts.")
    var warmup = "2s"
    @Option(help: "Churn mode: length of the flow check after churn (the first check lasts --duration).")
    var verifyWindow = "3s"
    @Option(help: "Meeting modes: the whole run stops after this, whatever is left.")
    var timeLimit = "20m"
    @Option(help: "Which server and signalling: sabha (WHIP/WHEP) or janus (videoroom over Janus's WebSocket or HTTP API).")
    var target = "sabha"
    @Option(help: "Janus's API (with --target janus; loopback only): ws://HOST:PORT for its WebSocket API, http://HOST:PORT/janus for its HTTP API.")
    var janusUrl = "ws://127.0.0.1:8188"
    @Option(help: "The Janus videoroom to publish and watch in (with --target janus; must exist, e.g. a static room).")
    var janusRoom = 1234
    @Option(help: "Address the peers bind to and signal as their candidate (default 127.0.0.1; 127.0.0.2 with --target janus, whose libnice only gathers on a non-lo interface).")
    var localIp: String?
    @Option(help: "Sabha's HTTP address (loopback only).")
    var server = "http://127.0.0.1:8080"
    @Option(help: "Fanout: post the subscribers' WHEP requests (and end their sessions) here instead of --server, e.g. another node of a cluster (loopback only).")
    var subscriberServer: String?
    @Option(help: "Fanout: a query string added to every WHEP request, e.g. cascade=1 (a cluster node that does not hold the room then serves the viewer through a relay instead of answering 307).")
    var whepQuery: String?
    @Option(help: "PID of a second server (such as the cluster node --subscriber-server names, or the node serving a meeting's viewers' media), to report its CPU time over the measurement window beside --server-pid's.")
    var secondServerPid: Int32?
    @Option(help: "Meeting mode: the second server's HTTP address (loopback only; the node --second-server-pid names), to report its dropped packets over the measurement window beside --server's.")
    var secondServer: String?
    @Option(help: "Fanout: COUNT@URL[?QUERY], repeatable: COUNT of the subscribers post their WHEP requests (and end their sessions) at URL, with ?QUERY added when given (e.g. 100@http://127.0.0.1:8081?cascade=1), instead of --subscriber-server and --whep-query. The counts add up to --subscribers; subscribers are dealt to the groups in turn, and the summary gives each group's loss, latency and keyframe wait (groups).")
    var subscriberGroup: [String] = []
    @Option(help: "PID of a further server (repeatable), to report its CPU time over the measurement window (window.extraServerCPUSeconds, in the order given).")
    var extraServerPid: [Int32] = []
    @Option(help: "The server's data directory: tokens are signed with its token-hs256.key.")
    var dataDir: String?
    @Option(help: "The HS256 token key file (instead of --data-dir).")
    var tokenKey: String?
    @Option(help: "Room to publish and watch in.")
    var room = "loadgen"
    @Option(help: "Publishers (WHIP).")
    var publishers = 1
    @Option(help: "Subscribers (WHEP), spread round-robin over the publishers.")
    var subscribers = 10
    @Option(help: "How long media flows once everyone is signalled: 30s, 2m, 500ms.")
    var duration = "30s"
    @Option(help: "Peer threads (event loops); peers are spread over them.")
    var threads = 1
    @Option(help: "Video size, WIDTHxHEIGHT.")
    var video = "1280x720"
    @Option(help: "Video frame rate.")
    var fps = 30
    @Option(help: "VP8 target bitrate in kbit/s.")
    var videoKbps = 1500
    @Option(help: "Length of the encoded clip that is replayed (it starts with the only keyframe).")
    var clip = "5s"
    @Option(help: "Directory caching encoded clips by their parameters (empty: encode every time).")
    var clipCache = "/tmp/sabha-loadgen-cache"
    @Flag(help: "Publish video as three simulcast layers (rid q, h, f: a quarter, half and the full --video size at about 10 %, 30 % and 100 % of --video-kbps), as our meeting client does (always on in meeting modes).")
    var simulcast = false

    /// Meeting participants always publish simulcast, as the web client does.
    var publishesSimulcast: Bool { simulcast || mode != "fanout" }
    @Option(help: "Video pacing rate as a multiple of the clip's bitrate, like a browser's pacer (WebRTC uses 2.5); 0 sends each frame as one burst.")
    var pacingFactor: Double = 2.5
    @Option(help: "Opus bitrate in kbit/s.")
    var audioKbps = 48
    @Flag(help: "Publish video only.")
    var noAudio = false
    @Flag(help: "Publish audio only.")
    var noVideo = false
    @Option(help: "Meeting modes: participants decrypt and authenticate RTP packets whose sequence number is a multiple of this (1 = all). Fanout subscribers always authenticate every packet (loss is counted from authenticated packets).")
    var decryptEvery = 16
    @Option(help: "SRTP profiles the peers offer in DTLS: cm (AES_CM_128_HMAC_SHA1_80, as browsers end up with), gcm, or both.")
    var srtp = "cm"
    @Option(help: "Per-peer limit for ICE + DTLS to complete.")
    var setupTimeout = "10s"
    @Option(help: "New subscribers per second (0: as fast as signalling goes).")
    var ramp: Double = 0
    @Option(help: "Milliseconds between socket polls of a peer thread (more packets per recvmmsg; latency uses kernel receive times, so it is unaffected).")
    var pollInterval: Double = 2
    @Option(help: "Kernel socket buffer per peer, in KiB.")
    var socketBuffer = 512
    @Option(help: "PID of the server, to report its CPU time over the measurement window.")
    var serverPid: Int32?
    @Flag(help: "Include every subscriber's figures in the JSON summary.")
    var perSubscriber = false
    @Flag(help: "Only encode the clips (and fill the cache), print their figures, and exit.")
    var encodeOnly = false

    func validate() throws {
        guard publishers >= 1, publishers <= 1000 else { throw ValidationError("--publishers must be 1...1000") }
        guard subscribers >= 0, subscribers <= 10_000 else { throw ValidationError("--subscribers must be 0...10000") }
        guard threads >= 1, threads <= 64 else { throw ValidationError("--threads must be 1...64") }
        guard pollInterval >= 0, pollInterval <= 20 else { throw ValidationError("--poll-interval must be 0...20 ms") }
        guard pacingFactor == 0 || (pacingFactor >= 1 && pacingFactor <= 100) else { throw ValidationError("--pacing-factor must be 0 or 1...100") }
        guard fps >= 1, fps <= 120 else { throw ValidationError("--fps must be 1...120") }
        guard decryptEvery >= 1, decryptEvery <= 1000 else { throw ValidationError("--decrypt-every must be 1...1000") }
        guard !(noAudio && noVideo) else { throw ValidationError("--no-audio and --no-video leave nothing to send") }
        guard ["sabha", "janus"].contains(target) else { throw ValidationError("--target is sabha or janus") }
        guard ["fanout", "meeting", "churn"].contains(mode) else { throw ValidationError("--mode is fanout, meeting or churn") }
        if mode != "fanout" {
            guard target == "sabha" else { throw ValidationError("meeting modes need --target sabha") }
            guard participants >= 2, participants <= 100 else { throw ValidationError("--participants must be 2...100") }
            guard (cycles ?? 0) >= 0, (cycles ?? 0) <= 100_000 else { throw ValidationError("--cycles must be 0...100000") }
            guard mode == "meeting" || (churnConcurrency >= 1 && churnConcurrency < participants) else {
                throw ValidationError("--churn-concurrency must be 1...participants-1")
            }
            guard viewers >= 0, viewers <= 500, viewers == 0 || mode == "meeting" else { throw ValidationError("--viewers must be 0...500, in meeting mode") }
            guard !noAudio, !noVideo else { throw ValidationError("meeting participants publish audio and video") }
            guard Self.size(tile) != nil || tile == "0x0" else { throw ValidationError("--tile is WIDTHxHEIGHT, such as 320x180") }
            for (name, value, max) in [("--warmup", warmup, 60.0), ("--verify-window", verifyWindow, 600), ("--time-limit", timeLimit, 7200)] {
                guard Self.seconds(value).map({ $0 >= 0 && $0 <= max }) == true else { throw ValidationError("\(name) must be a time up to \(Int(max)) s") }
            }
        }
        guard (localIp ?? "127.0.0.1").hasPrefix("127.") || localIp == "::1" else { throw ValidationError("--local-ip must be loopback") }
        guard encodeOnly || target == "janus" || dataDir != nil || tokenKey != nil else { throw ValidationError("give --data-dir or --token-key to sign tokens") }
        if subscriberServer != nil || whepQuery != nil {
            guard mode == "fanout", target == "sabha" else { throw ValidationError("--subscriber-server and --whep-query are for --mode fanout against sabha") }
        }
        guard secondServerPid == nil || mode != "churn" && target == "sabha" else {
            throw ValidationError("--second-server-pid is for --mode fanout or meeting against sabha")
        }
        guard secondServer == nil || mode == "meeting" else { throw ValidationError("--second-server is for --mode meeting") }
        if !subscriberGroup.isEmpty {
            guard subscriberServer == nil, whepQuery == nil else { throw ValidationError("--subscriber-group replaces --subscriber-server and --whep-query") }
            let groups = try subscriberGroups()
            guard groups.reduce(0, { $0 + $1.count }) == subscribers else {
                throw ValidationError("the --subscriber-group counts add up to \(groups.reduce(0, { $0 + $1.count })), not --subscribers \(subscribers)")
            }
        }
        if !extraServerPid.isEmpty || !subscriberGroup.isEmpty {
            guard mode == "fanout", target == "sabha" else { throw ValidationError("--subscriber-group and --extra-server-pid are for --mode fanout against sabha") }
            guard extraServerPid.count <= 8 else { throw ValidationError("at most 8 --extra-server-pid") }
        }
        if let whepQuery {
            guard !whepQuery.isEmpty, !whepQuery.hasPrefix("?"), whepQuery.allSatisfy({ $0.isASCII && !$0.isWhitespace && $0 != "#" }) else {
                throw ValidationError("--whep-query is a query string without the '?', such as cascade=1")
            }
        }
        guard ["cm", "gcm", "both"].contains(srtp) else { throw ValidationError("--srtp is cm, gcm or both") }
        guard let seconds = Self.seconds(duration), seconds > 0, seconds <= 3600 else {
            throw ValidationError("--duration must be a time between 0 and 1h, such as 30s")
        }
        _ = seconds
        guard Self.seconds(clip).map({ $0 > 0 && $0 <= 60 }) == true else { throw ValidationError("--clip must be a time up to 60s") }
        guard Self.seconds(setupTimeout).map({ $0 > 0 && $0 <= 120 }) == true else { throw ValidationError("--setup-timeout must be up to 120s") }
        guard Self.size(video) != nil else { throw ValidationError("--video is WIDTHxHEIGHT, such as 1280x720") }
    }

    func run() throws {
        if mode != "fanout" {
            let summary: MeetingSummary
            do {
                summary = try MeetingRun(options: self).run()
            } catch LoadgenError.encodeOnly {
                return
            } catch {
                FileHandle.standardError.write(Data("sabha-loadgen: \(error)\n".utf8))
                throw ExitCode(1)
            }
            print(summary.json())
            if !summary.passed {
                let missing = "\(summary.meeting.flowsMissing)/\(summary.afterChurn?.flowsMissing ?? 0), viewers' \(summary.meeting.viewers?.flowsMissing ?? 0)"
                FileHandle.standardError.write(Data("sabha-loadgen: FAILED: \(summary.problems.prefix(3)) flows missing \(missing)\n".utf8))
                throw ExitCode(2)
            }
            return
        }
        let runner = try LoadRun(options: self)
        do {
            let summary = try runner.run()
            print(summary.json())
        } catch LoadgenError.encodeOnly {
            return
        } catch {
            FileHandle.standardError.write(Data("sabha-loadgen: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }

    /// Where a share of the subscribers sends its WHEP requests (`--subscriber-group COUNT@URL[?QUERY]`).
    struct SubscriberGroup {
        var count: Int
        var url: String
        var query: String?
    }

    /// The `--subscriber-group`s, or one group of every subscriber at `--subscriber-server` (or `--server`) with `--whep-query`.
    func subscriberGroups() throws(ValidationError) -> [SubscriberGroup] {
        guard !subscriberGroup.isEmpty else { return [SubscriberGroup(count: subscribers, url: subscriberServer ?? server, query: whepQuery)] }
        guard subscriberGroup.count <= 16 else { throw ValidationError("at most 16 --subscriber-group") }
        return try subscriberGroup.map { (text: String) throws(ValidationError) -> SubscriberGroup in
            let parts = text.split(separator: "@", maxSplits: 1)
            guard parts.count == 2, let count = Int(parts[0]), count >= 0, count <= 10_000, parts[1].hasPrefix("http://") else {
                throw ValidationError("--subscriber-group is COUNT@URL[?QUERY], such as 100@http://127.0.0.1:8081?cascade=1 (got \(text))")
            }
            let urlAndQuery = parts[1].split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
            let query = urlAndQuery.count == 2 ? String(urlAndQuery[1]) : nil
            if let query {
                guard !query.isEmpty, query.allSatisfy({ $0.isASCII && !$0.isWhitespace && $0 != "#" }) else {
                    throw ValidationError("--subscriber-group \(text): the query is a query string such as cascade=1")
                }
            }
            return SubscriberGroup(count: count, url: String(urlAndQuery[0]), query: query)
        }
    }

    /// The group of each subscriber: dealt in turn, weighted by the counts (equal counts: 0, 1, 2, 0, 1, 2, ...).
    static func deal(_ groups: [SubscriberGroup]) -> [Int] {
        var dealt = [Int](repeating: 0, count: groups.count)
        var order: [Int] = []
        for _ in 0..<groups.reduce(0, { $0 + $1.count }) {
            // The group furthest behind its share: least (dealt + 1) / count, the first on a tie.
            var best = -1
            for g in groups.indices where dealt[g] < groups[g].count {
                if best < 0 || (dealt[g] + 1) * groups[best].count < (dealt[best] + 1) * groups[g].count { best = g }
            }
            dealt[best] += 1
            order.append(best)
        }
        return order
    }

    /// "30s", "2m", "500ms", "1h", or plain seconds.
    static func seconds(_ text: String) -> Double? {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        for (suffix, factor) in units where text.hasSuffix(suffix) {
            let number = text.dropLast(suffix.count)
            if suffix == "s" && number.hasSuffix("m") { continue }
            return Double(number).map { $0 * factor }
        }
        return Double(text)
    }

    static func size(_ text: String) -> (Int, Int)? {
        let parts = text.lowercased().split(separator: "x")
        guard parts.count == 2, let w = Int(parts[0]), let h = Int(parts[1]), w >= 16, h >= 16, w <= 3840, h <= 2160 else { return nil }
        return (w, h)
    }
}

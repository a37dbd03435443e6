import CLoadgenNet
import Foundation
import MediaCore
import Synchronization

/// What every participant of a meeting run shares: where the server is, how to sign tokens, the media, the
/// peer threads.
struct MeetingEnvironment {
    let http: HTTPClient
    let room: String
    let signer: TokenSigner
    let videoLayers: [VideoClip]
    let audio: AudioClip
    let context: DTLSContext
    let threads: [PeerThread]
    /// Participants who publish: run indices 0..<participants. Viewers (`--viewers`) come after them.
    let participants: Int
    let setupTimeoutNs: Int64
    let socketBufferBytes: Int32
    let localIP: String
    let pacingFactor: Double
    let decryptEvery: Int
    /// The tile size each participant reports for every video it receives (`video-size`), as the web client's
    /// grid does; it decides the simulcast layer the server forwards.
    let tile: (width: Int, height: Int)

    var webSocketURL: String { "ws://\(http.host.contains(":") ? "[\(http.host)]" : http.host):\(http.port)/ws" }

    static func identity(_ index: Int) -> String { "loadgen-m-\(index)" }

    /// A viewer's identity (`viewer` counts the viewers from 0), which no flow is attributed to.
    static func viewerIdentity(_ viewer: Int) -> String { "loadgen-v-\(viewer)" }

    /// The run's participant index of an identity this run gave out, else nil.
    static func index(ofIdentity identity: String) -> Int? {
        guard identity.hasPrefix("loadgen-m-") else { return nil }
        return Int(identity.dropFirst("loadgen-m-".count))
    }
}

/// How a participant leaves during churn.
enum LeaveKind: String, CaseIterable, Sendable {
    /// Sends `leave` and closes its peer connection (the Leave button).
    case leave
    /// Socket and media stop together (tab closed, laptop lid); it rejoins afresh, so the server replaces the
    /// participant it still holds for the resume grace period.
    case drop
    /// Only the WebSocket drops (network change); media goes on and the participant resumes with its secret.
    case blip
}

/// One participant's signalling over `/ws`, as `meeting.js` does it: join, offer its microphone and simulcast
/// camera plus enough `recvonly` m-lines for what `renegotiate` lists (never removing any), one offer in flight
/// at a time (a `renegotiate` meanwhile makes another offer once the answer is in), a `video-size` for every
/// video it receives, and `leave`. Each answer's `a=msid`/`a=ssrc` lines tell its `MeetingPeer` which SSRC is
/// whose audio or video. Driven by the main thread (`pump`); the WebSocket's reader thread only queues messages.
/// A viewer (an index from `environment.participants` on) joins with role `viewer` and offers only the `recvonly`
/// m-lines (none while there is nothing to receive: it offers when `renegotiate` brings tracks); its media may come
/// from another node of a cluster (the answer names it). A `redirect` fails the participant: the run sends every
/// `/ws` to `--server`, which must hold the room.
final class MeetingParticipant {
    enum Phase: Equatable {
        case idle
        case joining
        case joined
        case left
        case failed(String)
    }

    /// Messages from the reader thread.
    final class Inbox: Sendable {
        let messages = Mutex<[String]>([])
    }

    let index: Int
    let identity: String
    let environment: MeetingEnvironment
    /// Joins as a viewer: publishes nothing.
    let isViewer: Bool
    private(set) var phase = Phase.idle
    /// The `url` of a `redirect` the server sent (this node does not hold the room).
    private(set) var redirect: String?
    private(set) var peer: MeetingPeer?
    private(set) var participantID: String?
    private(set) var generation = 0
    private(set) var offerInFlight = false
    private var reofferWanted = false
    private var socket: WebSocketClient?
    private let inbox = Inbox()
    private var resumeSecret: String?
    private var adopted = false
    /// Participant id → run index, from `joined` and `participant-joined`.
    private var indexOfParticipant: [String: Int] = [:]
    private var audioWanted = 0
    private var videoWanted = 0
    /// Our receiving m-lines, in offer order (never removed, as in the browser).
    private var receivingMids: [(mid: String, video: Bool)] = []
    /// The streams the latest answer gave us (SSRC → whose audio/video).
    private(set) var streams: [UInt32: FlowSource] = [:]
    private var sizedTracks: Set<String> = []
    private(set) var answers = 0
    /// The server's media port (its candidate in the answers).
    private(set) var serverPort: UInt16 = 0
    private(set) var offers = 0
    private(set) var errors: [String] = []
    private(set) var joinStartNs: Int64 = 0
    private(set) var joinedNs: Int64 = 0

    init(index: Int, environment: MeetingEnvironment) {
        self.index = index
        self.environment = environment
        isViewer = index >= environment.participants
        identity = isViewer ? MeetingEnvironment.viewerIdentity(index - environment.participants) : MeetingEnvironment.identity(index)
    }

    var isJoined: Bool { phase == .joined }
    /// Has had an answer, or is a viewer joined with nothing to receive yet (which does not offer).
    var isAnsweredOrIdle: Bool { answers > 0 || (isViewer && phase == .joined && !offerInFlight && audioWanted + videoWanted == 0) }
    var thread: PeerThread { environment.threads[index % environment.threads.count] }

    /// Opens the socket and sends `join` (with the resume secret when `resume`). A fresh join starts new media.
    func join(resume: Bool = false) {
        joinStartNs = lg_monotonic_ns()
        joinedNs = 0
        offerInFlight = false
        reofferWanted = false
        let inbox = inbox
        inbox.messages.withLock { $0.removeAll() }
        do {
            socket = try WebSocketClient(url: environment.webSocketURL, subprotocol: nil) { text in
                inbox.messages.withLock { $0.append(text) }
            }
        } catch {
            phase = .failed("WebSocket: \(error)")
            return
        }
        var message: [String: Any] = [
            "type": "join", "version": 1, "name": "Load \(index)",
            "token": environment.signer.sign(identity: identity, room: environment.room, role: isViewer ? "viewer" : "participant"),
        ]
        if resume, let resumeSecret { message["resume"] = resumeSecret }
        phase = .joining
        send(message)
    }

    /// Leaves as `kind` says. A `blip` keeps the media running (and `join(resume: true)` comes back).
    func leave(_ kind: LeaveKind) {
        switch kind {
        case .leave:
            send(["type": "leave"])
            socket?.close()
            retireMedia()
        case .drop:
            socket?.abort()
            retireMedia()
        case .blip:
            socket?.abort()
        }
        socket = nil
        offerInFlight = false
        reofferWanted = false
        phase = .left
    }

    private func retireMedia() {
        if let peer, adopted { thread.retire(peer) }
        peer = nil
        adopted = false
        streams = [:]
    }

    /// Handles what arrived; returns true when anything did.
    @discardableResult
    func pump() -> Bool {
        let messages = inbox.messages.withLock { pending -> [String] in
            let taken = pending
            pending.removeAll()
            return taken
        }
        for text in messages { handle(text) }
        if case .joined = phase, let socket, !socket.isOpen {
            phase = .failed("the server closed the WebSocket")
        }
        return !messages.isEmpty
    }

    private func handle(_ text: String) {
        guard let data = text.data(using: .utf8),
              let message = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
              let type = message["type"] as? String else {
            note("unreadable message: \(text.prefix(120))")
            return
        }
        switch type {
        case "joined": joined(message)
        case "participant-joined":
            if let info = message["participant"] as? [String: Any] { learn(info) }
        case "renegotiate":
            let receive = message["receive"] as? [[String: Any]] ?? []
            audioWanted = receive.count { $0["kind"] as? String == "audio" }
            videoWanted = receive.count { $0["kind"] as? String == "video" }
            if offerInFlight { reofferWanted = true } else { offer() }
        case "answer":
            answered(message["sdp"] as? String ?? "")
        case "redirect":
            redirect = message["url"] as? String ?? "?"
            phase = .failed("redirected to \(redirect ?? "?"): --server does not hold the room")
        case "error":
            let code = message["code"] as? String ?? "?"
            note("error \(code): \(message["message"] as? String ?? "")")
            if offerInFlight && ["sdp-invalid", "media-error", "ice-restart-not-supported"].contains(code) {
                offerInFlight = false
                if reofferWanted { offer() }
            }
            if message["fatal"] as? Bool == true { phase = .failed("fatal error \(code)") }
        default:
            break  // participant-left, track-*, layers, active-speaker, muted, pong: nothing to do
        }
    }

    private func learn(_ info: [String: Any]) {
        if let id = info["id"] as? String, let identity = info["identity"] as? String,
           let index = MeetingEnvironment.index(ofIdentity: identity) {
            indexOfParticipant[id] = index
        }
    }

    private func joined(_ message: [String: Any]) {
        participantID = (message["you"] as? [String: Any])?["id"] as? String
        resumeSecret = message["resume"] as? String
        for info in message["participants"] as? [[String: Any]] ?? [] { learn(info) }
        let tracks = message["tracks"] as? [[String: Any]] ?? []
        joinedNs = lg_monotonic_ns()
        phase = .joined
        if message["resumed"] as? Bool == true, peer != nil {
            return  // media never stopped; a renegotiate follows when there is anything to receive
        }
        audioWanted = tracks.count { $0["kind"] as? String == "audio" }
        videoWanted = tracks.count { $0["kind"] as? String == "video" }
        retireMedia()  // a resume the server refused (grace over): start afresh
        do {
            // A viewer's Publisher has no clips: it runs the transport (ICE, DTLS, consent) and sends no media.
            let publisher = try Publisher(
                index: index, identity: identity, videoLayers: isViewer ? [] : environment.videoLayers, audio: isViewer ? nil : environment.audio,
                context: environment.context, setupTimeoutNs: environment.setupTimeoutNs,
                socketBufferBytes: environment.socketBufferBytes, localIP: environment.localIP, pacingFactor: environment.pacingFactor)
            peer = MeetingPeer(index: index, publisher: publisher, participants: environment.participants, decryptEvery: environment.decryptEvery)
        } catch {
            phase = .failed("media: \(error)")
            return
        }
        generation += 1
        adopted = false
        receivingMids = []
        streams = [:]
        sizedTracks = []
        offer()
    }

    /// Offers our sending m-lines (two, none for a viewer) and at least as many receiving ones of each kind as
    /// `renegotiate` asked for. A viewer with nothing to receive does not offer.
    private func offer() {
        guard let peer, phase == .joined, !isViewer || audioWanted + videoWanted > 0 || !receivingMids.isEmpty else { return }
        var local = peer.publisher.localDescription(rtxPayloadType: Self.rtxPayloadType)
        let sending = local.media.count
        while receivingMids.count(where: { !$0.video }) < audioWanted { receivingMids.append(("\(sending + receivingMids.count)", false)) }
        while receivingMids.count(where: { $0.video }) < videoWanted { receivingMids.append(("\(sending + receivingMids.count)", true)) }
        for (mid, video) in receivingMids {
            local.media.append(.init(kind: video ? .video : .audio, mid: mid, payloadType: video ? 96 : 111, ssrc: nil,
                                     rtxPayloadType: video ? Self.rtxPayloadType : 0))
        }
        offerInFlight = true
        reofferWanted = false
        offers += 1
        send(["type": "offer", "sdp": SDP.offer(local, sessionID: UInt64(index) + 1)])
    }

    /// RTX payload type offered with every video m-line, as browsers do.
    static let rtxPayloadType: UInt8 = 97

    private func answered(_ sdp: String) {
        guard offerInFlight, let peer else { return }
        offerInFlight = false
        answers += 1
        do {
            let remote = try SDP.read(sdp)
            serverPort = remote.port
            if !adopted {
                try peer.publisher.accept(SignalledSession(remote: remote, resource: ""))
                thread.adopt(peer)
                adopted = true
            }
            var map: [UInt32: FlowSource] = [:]
            var newTracks: [String] = []
            let receiving = Set(receivingMids.map(\.mid))
            for media in remote.media where media.accepted && receiving.contains(media.mid) {
                guard let ssrc = media.ssrc, let owner = media.streamID, let publisher = indexOfParticipant[owner],
                      publisher < environment.participants, let kind = media.kind else { continue }
                let video = kind == .video
                map[ssrc] = FlowSource(publisher: publisher, video: video, rtx: false)
                if let rtx = media.rtxSSRC { map[rtx] = FlowSource(publisher: publisher, video: video, rtx: true) }
                if video, let track = media.trackID, !sizedTracks.contains(track) { newTracks.append(track) }
            }
            streams = map
            peer.setStreams(map)
            for track in newTracks {
                sizedTracks.insert(track)
                send(["type": "video-size", "track": track, "width": environment.tile.width, "height": environment.tile.height])
            }
        } catch {
            note("answer: \(error)")
        }
        if reofferWanted { offer() }
    }

    /// True when settled: joined, media connected, no offer pending, and a stream announced from each of
    /// `others` for audio and for video.
    func isSettled(with others: [Int]) -> Bool {
        guard phase == .joined, !offerInFlight, !reofferWanted, let peer, peer.report.withLock({ $0.connected }) else { return false }
        let flows = Set(streams.values.lazy.filter { !$0.rtx }.map(\.flow))
        return others.allSatisfy { flows.contains($0 * 2) && flows.contains($0 * 2 + 1) }
    }

    private func send(_ message: [String: Any]) {
        guard let socket, let data = try? JSONSerialization.data(withJSONObject: message) else { return }
        do {
            try socket.send(String(decoding: data, as: UTF8.self))
        } catch {
            note("send: \(error)")
        }
    }

    private func note(_ text: String) {
        if errors.count < 20 { errors.append(text) }
    }
}

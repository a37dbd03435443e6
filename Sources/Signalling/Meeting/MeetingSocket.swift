import GroupwareBridge
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOWebSocket

/// `GET /ws`: one meeting participant's WebSocket. Reads protocol messages one at a time (so a participant's
/// offers never overlap) and writes what the hub sends through an ordered outbox.
struct MeetingSocket: Sendable {
    let hub: MeetingHub
    let tokens: TokenAuthority
    /// Scheduled meetings' windows and roles, closed rooms, removed people, withdrawn links.
    let access: RoomAccess
    let limits: SignallingLimits
    let connections: WebSocketConnections
    let counters: LimitCounters
    /// Joins are refused (with when to come back) once the server drains.
    let drain: ServerDrain
    /// Behind a trusted reverse proxy, the client's address comes from its header.
    let proxies: TrustedProxies
    let logger: Logger

    /// How long a close handshake may take before the connection is dropped: a peer that never answers (or never
    /// reads) must not keep its socket, and its place in the per-address count, for ever.
    static let closeGrace: Duration = .seconds(2)

    func register(on router: Router<SabhaRequestContext>) {
        router.ws("/ws") { inbound, outbound, context in
            let address = proxies.clientAddress(peer: context.requestContext.remoteAddress?.ipAddress, headers: context.request.headers)
            await run(inbound: inbound, outbound: outbound, address: address, channel: context.requestContext.channel)
        }
    }

    private enum Finished { case reader, writer }

    func run(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, address: String?, channel: (any Channel)?) async {
        let closer = SocketCloser(outbound: outbound, channel: channel, grace: Self.closeGrace)
        let client = address ?? "unknown"
        guard connections.open(client) else {
            counters.count(.webSocketsPerAddress)
            logger.notice("WebSocket refused: too many from one address", metadata: ["address": "\(client)", "limit": "\(limits.webSocketsPerAddress)"])
            try? await outbound.writeTextMessage(MeetingWire.error(
                "too-many-connections",
                "Too many meeting connections from your network address (\(limits.webSocketsPerAddress)). Close other Sabha tabs, or ask the administrator to raise --max-websockets-per-address.",
                fatal: true))
            closer.close(code: MeetingWire.CloseCode.tooManyConnections, reason: "too-many-connections")
            await closer.finished()
            return
        }
        defer { connections.close(client) }
        let outbox = SocketOutbox(limit: limits.webSocketOutboxBytes) { [counters, logger, limits] in
            counters.count(.webSocketOutbox)
            logger.notice("WebSocket reader too slow; disconnecting", metadata: ["address": "\(client)", "limit": "\(limits.webSocketOutboxBytes)"])
            closer.close(code: MeetingWire.CloseCode.slowReader, reason: "slow-reader")
        }
        let timeout = limits.joinTimeout
        let timer = Task { [counters, logger] in
            try? await Task.sleep(for: timeout)
            guard !Task.isCancelled else { return }
            let message = MeetingWire.error("join-timeout", "No join within \(timeout); this connection is closed.", fatal: true)
            if outbox.endForJoinTimeout(message) {
                counters.count(.joinTimeout)
                logger.info("WebSocket closed: no join in time", metadata: ["address": "\(client)"])
            }
        }
        defer { timer.cancel() }
        await withTaskGroup(of: Finished.self) { group in
            group.addTask {
                for await text in outbox.stream {
                    outbox.taken(text)
                    guard outbox.ending != .overflow else { break }
                    do { try await outbound.writeTextMessage(text) } catch { break }
                }
                return .writer
            }
            group.addTask {
                await read(inbound, outbox, address: address)
                outbox.finish()
                return .reader
            }
            if await group.next() == .writer {
                // The hub ended this participant (replaced, meeting ended, media closed), or a limit did: close our
                // side; the reader ends with the close handshake, or when the connection is dropped after the grace.
                switch outbox.ending {
                case .joinTimeout: closer.close(code: MeetingWire.CloseCode.joinTimeout, reason: "join-timeout")
                case .overflow: break  // closing already
                case nil: closer.close(code: .normalClosure, reason: nil)
                }
            }
            _ = await group.next()  // the reader, or the writer draining (a fatal error message goes out before the close)
        }
        await closer.finished()
    }

    private func read(_ inbound: WebSocketInboundStream, _ outbox: SocketOutbox, address: String?) async {
        var participant: String?
        var epoch = 0
        defer {
            if let participant { Task { [epoch] in await hub.disconnected(participant, epoch: epoch) } }
        }
        do {
            for try await message in inbound.messages(maxSize: MeetingWire.maximumMessageSize) {
                guard case .text(let text) = message else {
                    outbox.send(MeetingWire.error("bad-json", "binary messages are not part of the protocol; send JSON text", fatal: false))
                    continue
                }
                let decoded: MeetingWire.Inbound
                do {
                    decoded = try MeetingWire.Inbound.decode(text)
                } catch {
                    switch error {
                    case .badJSON(let why): outbox.send(MeetingWire.error("bad-json", why, fatal: false))
                    case .unknownType(let type): outbox.send(MeetingWire.error("unknown-type", "unknown message type \"\(type.prefix(40))\"", fatal: false))
                    }
                    continue
                }
                switch decoded {
                case .ping(let id):
                    outbox.send(MeetingWire.encode("pong", id.map { ["id": $0] } ?? [:]))
                case .join(let version, let token, let name, let resume, let room):
                    guard participant == nil else {
                        outbox.send(MeetingWire.error("already-joined", "this connection has already joined", fatal: false))
                        continue
                    }
                    // A refused join is fatal: its error is sent, and the connection ends.
                    guard let joined = await join(version: version, token: token, name: name, resume: resume, room: room,
                                                  outbox: outbox, address: address) else { return }
                    (participant, epoch) = joined
                case .leave:
                    if let id = participant { await hub.leave(id, reason: .left) }
                    participant = nil
                    return
                default:
                    guard let id = participant else { outbox.send(notJoined); continue }
                    await handle(decoded, from: id, outbox: outbox)
                }
            }
        } catch {
            // Oversized message or a protocol violation: the library closes the socket; say why if we still can.
            outbox.send(MeetingWire.error("too-large", "message rejected: \(error)", fatal: true))
            logger.info("meeting socket closed on error", metadata: ["participant": "\(participant ?? "-")", "error": "\(error)"])
        }
    }

    /// A message of a joined participant (or one waiting in the lobby: the hub refuses what it may not do yet).
    private func handle(_ message: MeetingWire.Inbound, from id: String, outbox: SocketOutbox) async {
        switch message {
        case .offer(let sdp, let sources):
            for reply in await hub.offer(from: id, sdp: sdp, sources: sources) { outbox.send(reply) }
        case .mute(let kind, let muted):
            await hub.mute(id, kind: kind, muted: muted)
        case .endMeeting:
            do { try await hub.endMeeting(by: id) } catch { outbox.send(hostError(error)) }
        case .remove(let target):
            do { try await hub.remove(target, by: id) } catch { outbox.send(hostError(error)) }
        case .readmit(let identity):
            do { try await hub.readmit(identity, by: id) } catch { outbox.send(hostError(error)) }
        case .muteParticipant(let target, let kind):
            do { try await hub.muteParticipant(target, kind: kind, by: id) } catch { outbox.send(hostError(error)) }
        case .videoSize(let track, let width, let height):
            if let error = await hub.videoSize(id, track: track, width: width, height: height) { outbox.send(error) }
        case .receiveVideo(let mode):
            guard let mode = MeetingHub.VideoReceiveMode(rawValue: mode) else {
                outbox.send(MeetingWire.error("bad-video-mode", "\"mode\" must be \"auto\", \"low\" or \"off\"", fatal: false))
                return
            }
            await hub.receiveVideo(id, mode: mode)
        case .admit(let target):
            do { try await hub.admit(target, by: id) } catch { outbox.send(hostError(error)) }
        case .deny(let target):
            do { try await hub.deny(target, by: id) } catch { outbox.send(hostError(error)) }
        case .lock(let locked):
            do { try await hub.lock(locked, by: id) } catch { outbox.send(hostError(error)) }
        case .allowScreenShare(let allowed):
            do { try await hub.allowScreenShare(allowed, by: id) } catch { outbox.send(hostError(error)) }
        case .muteAll:
            do { try await hub.muteAll(by: id) } catch { outbox.send(hostError(error)) }
        case .makeHost(let target):
            do { try await hub.makeHost(target, by: id) } catch { outbox.send(hostError(error)) }
        case .raiseHand:
            if let error = await hub.raiseHand(id) { outbox.send(error) }
        case .lowerHand(let target):
            do {
                if let error = try await hub.lowerHand(target, by: id) { outbox.send(error) }
            } catch { outbox.send(hostError(error)) }
        case .chat(let text):
            if let error = await hub.chat(id, text: text) { outbox.send(error) }
        case .record(let active):
            if let error = await hub.record(by: id, active: active) { outbox.send(error) }
        case .join, .ping, .leave:
            break  // read(_:_:address:) answers these itself
        }
    }

    /// Admits a `join` and adds the participant to its meeting; nil (with the refusal sent) when refused.
    private func join(version: Int, token: String, name: String?, resume: String?, room: String?, outbox: SocketOutbox,
                      address: String?) async -> (id: String, epoch: Int)? {
        guard version == MeetingWire.version else {
            outbox.send(MeetingWire.error("unsupported-version", "protocol version \(version) is not supported; this server speaks \(MeetingWire.version)", fatal: true))
            return nil
        }
        outbox.markJoined()  // a join arrived in time; whether it is admitted is decided below
        if let retryAfter = drain.retryAfter {
            // Not an error: the page keeps trying until the server is back (a resume, too, since this process ends).
            outbox.send(MeetingWire.serverShutdown(retryAfter: retryAfter))
            logger.info("meeting join refused: draining", metadata: ["address": "\(address ?? "unknown")"])
            return nil
        }
        let claims: AccessToken
        do {
            claims = try await tokens.verify(token: token)
        } catch {
            logger.info("meeting join refused", metadata: ["reason": "\(error.problem.code)"])
            outbox.send(MeetingWire.error(error.problem.code, error.problem.detail, fatal: true))
            return nil
        }
        if let room, room != claims.room {
            let problem = TokenRejection.wrongRoom(tokenRoom: claims.room, requested: room).problem
            outbox.send(MeetingWire.error(problem.code, problem.detail, fatal: true))
            return nil
        }
        do {
            let admitted = try access.admit(claims)
            if case .elsewhere(let node) = try access.place(admitted) {
                // Not an error: the page connects to the node holding the meeting and sends the same join there.
                logger.info("meeting join sent to the node holding the room", metadata: ["room": "\(claims.room)", "node": "\(node)"])
                outbox.send(MeetingWire.redirect(RoomPlacement.webSocketURL(node)))
                return nil
            }
            return try await hub.join(token: admitted, name: name, resume: resume, address: address, outbox: outbox)
        } catch {
            logger.info("meeting join refused", metadata: ["room": "\(claims.room)", "reason": "\(error.code)"])
            outbox.send(MeetingWire.error(error.code, error.detail, fatal: true))
            return nil
        }
    }

    private func hostError(_ error: MeetingHub.HostActionError) -> String {
        switch error {
        case .notHost: return MeetingWire.error("not-host", "only a host may do that", fatal: false)
        case .unknownParticipant: return MeetingWire.error("unknown-participant", "no such participant in this meeting", fatal: false)
        case .notRemoved: return MeetingWire.error("unknown-participant", "nobody with that identity is removed from this meeting", fatal: false)
        case .notAllowedForViewer: return MeetingWire.error("viewer-cannot-host", "a viewer cannot be made a host; they joined with a viewer link", fatal: false)
        }
    }

    private var notJoined: String {
        MeetingWire.error("not-joined", "send {\"type\":\"join\",\"version\":1,\"token\":...} first", fatal: false)
    }
}

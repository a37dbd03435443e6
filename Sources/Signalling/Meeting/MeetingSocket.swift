import GroupwareBridge
import Hummingbird
import HummingbirdWebSocket
import Logging

/// `GET /ws`: one meeting participant's WebSocket. Reads protocol messages one at a time (so a participant's
/// offers never overlap) and writes what the hub sends through an ordered outbox.
struct MeetingSocket: Sendable {
    let hub: MeetingHub
    let tokens: TokenAuthority
    /// Scheduled meetings' windows and roles, closed rooms, removed people, withdrawn links.
    let access: RoomAccess
    let logger: Logger

    func register(on router: Router<SabhaRequestContext>) {
        router.ws("/ws") { inbound, outbound, context in
            await run(inbound: inbound, outbound: outbound, address: context.requestContext.remoteAddress?.ipAddress)
        }
    }

    private enum Finished { case reader, writer }

    func run(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, address: String?) async {
        let (outbox, continuation) = AsyncStream.makeStream(of: String.self)
        let first = await withTaskGroup(of: Finished.self) { group -> Finished in
            group.addTask {
                for await text in outbox {
                    do { try await outbound.writeTextMessage(text) } catch { break }
                }
                return .writer
            }
            group.addTask {
                await read(inbound, continuation, address: address)
                continuation.finish()
                return .reader
            }
            let first = await group.next() ?? .reader
            if first == .reader {
                _ = await group.next()  // let the writer drain (a fatal error message goes out before the close)
            } else {
                group.cancelAll()
            }
            return first
        }
        if first == .writer {
            // The hub ended this participant (replaced, meeting ended, media closed): close our side.
            try? await outbound.close(.normalClosure, reason: nil)
        }
    }

    private func read(_ inbound: WebSocketInboundStream, _ outbox: AsyncStream<String>.Continuation, address: String?) async {
        var participant: String?
        var epoch = 0
        defer {
            if let participant { Task { [epoch] in await hub.disconnected(participant, epoch: epoch) } }
        }
        do {
            for try await message in inbound.messages(maxSize: MeetingWire.maximumMessageSize) {
                guard case .text(let text) = message else {
                    outbox.yield(MeetingWire.error("bad-json", "binary messages are not part of the protocol; send JSON text", fatal: false))
                    continue
                }
                let decoded: MeetingWire.Inbound
                do {
                    decoded = try MeetingWire.Inbound.decode(text)
                } catch {
                    switch error {
                    case .badJSON(let why): outbox.yield(MeetingWire.error("bad-json", why, fatal: false))
                    case .unknownType(let type): outbox.yield(MeetingWire.error("unknown-type", "unknown message type \"\(type.prefix(40))\"", fatal: false))
                    }
                    continue
                }
                switch decoded {
                case .ping(let id):
                    outbox.yield(MeetingWire.encode("pong", id.map { ["id": $0] } ?? [:]))
                case .join(let version, let token, let name, let resume, let room):
                    guard participant == nil else {
                        outbox.yield(MeetingWire.error("already-joined", "this connection has already joined", fatal: false))
                        continue
                    }
                    guard version == MeetingWire.version else {
                        outbox.yield(MeetingWire.error("unsupported-version", "protocol version \(version) is not supported; this server speaks \(MeetingWire.version)", fatal: true))
                        return
                    }
                    let claims: AccessToken
                    do {
                        claims = try await tokens.verify(token: token)
                    } catch {
                        logger.info("meeting join refused", metadata: ["reason": "\(error.problem.code)"])
                        outbox.yield(MeetingWire.error(error.problem.code, error.problem.detail, fatal: true))
                        return
                    }
                    if let room, room != claims.room {
                        let problem = TokenRejection.wrongRoom(tokenRoom: claims.room, requested: room).problem
                        outbox.yield(MeetingWire.error(problem.code, problem.detail, fatal: true))
                        return
                    }
                    do {
                        let admitted = try access.admit(claims)
                        (participant, epoch) = try await hub.join(token: admitted, name: name, resume: resume, address: address, outbox: outbox)
                    } catch {
                        logger.info("meeting join refused", metadata: ["room": "\(claims.room)", "reason": "\(error.code)"])
                        outbox.yield(MeetingWire.error(error.code, error.detail, fatal: true))
                        return
                    }
                case .offer(let sdp, let sources):
                    guard let id = participant else { outbox.yield(notJoined); continue }
                    for reply in await hub.offer(from: id, sdp: sdp, sources: sources) { outbox.yield(reply) }
                case .mute(let kind, let muted):
                    guard let id = participant else { outbox.yield(notJoined); continue }
                    await hub.mute(id, kind: kind, muted: muted)
                case .endMeeting:
                    guard let id = participant else { outbox.yield(notJoined); continue }
                    do { try await hub.endMeeting(by: id) } catch { outbox.yield(hostError(error)) }
                case .remove(let target):
                    guard let id = participant else { outbox.yield(notJoined); continue }
                    do { try await hub.remove(target, by: id) } catch { outbox.yield(hostError(error)) }
                case .readmit(let identity):
                    guard let id = participant else { outbox.yield(notJoined); continue }
                    do { try await hub.readmit(identity, by: id) } catch { outbox.yield(hostError(error)) }
                case .muteParticipant(let target, let kind):
                    guard let id = participant else { outbox.yield(notJoined); continue }
                    do { try await hub.muteParticipant(target, kind: kind, by: id) } catch { outbox.yield(hostError(error)) }
                case .videoSize(let track, let width, let height):
                    guard let id = participant else { outbox.yield(notJoined); continue }
                    if let error = await hub.videoSize(id, track: track, width: width, height: height) { outbox.yield(error) }
                case .leave:
                    if let id = participant { await hub.leave(id, reason: .left) }
                    participant = nil
                    return
                }
            }
        } catch {
            // Oversized message or a protocol violation: the library closes the socket; say why if we still can.
            outbox.yield(MeetingWire.error("too-large", "message rejected: \(error)", fatal: true))
            logger.info("meeting socket closed on error", metadata: ["participant": "\(participant ?? "-")", "error": "\(error)"])
        }
    }

    private func hostError(_ error: MeetingHub.HostActionError) -> String {
        switch error {
        case .notHost: return MeetingWire.error("not-host", "only a host may do that", fatal: false)
        case .unknownParticipant: return MeetingWire.error("unknown-participant", "no such participant in this meeting", fatal: false)
        case .notRemoved: return MeetingWire.error("unknown-participant", "nobody with that identity is removed from this meeting", fatal: false)
        }
    }

    private var notJoined: String {
        MeetingWire.error("not-joined", "send {\"type\":\"join\",\"version\":1,\"token\":...} first", fatal: false)
    }
}

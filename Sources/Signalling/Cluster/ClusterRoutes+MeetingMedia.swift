import Foundation
import Hummingbird
import MediaCore

/// `/cluster/meeting-media…`: a meeting viewer's media served by another node than the one holding the meeting. The
/// origin drives the edge (`CascadeRelays+MeetingMedia`); the edge reports to the origin (`MeetingHub+RemoteMedia`).
extension ClusterRoutes {
    func registerMeetingMedia(on router: Router<some RequestContext>) {
        // Origin → edge.
        router.post("/cluster/meeting-media") { request, _ -> Response in
            let wanted = try await decoded(MeetingMediaWire.TransportRequest.self, request)
            return try Self.json(try await relays.host(wanted), status: .created)
        }
        router.post("/cluster/meeting-media/:transport/ice") { request, context -> Response in
            let wanted = try await decoded(MeetingMediaWire.ICERestart.self, request)
            return try Self.json(try await relays.restartHostedICE(try transport(context), wanted), status: .ok)
        }
        router.delete("/cluster/meeting-media/:transport") { request, context -> Response in
            _ = try await verified(request)
            guard await relays.closeHosted(try transport(context), reason: "the node holding the meeting closed it") else {
                throw CascadeRelays.unknownMedia
            }
            return Response(status: .noContent)
        }
        router.post("/cluster/meeting-media/:transport/producers") { request, context -> Response in
            let wanted = try await decoded(MeetingMediaWire.ProducerRequest.self, request)
            let producer = try await relays.addHostedProducer(try transport(context), wanted)
            return try Self.json(MeetingMediaWire.Consumer(id: producer.rawValue), status: .created)
        }
        router.delete("/cluster/meeting-media/:transport/producers/:track") { request, context -> Response in
            _ = try await verified(request)
            guard let track = context.parameters.get("track"), await relays.closeHostedProducer(try transport(context), track: track) else {
                throw CascadeRelays.unknownMedia
            }
            return Response(status: .noContent)
        }
        router.post("/cluster/meeting-media/:transport/consumers") { request, context -> Response in
            let wanted = try await decoded(MeetingMediaWire.ConsumerRequest.self, request)
            let consumer = try await relays.addHostedConsumer(try transport(context), wanted)
            return try Self.json(MeetingMediaWire.Consumer(id: consumer.rawValue), status: .created)
        }
        router.delete("/cluster/meeting-media/:transport/consumers/:consumer") { request, context -> Response in
            _ = try await verified(request)
            guard await relays.closeHostedConsumer(try transport(context), try consumer(context)) else { throw CascadeRelays.unknownMedia }
            return Response(status: .noContent)
        }
        router.post("/cluster/meeting-media/:transport/consumers/:consumer/layers") { request, context -> Response in
            let wanted = try await decoded(MeetingMediaWire.Layers.self, request)
            guard await relays.setHostedLayers(try transport(context), try consumer(context), wanted) else { throw CascadeRelays.unknownMedia }
            return Response(status: .noContent)
        }
        // Edge → origin.
        router.post("/cluster/meeting-media-status") { request, _ -> Response in
            let status = try await decoded(MeetingMediaWire.Status.self, request)
            let unwanted = await hub.unwantedRemoteMedia(status.transports, on: status.edge)
            return try Self.json(MeetingMediaWire.Status(edge: status.edge, transports: unwanted), status: .ok)
        }
        router.post("/cluster/meeting-media-closed") { request, _ -> Response in
            let closed = try await decoded(MeetingMediaWire.Closed.self, request)
            await hub.remoteMediaClosed(participant: closed.participant, transport: TransportID(closed.transport), on: closed.edge,
                                        reason: closed.reason)
            return Response(status: .noContent)
        }
    }

    private func decoded<T: Decodable>(_ type: T.Type, _ request: Request) async throws -> T {
        try await decoded(type, request, code: "meeting-media-request", title: "Malformed meeting media request")
    }

    private func transport(_ context: some RequestContext) throws(Problem) -> TransportID {
        guard let value = context.parameters.get("transport").flatMap(UInt64.init) else { throw CascadeRelays.unknownMedia }
        return TransportID(value)
    }

    private func consumer(_ context: some RequestContext) throws(Problem) -> ConsumerID {
        guard let value = context.parameters.get("consumer").flatMap(UInt64.init) else { throw CascadeRelays.unknownMedia }
        return ConsumerID(value)
    }
}

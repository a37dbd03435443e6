import Foundation
import Logging
import MediaCore
import NIOCore
import NIOHTTP1

/// The meeting hub's media calls for a participant whose media another node serves (`MeetingHub.Participant.mediaNode`):
/// the same steps as on the local engine (a transport from its offer, consumers on its mids, layer preferences, the
/// end), as signed requests to that node's `/cluster/meeting-media` (`CascadeRelays`, the edge side).
public struct RemoteMeetingMedia: Sendable {
    let cluster: ClusterClient
    let logger: Logger

    public init(cluster: ClusterClient, logger: Logger) {
        self.cluster = cluster
        self.logger = logger
    }

    /// This node's public URL: the origin the edges report to.
    var node: String { cluster.node }

    /// Why a node would not (or could not) take a call.
    struct Refused: Error, CustomStringConvertible {
        var status: Int
        var detail: String
        var description: String { status == 0 ? detail : "\(status): \(detail)" }
        /// The node answered that it serves its most viewers.
        var isFull: Bool { status == 503 }
    }

    func createTransport(on node: String, _ request: MeetingMediaWire.TransportRequest) async throws(Refused) -> TransportDescription {
        let answer: MeetingMediaWire.Transport = try await call(node, .POST, "/cluster/meeting-media", request, expect: 201)
        return answer.description
    }

    func restartICE(on node: String, _ transport: TransportID, ufrag: String, password: String) async throws(Refused) -> TransportDescription {
        let answer: MeetingMediaWire.Transport = try await call(node, .POST, "/cluster/meeting-media/\(transport.rawValue)/ice",
                                                                MeetingMediaWire.ICERestart(remoteUfrag: ufrag, remotePassword: password), expect: 200)
        return answer.description
    }

    func addConsumer(on node: String, _ transport: TransportID, _ request: MeetingMediaWire.ConsumerRequest) async throws(Refused) -> ConsumerID {
        let answer: MeetingMediaWire.Consumer = try await call(node, .POST, "/cluster/meeting-media/\(transport.rawValue)/consumers",
                                                               request, expect: 201)
        return ConsumerID(answer.id)
    }

    func addProducer(on node: String, _ transport: TransportID, _ request: MeetingMediaWire.ProducerRequest) async throws(Refused) {
        let _: MeetingMediaWire.Consumer = try await call(node, .POST, "/cluster/meeting-media/\(transport.rawValue)/producers",
                                                          request, expect: 201)
    }

    func closeProducer(on node: String, _ transport: TransportID, track: String) async {
        await send(node, .DELETE, "/cluster/meeting-media/\(transport.rawValue)/producers/\(track)")
    }

    func closeConsumer(on node: String, _ transport: TransportID, _ consumer: ConsumerID) async {
        await send(node, .DELETE, "/cluster/meeting-media/\(transport.rawValue)/consumers/\(consumer.rawValue)")
    }

    func setLayers(on node: String, _ transport: TransportID, _ consumer: ConsumerID, _ layers: MeetingMediaWire.Layers) async {
        await send(node, .POST, "/cluster/meeting-media/\(transport.rawValue)/consumers/\(consumer.rawValue)/layers", body: layers)
    }

    func closeTransport(on node: String, _ transport: TransportID) async {
        await send(node, .DELETE, "/cluster/meeting-media/\(transport.rawValue)")
    }

    private func call<Answer: Decodable>(_ node: String, _ method: HTTPMethod, _ path: String, _ body: some Encodable,
                                         expect: Int) async throws(Refused) -> Answer {
        let status: Int, data: [UInt8]
        do {
            (status, data) = try await cluster.call(node, method: method, path: path, body: try JSONEncoder().encode(body))
        } catch {
            throw Refused(status: 0, detail: "\(node) not reached: \(error)")
        }
        guard status == expect else { throw Refused(status: status, detail: String(decoding: data.prefix(300), as: UTF8.self)) }
        do {
            return try JSONDecoder().decode(Answer.self, from: Data(data))
        } catch {
            throw Refused(status: 0, detail: "\(node) answered something else: \(error)")
        }
    }

    /// A call whose answer changes nothing here: a node that is gone has closed what it served anyway, and one that
    /// missed it closes the transport when it next asks whether it is still wanted.
    private func send(_ node: String, _ method: HTTPMethod, _ path: String, body: (some Encodable)? = Optional<Int>.none) async {
        do {
            let data = try body.map { try JSONEncoder().encode($0) } ?? Data()
            let (status, answer) = try await cluster.call(node, method: method, path: path, body: data)
            if status >= 300 {
                logger.debug("meeting media call refused", metadata: ["node": "\(node)", "path": "\(path)", "status": "\(status)",
                                                                      "answer": "\(String(decoding: answer.prefix(200), as: UTF8.self))"])
            }
        } catch {
            logger.debug("meeting media call failed", metadata: ["node": "\(node)", "path": "\(path)", "error": "\(error)"])
        }
    }
}

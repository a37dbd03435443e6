import Foundation
import Logging

extension MeetingHub {
    /// In a cluster, another node now holds `room` (this node's lease ran out: its database was unreachable for too
    /// long, or it was paused): everyone in it here is sent to that node (`redirect`, then the socket closes), so the
    /// meeting does not go on in two places. Returns how many were sent.
    public func moveRoom(_ room: String, to url: String) async -> Int {
        let leaving = everyone(in: room)
        await sendOut(leaving, MeetingWire.redirect(url), reason: .disconnected)
        if !leaving.isEmpty {
            logger.warning("room held by another node now; its participants were sent there",
                           metadata: ["room": "\(room)", "node": "\(url)", "participants": "\(leaving.count)"])
        }
        return leaving.count
    }
}

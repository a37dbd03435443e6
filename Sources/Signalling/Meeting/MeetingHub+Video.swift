import Logging
import MediaCore

/// What video a participant receives: each tile's size picks its simulcast layer (`video-size`), a hidden tile (0×0:
/// on another page of the grid) pauses its video altogether, as last-N does, and a participant on a small data plan
/// can ask for the lowest layer of everything, or for no video at all (`receive-video`).
extension MeetingHub {
    /// `receive-video` modes: video layers as the tiles' sizes ask (`auto`), the lowest layer of every video (`low`),
    /// or no video at all, only audio (`off`).
    enum VideoReceiveMode: String, Sendable {
        case auto, low, off
    }

    /// Largest tile side a client may report; anything larger is a client bug.
    static let maximumVideoSize = 16384

    /// The layers a viewer wants for a tile shown `width`×`height` CSS pixels (0×0 = hidden): spatial 0 up to
    /// 200 pixels high, 1 up to 400, else 2; all temporal layers, except for a hidden tile (0, 0), which is also
    /// paused (`videoSize`).
    static func preferredLayers(width: Int, height: Int) -> (spatial: Int, temporal: Int) {
        if width == 0 || height == 0 { return (0, 0) }
        return (height <= 200 ? 0 : height <= 400 ? 1 : 2, 2)
    }

    /// The layers a consumer is capped at: what its tile asked for (every layer before it asked), the lowest
    /// spatial layer in `low` mode.
    static func cappedLayers(_ asked: (spatial: Int, temporal: Int)?, mode: VideoReceiveMode) -> (spatial: Int, temporal: Int) {
        let layers = asked ?? (spatial: 2, temporal: 2)
        return mode == .low ? (0, layers.temporal) : layers
    }

    /// A `video-size` message: caps the layers of the viewer's consumer for `track`, and pauses it while the tile is
    /// hidden (0×0): the viewer then receives no video of that track at all, and it starts again at a keyframe when
    /// the tile shows. Returns an error message for the client when the numbers are not a size; an unknown or
    /// non-video track is ignored.
    func videoSize(_ id: String, track: String, width: Int, height: Int) -> String? {
        guard (0...Self.maximumVideoSize).contains(width), (0...Self.maximumVideoSize).contains(height) else {
            return MeetingWire.error("bad-video-size", "width and height must be whole numbers from 0 to \(Self.maximumVideoSize)", fatal: false)
        }
        guard let participant = byID[id],
              let (mid, slot) = participant.receiving.first(where: { $0.value.track == track && $0.value.kind == .video }) else {
            logger.debug("video-size for a track not received", metadata: ["participant": "\(id)", "track": "\(track.prefix(40))"])
            return nil
        }
        let asked = Self.preferredLayers(width: width, height: height)
        participant.receiving[mid]?.askedLayers = asked
        let layers = Self.cappedLayers(asked, mode: participant.videoMode)
        setLayers(of: participant, slot.consumer, spatial: layers.spatial, temporal: layers.temporal, paused: width == 0 || height == 0)
        return nil
    }

    /// A `receive-video` message: from now on the participant receives video as `mode` says. Turning video off or
    /// back on changes which tracks it should receive, so it is asked for an offer (`renegotiate`).
    func receiveVideo(_ id: String, mode: VideoReceiveMode) {
        guard let participant = byID[id], participant.videoMode != mode else { return }
        let renegotiate = participant.videoMode == .off || mode == .off
        participant.videoMode = mode
        applyVideoMode(participant)
        if renegotiate { requestRenegotiation(participant) }
        logger.info("receive-video", metadata: ["participant": "\(id)", "mode": "\(mode.rawValue)"])
    }

    /// Caps every video consumer of the participant as its mode and its tiles' sizes say.
    func applyVideoMode(_ participant: Participant) {
        for slot in participant.receiving.values where slot.kind == .video {
            let layers = Self.cappedLayers(slot.askedLayers, mode: participant.videoMode)
            setLayers(of: participant, slot.consumer, spatial: layers.spatial, temporal: layers.temporal)
        }
    }
}

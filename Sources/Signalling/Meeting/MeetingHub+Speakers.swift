import MediaCore
import Recording

/// The room's active speaker, as the media layer's detector finds it (RFC 6464 levels): told to everyone in the room,
/// and noted on the recording's timeline.
extension MeetingHub {
    /// The media layer's active speaker of `room` changed: tell everyone in the room which participant
    /// publishes `producer` (null for silence, or a producer no participant publishes).
    public func activeSpeaker(room: String, producer: ProducerID?) {
        guard let participants = rooms[room] else { return }
        let speaker = producer.flatMap { producer in
            participants.first { $0.published.values.contains { $0.producer == producer } }?.id
        }
        guard speaker != activeSpeakers[room] ?? nil else { return }
        activeSpeakers[room] = speaker
        let who = speaker.flatMap { byID[$0] }
        noteForRecording(room, TimelineEvent(type: .speaker, participant: speaker, identity: who?.identity, name: who?.name))
        let message = MeetingWire.encode("active-speaker", ["participant": speaker])
        for participant in participants { participant.send(message) }
    }
}

/// The server's drain (SIGTERM): everyone is told the server is going away and when to come back, and the drain
/// waits for the meetings to end.
extension MeetingHub {
    /// Sends `server-shutdown` to every participant with an open socket, in rooms and lobbies; returns how many.
    public func announceShutdown(retryAfter: Int) -> Int {
        let message = MeetingWire.serverShutdown(retryAfter: retryAfter)
        var told = 0
        for participant in byID.values where participant.connected {
            participant.send(message)
            told += 1
        }
        for participant in waitingByID.values {
            participant.send(message)
            told += 1
        }
        return told
    }

    /// Participants whose socket is open, in a room or waiting: the drain is over when none is left.
    public func connectedCount() -> Int {
        byID.values.count { $0.connected } + waitingByID.count
    }
}

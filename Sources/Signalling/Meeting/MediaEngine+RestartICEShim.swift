import MediaCore

// TEMPORARY, until MediaEngine.restartICE lands on main (the lead adds it to MediaCore): the same signature, so the
// hub's ICE restart compiles. Deleted in the merge of main.
extension MediaEngine {
    func restartICE(_ transport: TransportID, remoteUfrag: String, remotePassword: String) async throws -> TransportDescription {
        throw MediaError.unknownTransport(transport)
    }
}

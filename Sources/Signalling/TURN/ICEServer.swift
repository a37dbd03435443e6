/// An RTCIceServer dictionary as the browser's RTCPeerConnection takes it (W3C webrtc-pc, RTCIceServer).
public struct ICEServer: Codable, Sendable, Equatable {
    public var urls: [String]
    public var username: String
    public var credential: String
}

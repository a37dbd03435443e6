/// Client-to-mixer audio level header extension (RFC 6464 section 3), URI
/// `urn:ietf:params:rtp-hdrext:ssrc-audio-level`: one byte, the V bit (0x80, the sender's voice
/// activity decision, only meaningful when negotiated with `vad=on`) and a 7-bit level in −dBov,
/// 0 the loudest and 127 silence (digital silence or muted).
///
/// It lets the SFU rank speakers from the RTP header alone, without decrypting or decoding audio.
struct RTPAudioLevel: Sendable, Hashable {
    /// Level in −dBov: 0 = 0 dBov (full scale), 127 = −127 dBov (silence).
    var level: UInt8
    /// The V bit: the sender's voice activity detector thinks this packet holds speech.
    var voiceActivity: Bool

    init(level: UInt8, voiceActivity: Bool) {
        self.level = level & 0x7F
        self.voiceActivity = voiceActivity
    }

    /// Decodes the element's data byte.
    init(byte: UInt8) {
        self.init(level: byte & 0x7F, voiceActivity: byte & 0x80 != 0)
    }

    /// The element's data byte.
    var byte: UInt8 { (voiceActivity ? 0x80 : 0) | level }

    /// Reads the element with `extensionID` (negotiated in SDP `a=extmap`) from a parsed
    /// packet; nil when it is absent or empty. The one-byte form carries exactly one data
    /// byte; a longer element (some senders pad it) is read from its first byte, and the
    /// two-byte form (RFC 8285 section 4.3) is accepted the same way.
    static func read(from packet: UnsafeRawBufferPointer, header: RTPHeader, extensionID: UInt8) -> RTPAudioLevel? {
        guard let element = header.extensionElement(id: extensionID, in: packet), element.length >= 1 else { return nil }
        return RTPAudioLevel(byte: packet[element.offset])
    }
}

import MediaCore

/// Writes the generator's SDP (offers for WHIP/WHEP) and reads the other side's SDP into a
/// `RemotePeerDescription`. Only what a BUNDLEd, rtcp-muxed, non-trickle Opus + VP8 session needs.
enum SDP {
    static func offer(_ local: LocalPeerDescription, sessionID: UInt64) -> String {
        var out: [String] = [
            "v=0",
            "o=- \(sessionID) 2 IN IP4 \(local.ip)",
            "s=-",
            "t=0 0",
            "a=group:BUNDLE " + local.media.map(\.mid).joined(separator: " "),
            "a=msid-semantic:WMS \(local.streamID)",
        ]
        for media in local.media {
            let isAudio = media.kind == .audio
            let formats = media.rtxPayloadType == 0 ? "\(media.payloadType)" : "\(media.payloadType) \(media.rtxPayloadType)"
            out.append("m=\(isAudio ? "audio" : "video") 9 UDP/TLS/RTP/SAVPF \(formats)")
            out.append("c=IN IP4 \(local.ip)")
            out.append("a=mid:\(media.mid)")
            out.append("a=ice-ufrag:\(local.ufrag)")
            out.append("a=ice-pwd:\(local.password)")
            out.append("a=fingerprint:\(local.fingerprint.algorithm) \(local.fingerprint.value)")
            out.append("a=setup:\(local.setup)")
            out.append("a=candidate:1 1 udp 2130706431 \(local.ip) \(local.port) typ host")
            out.append("a=end-of-candidates")
            out.append("a=rtcp-mux")
            out.append("a=rtcp-rsize")
            if isAudio {
                out.append("a=rtpmap:\(media.payloadType) opus/48000/2")
                out.append("a=fmtp:\(media.payloadType) minptime=10;useinbandfec=1")
            } else {
                out.append("a=rtpmap:\(media.payloadType) VP8/90000")
                out.append("a=rtcp-fb:\(media.payloadType) nack")
                out.append("a=rtcp-fb:\(media.payloadType) nack pli")
                out.append("a=rtcp-fb:\(media.payloadType) ccm fir")
                if media.rtxPayloadType != 0 {
                    out.append("a=rtpmap:\(media.rtxPayloadType) rtx/90000")
                    out.append("a=fmtp:\(media.rtxPayloadType) apt=\(media.payloadType)")
                }
            }
            if local.sends, !media.rids.isEmpty {
                // Simulcast as browsers offer it (RFC 8853): layers named by RID, SSRCs learnt from the packets.
                out.append("a=extmap:\(media.midExtensionID) urn:ietf:params:rtp-hdrext:sdes:mid")
                out.append("a=extmap:\(media.ridExtensionID) urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id")
                out.append("a=sendonly")
                out.append("a=msid:\(local.streamID) \(local.streamID)-\(media.kind.rawValue)")
                for rid in media.rids { out.append("a=rid:\(rid) send") }
                out.append("a=simulcast:send " + media.rids.joined(separator: ";"))
            } else if local.sends, let ssrc = media.ssrc {
                let track = "\(local.streamID)-\(media.kind.rawValue)"
                out.append("a=sendonly")
                out.append("a=msid:\(local.streamID) \(track)")
                out.append("a=ssrc:\(ssrc) cname:\(local.cname)")
                out.append("a=ssrc:\(ssrc) msid:\(local.streamID) \(track)")
            } else {
                out.append("a=recvonly")
            }
        }
        return out.joined(separator: "\r\n") + "\r\n"
    }

    /// An answer to a server's offer (Janus offers to subscribers): every offered m-line in order, audio and
    /// video accepted with the offered payload type when `local` has that kind, the rest rejected (port 0).
    /// We are the DTLS client (a=setup:active).
    static func answer(_ local: LocalPeerDescription, offer: RemotePeerDescription, sessionID: UInt64) -> String {
        let accepted = offer.media.filter { m in m.accepted && local.media.contains { $0.kind == m.kind } }
        var out: [String] = [
            "v=0",
            "o=- \(sessionID) 2 IN IP4 \(local.ip)",
            "s=-",
            "t=0 0",
            "a=group:BUNDLE " + accepted.map(\.mid).joined(separator: " "),
            "a=msid-semantic:WMS \(local.streamID)",
        ]
        for media in offer.media {
            guard media.accepted, let kind = media.kind, local.media.contains(where: { $0.kind == kind }) else {
                out.append("m=\(media.rawKind) 0 \(media.proto) \(media.rawKind == "application" ? "webrtc-datachannel" : "0")")
                out.append("c=IN IP4 0.0.0.0")
                out.append("a=mid:\(media.mid)")
                out.append("a=inactive")
                continue
            }
            let pt = media.payloadType
            out.append("m=\(kind == .audio ? "audio" : "video") 9 UDP/TLS/RTP/SAVPF \(pt)")
            out.append("c=IN IP4 \(local.ip)")
            out.append("a=mid:\(media.mid)")
            out.append("a=ice-ufrag:\(local.ufrag)")
            out.append("a=ice-pwd:\(local.password)")
            out.append("a=fingerprint:\(local.fingerprint.algorithm) \(local.fingerprint.value)")
            out.append("a=setup:active")
            out.append("a=candidate:1 1 udp 2130706431 \(local.ip) \(local.port) typ host")
            out.append("a=end-of-candidates")
            out.append("a=rtcp-mux")
            out.append("a=rtcp-rsize")
            if kind == .audio {
                out.append("a=rtpmap:\(pt) opus/48000/2")
                out.append("a=fmtp:\(pt) minptime=10;useinbandfec=1")
            } else {
                out.append("a=rtpmap:\(pt) VP8/90000")
                out.append("a=rtcp-fb:\(pt) nack")
                out.append("a=rtcp-fb:\(pt) nack pli")
                out.append("a=rtcp-fb:\(pt) ccm fir")
            }
            out.append(local.sends ? "a=sendonly" : "a=recvonly")
        }
        return out.joined(separator: "\r\n") + "\r\n"
    }

    /// Reads an answer (or offer): transport attributes at session or media level, the first host candidate,
    /// and per m-line the mid, port (0 = rejected), direction, first payload type, first a=ssrc, the RTX SSRC of
    /// an `a=ssrc-group:FID` and the `a=msid`.
    static func read(_ text: String) throws -> RemotePeerDescription {
        var remote = RemotePeerDescription()
        var current: RemotePeerDescription.Media?
        func finish() {
            if let media = current { remote.media.append(media) }
            current = nil
        }
        for raw in text.split(omittingEmptySubsequences: true, whereSeparator: \.isNewline) {  // "\r\n" is one Character
            let line = String(raw)
            if line.hasPrefix("m=") {
                finish()
                let fields = line.dropFirst(2).split(separator: " ")
                guard fields.count >= 4 else { throw LoadgenError.signalling("bad SDP line: \(line)") }
                current = RemotePeerDescription.Media(
                    kind: MediaKind(rawValue: String(fields[0])), mid: "", accepted: fields[1] != "0",
                    payloadType: UInt8(fields[3]) ?? 0, ssrc: nil, rawKind: String(fields[0]), proto: String(fields[2]))
                continue
            }
            guard line.hasPrefix("a=") else { continue }
            let attribute = line.dropFirst(2)
            let name = attribute.prefix { $0 != ":" }
            let value = attribute.count > name.count ? String(attribute.dropFirst(name.count + 1)) : ""
            switch name {
            case "ice-ufrag": remote.ufrag = value
            case "ice-pwd": remote.password = value
            case "fingerprint":
                let parts = value.split(separator: " ")
                if parts.count == 2 {
                    let fingerprint = DTLSFingerprint(algorithm: String(parts[0]), value: String(parts[1]))
                    if !remote.fingerprints.contains(fingerprint) { remote.fingerprints.append(fingerprint) }
                }
            case "candidate":
                // foundation component transport priority address port typ host
                let parts = value.split(separator: " ")
                if remote.port == 0, parts.count >= 8, parts[2].lowercased() == "udp", parts[7] == "host", let port = UInt16(parts[5]) {
                    remote.ip = String(parts[4])
                    remote.port = port
                }
            case "mid": current?.mid = value
            case "inactive": current?.accepted = false
            case "msid":
                let parts = value.split(separator: " ")
                current?.streamID = parts.first.map(String.init)
                current?.trackID = parts.count > 1 ? String(parts[1]) : nil
            case "ssrc-group":
                let parts = value.split(separator: " ")
                if parts.count == 3, parts[0] == "FID", let rtx = UInt32(parts[2]) { current?.rtxSSRC = rtx }
            case "ssrc":
                if current?.ssrc == nil, let ssrc = value.split(separator: " ").first.flatMap({ UInt32($0) }) {
                    current?.ssrc = ssrc
                }
            default: break
            }
        }
        finish()
        guard !remote.ufrag.isEmpty, !remote.password.isEmpty else { throw LoadgenError.signalling("the answer has no ICE credentials") }
        guard !remote.fingerprints.isEmpty else { throw LoadgenError.signalling("the answer has no DTLS fingerprint") }
        guard remote.port != 0 else { throw LoadgenError.signalling("the answer has no UDP host candidate") }
        guard remote.ip == "::1" || remote.ip.hasPrefix("127.") else {
            throw LoadgenError.signalling("the server's candidate \(remote.ip) is not loopback; the generator only sends to 127.0.0.0/8 or ::1")
        }
        return remote
    }
}

import MediaCore

/// Writes our answer to an `SDPOffer` (RFC 8829 §5.3, RFC 8843 for BUNDLE, RFC 8839 for ICE-lite).
///
/// Every accepted m-line carries the same transport: port = our preferred candidate's port, our ICE
/// credentials, fingerprint, setup:passive and our host candidates (UDP, then passive ICE-TCP, RFC 6544).
/// Rejected m-lines get port 0 and a=inactive. m-line order follows the offer. Lines end in CRLF.
struct SDPAnswerWriter {
    let offer: SDPOffer
    let local: LocalSDPParameters
    let sending: [String: OutgoingTrack]
    /// Sending m-lines we do not take (answered inactive).
    let refused: Set<String>

    func write() -> String {
        var out = ""
        out.reserveCapacity(1024 + 640 * offer.media.count)
        let addressType = local.candidateIP.contains(":") ? "IP6" : "IP4"
        line(&out, "v=0")
        line(&out, "o=- \(local.sessionID) 2 IN \(addressType) \(local.candidateIP)")
        line(&out, "s=-")
        line(&out, "t=0 0")
        line(&out, "a=ice-lite")
        if !offer.bundle.isEmpty {
            line(&out, "a=group:BUNDLE " + offer.bundle.joined(separator: " "))
        }
        line(&out, "a=msid-semantic:WMS *")
        for media in offer.media {
            if media.accepted {
                writeAccepted(media, addressType: addressType, into: &out)
            } else {
                writeRejected(media, into: &out)
            }
        }
        return out
    }

    private func writeAccepted(_ media: OfferedMedia, addressType: String, into out: inout String) {
        let pt = media.payloadType
        let rtx = media.rtxPayloadType
        line(&out, "m=\(media.mediaType) \(local.candidatePort) \(media.transportProtocol) \(pt)" + (rtx == 0 ? "" : " \(rtx)"))
        line(&out, "c=IN \(addressType) \(local.candidateIP)")
        line(&out, "a=mid:\(media.mid)")
        line(&out, "a=ice-ufrag:\(local.iceUfrag)")
        line(&out, "a=ice-pwd:\(local.icePassword)")
        line(&out, "a=fingerprint:\(local.fingerprint.algorithm) \(local.fingerprint.value)")
        line(&out, "a=setup:passive")
        let candidates = local.candidates.isEmpty
            ? ICECandidate.hostCandidates(addresses: [local.candidateIP], port: local.candidatePort, tcp: false)
            : local.candidates
        for candidate in candidates { line(&out, "a=candidate:\(candidate)") }
        line(&out, "a=end-of-candidates")
        line(&out, "a=rtcp-mux")
        if media.reducedSizeRTCP {
            line(&out, "a=rtcp-rsize")
        }
        for extmap in media.extmaps where isEchoed(extmap, in: media.extensions) {
            let direction = extmap.direction.map { "/\($0.reversed)" } ?? ""
            line(&out, "a=extmap:\(extmap.id)\(direction) \(extmap.uri)")
        }
        let rtpmap = media.kind == .audio ? "\(media.codecName)/\(media.clockRate)/2" : "\(media.codecName)/\(media.clockRate)"
        line(&out, "a=rtpmap:\(pt) \(rtpmap)")
        if let parameters = media.codecParameters, !parameters.isEmpty {
            line(&out, "a=fmtp:\(pt) \(parameters)")
        }
        for feedback in media.rtcpFeedback {
            line(&out, "a=rtcp-fb:\(pt) \(feedback)")
        }
        if rtx != 0 {
            line(&out, "a=rtpmap:\(rtx) rtx/\(media.clockRate)")
            line(&out, "a=fmtp:\(rtx) apt=\(pt)")
        }
        let publishes = offer.intent == .publish || (offer.intent == .meeting && media.direction.sends)
        if publishes {
            guard !refused.contains(media.mid) else {
                line(&out, "a=inactive")
                return
            }
            // RFC 8853 §5.3: receive the rids we took, in the offer's order.
            if !media.simulcastRIDs.isEmpty {
                for rid in media.simulcastRIDs {
                    line(&out, "a=rid:\(rid) recv")
                }
                line(&out, "a=simulcast:recv " + media.simulcastRIDs.joined(separator: ";"))
            }
            line(&out, "a=recvonly")
        } else {
            guard media.direction.receives, let track = sending[media.mid] else {
                line(&out, "a=inactive")
                return
            }
            line(&out, "a=sendonly")
            line(&out, "a=msid:\(track.streamID) \(track.trackID)")
            let withRTX = rtx != 0 && track.rtxSSRC != 0
            if withRTX {
                line(&out, "a=ssrc-group:FID \(track.ssrc) \(track.rtxSSRC)")
            }
            for ssrc in withRTX ? [track.ssrc, track.rtxSSRC] : [track.ssrc] {
                line(&out, "a=ssrc:\(ssrc) cname:\(track.cname)")
                line(&out, "a=ssrc:\(ssrc) msid:\(track.streamID) \(track.trackID)")
            }
        }
    }

    private func writeRejected(_ media: OfferedMedia, into out: inout String) {
        let format = media.formats.first ?? "0"
        line(&out, "m=\(media.mediaType) 0 \(media.transportProtocol) \(format)")
        line(&out, "c=IN IP4 0.0.0.0")
        if !media.mid.isEmpty {
            line(&out, "a=mid:\(media.mid)")
        }
        line(&out, "a=inactive")
    }

    /// One extmap line per echoed id: the first mapping of each id we keep.
    private func isEchoed(_ extmap: SDPExtmap, in ids: HeaderExtensionIDs) -> Bool {
        switch extmap.uri {
        case SDPHeaderExtensionURI.mid: return ids.mid == extmap.id
        case SDPHeaderExtensionURI.rid: return ids.rid == extmap.id
        case SDPHeaderExtensionURI.repairedRid: return ids.repairedRid == extmap.id
        case SDPHeaderExtensionURI.audioLevel: return ids.audioLevel == extmap.id
        case SDPHeaderExtensionURI.absSendTime: return ids.absSendTime == extmap.id
        case SDPHeaderExtensionURI.transportWideCC: return ids.transportWideCC == extmap.id
        default: return false
        }
    }

    private func line(_ out: inout String, _ text: String) {
        out += text
        out += "\r\n"
    }
}

import Glibc
@testable import MediaCore

/// SRTP and SRTCP unprotect with a fixed key (RFC 3711, RFC 7714), our OpenSSL transform
/// (`SRTPContext`) against libsrtp (`SRTPSession`), which it claims to match packet for packet.
///
/// The first input byte picks the profile and the mode:
/// - raw: the rest is one received datagram, unprotected as RTP and as RTCP by both; they must agree
///   on accepting it and, when they do, on the plaintext;
/// - sequence: the rest is a list of packets libsrtp protects (SSRC, sequence number, payload; or a
///   resend of an earlier ciphertext), each then unprotected by both inbound sessions, which must
///   agree on every verdict (replay window, roll-over counter) and every plaintext.
/// A verdict of `.streamTableFull` (our fixed SSRC table, issue 13 item 1) is not compared.
enum SRTPFuzz {
    static let name = "srtp"
    static let key: [UInt8] = Array(0..<16)
    static let salt: [UInt8] = Array(100..<114)

    static func run(_ data: UnsafeRawBufferPointer) throws(FuzzFailure) {
        guard let first = data.first else { return }
        let profile: SRTPProfile = first & 1 == 0 ? .aes128CMHMACSHA1_80 : .aeadAES128GCM
        let rest = UnsafeRawBufferPointer(rebasing: data[1...])
        if first & 2 == 0 {
            // A datagram that does not authenticate changes no state, and a fuzzer cannot forge a tag:
            // long-lived sessions give the same verdicts as fresh ones, at a fraction of the cost.
            let (ours, theirs) = profile == .aeadAES128GCM ? gcm : cm
            try compare(rest, rtcp: false, ours, theirs)
            try compare(rest, rtcp: true, ours, theirs)
        } else {
            let (ours, theirs) = try sessions(profile)
            try sequence(rest, profile: profile, ours, theirs)
        }
    }

    nonisolated(unsafe) static let cm = try! sessions(.aes128CMHMACSHA1_80)
    nonisolated(unsafe) static let gcm = try! sessions(.aeadAES128GCM)

    private static func sessions(_ profile: SRTPProfile) throws(FuzzFailure) -> (SRTPContext, SRTPSession) {
        guard let ours = try? SRTPContext(profile: profile, key: key, salt: Array(salt.prefix(profile.masterSaltLength)), direction: .inbound),
              let theirs = try? SRTPSession(profile: profile, key: key, salt: Array(salt.prefix(profile.masterSaltLength)), direction: .inbound)
        else { throw FuzzFailure(name, "cannot set up SRTP sessions") }
        return (ours, theirs)
    }

    /// Unprotects one datagram with both; returns false when the verdicts are not comparable.
    @discardableResult
    private static func compare(_ packet: UnsafeRawBufferPointer, rtcp: Bool, _ ours: SRTPContext, _ theirs: SRTPSession) throws(FuzzFailure) -> Bool {
        let capacity = packet.count + SRTPContext.maxTrailerLength + 16
        let a = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        let b = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        defer { a.deallocate(); b.deallocate() }
        if let base = packet.baseAddress {
            a.copyMemory(from: base, byteCount: packet.count)
            b.copyMemory(from: base, byteCount: packet.count)
        }
        var lengthA = packet.count
        var lengthB = packet.count
        let statusA = rtcp ? ours.unprotectRTCP(a, length: &lengthA) : ours.unprotectRTP(a, length: &lengthA)
        let statusB = rtcp ? theirs.unprotectRTCP(b, length: &lengthB) : theirs.unprotectRTP(b, length: &lengthB)
        try check(lengthA <= packet.count, name, "unprotect grew the packet")
        if statusA == .streamTableFull { return false }
        let kind = rtcp ? "SRTCP" : "SRTP"
        try check((statusA == .ok) == (statusB == .ok), name, "\(kind) verdicts differ: SRTPContext \(statusA), libsrtp \(statusB)")
        if statusA == .ok {
            try check(lengthA == lengthB && memcmp(a, b, lengthA) == 0, name, "\(kind) plaintexts differ")
        }
        return true
    }

    private static func compare(_ packet: [UInt8], rtcp: Bool, _ ours: SRTPContext, _ theirs: SRTPSession) throws(FuzzFailure) {
        let result = packet.withUnsafeBytes { raw in Result { () throws(FuzzFailure) -> Bool in try compare(raw, rtcp: rtcp, ours, theirs) } }
        _ = try result.get()
    }

    private static func sequence(_ data: UnsafeRawBufferPointer, profile: SRTPProfile, _ ours: SRTPContext, _ theirs: SRTPSession) throws(FuzzFailure) {
        guard let sender = try? SRTPSession(profile: profile, key: key, salt: Array(salt.prefix(profile.masterSaltLength)), direction: .outbound)
        else { throw FuzzFailure(name, "cannot set up the sending session") }
        var reader = FuzzReader(data)
        var sent: [[UInt8]] = []
        var timestamp: UInt32 = 0
        while !reader.isAtEnd, sent.count < 256 {
            let op = reader.u8()
            if op & 0x80 != 0, !sent.isEmpty {
                // Resend an earlier ciphertext: a replay (or a late packet) on the wire.
                let packet = sent[Int(reader.u8()) % sent.count]
                try compare(packet, rtcp: op & 0x40 != 0, ours, theirs)
                continue
            }
            let rtcp = op & 0x40 != 0
            let ssrc = 0x1000 + UInt32(op & 0x3F)
            let sequence = reader.u16()
            let payload = reader.chunk()
            timestamp &+= 960
            var buffer = [UInt8](repeating: 0, count: 12 + payload.count + 8 + SRTPSession.maxTrailerLength)
            var length = buffer.withUnsafeMutableBytes { out -> Int in
                if rtcp {
                    // A receiver report followed by the payload as an APP-like tail: any valid RTCP header works.
                    let rr = RTCPReceiverReport.write(ssrc: ssrc, into: out)
                    return rr
                }
                let header = RTPHeader.write(marker: false, payloadType: 111, sequenceNumber: sequence, timestamp: timestamp, ssrc: ssrc, into: out)
                if let base = payload.baseAddress { (out.baseAddress! + header).copyMemory(from: base, byteCount: payload.count) }
                return header + payload.count
            }
            let status = buffer.withUnsafeMutableBytes { out in
                rtcp ? sender.protectRTCP(out.baseAddress!, length: &length) : sender.protectRTP(out.baseAddress!, length: &length)
            }
            guard status == .ok else { continue }
            let packet = Array(buffer[0..<length])
            sent.append(packet)
            try compare(packet, rtcp: rtcp, ours, theirs)
        }
    }
}

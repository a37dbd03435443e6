/// Undoes a Content-Transfer-Encoding (RFC 2045 section 6) and a charset (RFC 2046 section 4.1.2), for the
/// encodings and charsets that calendar mail uses.
enum MIMETransferDecoding {
    /// `encoding` is the field's value, any case; none (nil), 7bit, 8bit and binary are identity.
    static func decode(_ body: [UInt8], encoding: String?) throws(MIMEError) -> [UInt8] {
        switch encoding?.lowercased() ?? "7bit" {
        case "7bit", "8bit", "binary", "": body
        case "base64": try base64(body)
        case "quoted-printable": quotedPrintable(body)
        case let other: throw .unsupported("Content-Transfer-Encoding '\(other.prefix(40))'")
        }
    }

    /// Whitespace and line breaks anywhere are skipped (section 6.8); missing "=" padding is tolerated, a
    /// dangling single character (a cut message) and characters outside the alphabet are not.
    static func base64(_ body: [UInt8]) throws(MIMEError) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(body.count / 4 * 3)
        var quad: UInt32 = 0
        var count = 0
        var padding = false
        for byte in body {
            let value: UInt8
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): value = byte - UInt8(ascii: "A")
            case UInt8(ascii: "a")...UInt8(ascii: "z"): value = byte - UInt8(ascii: "a") + 26
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = byte - UInt8(ascii: "0") + 52
            case UInt8(ascii: "+"): value = 62
            case UInt8(ascii: "/"): value = 63
            case UInt8(ascii: "="): padding = true; continue
            case 0x20, 0x09, 0x0D, 0x0A: continue
            default: throw .malformed("a byte 0x\(String(byte, radix: 16)) in base64")
            }
            guard !padding else { throw .malformed("base64 data after '=' padding") }
            quad = quad << 6 | UInt32(value)
            count += 1
            if count == 4 {
                out += [UInt8(truncatingIfNeeded: quad >> 16), UInt8(truncatingIfNeeded: quad >> 8), UInt8(truncatingIfNeeded: quad)]
                quad = 0
                count = 0
            }
        }
        switch count {
        case 0: break
        case 2: out.append(UInt8(truncatingIfNeeded: quad >> 4))
        case 3: out += [UInt8(truncatingIfNeeded: quad >> 10), UInt8(truncatingIfNeeded: quad >> 2)]
        default: throw .malformed("base64 ends in the middle of a byte (truncated?)")
        }
        return out
    }

    /// `=XX` is a byte, "=" at a line end a soft break, whitespace at a line end is transport padding
    /// (section 6.7); a "=" that starts neither is kept as it is, as the RFC suggests for robustness.
    static func quotedPrintable(_ body: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(body.count)
        var lineStart = 0
        while lineStart < body.count {
            var lineEnd = lineStart
            while lineEnd < body.count, body[lineEnd] != 0x0A { lineEnd += 1 }
            let hasBreak = lineEnd < body.count
            var contentEnd = lineEnd
            if contentEnd > lineStart, body[contentEnd - 1] == 0x0D { contentEnd -= 1 }
            while contentEnd > lineStart, body[contentEnd - 1] == 0x20 || body[contentEnd - 1] == 0x09 { contentEnd -= 1 }
            var i = lineStart
            var soft = false
            while i < contentEnd {
                let byte = body[i]
                if byte == UInt8(ascii: "=") {
                    if i + 1 == contentEnd {
                        soft = true
                        break
                    }
                    if i + 2 < contentEnd, let high = hex(body[i + 1]), let low = hex(body[i + 2]) {
                        out.append(high << 4 | low)
                        i += 3
                        continue
                    }
                }
                out.append(byte)
                i += 1
            }
            if hasBreak, !soft { out += [0x0D, 0x0A] }
            lineStart = lineEnd + 1
        }
        return out
    }

    static func hex(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        default: nil
        }
    }

    /// Text in `charset` (any case; none means US-ASCII). UTF-8 must be valid; US-ASCII with 8-bit bytes is read
    /// as UTF-8 when it is valid UTF-8 (mislabelled mail is common), else refused. windows-1252 is read as
    /// ISO-8859-1, which differs only in 0x80-0x9F (typographic quotes and dashes) and is close enough for the
    /// calendar data this reads.
    static func text(_ bytes: [UInt8], charset: String?) throws(MIMEError) -> String {
        switch charset?.lowercased() ?? "us-ascii" {
        case "utf-8", "utf8", "us-ascii", "ascii":
            guard let text = String(validating: bytes, as: UTF8.self) else {
                throw .malformed("text that is not valid UTF-8 in a \(charset ?? "us-ascii") part")
            }
            return text
        case "iso-8859-1", "latin1", "iso8859-1", "windows-1252", "cp1252":
            var text = ""
            text.unicodeScalars.append(contentsOf: bytes.map { Unicode.Scalar($0) })
            return text
        case let other:
            throw .unsupported("charset '\(other.prefix(40))'")
        }
    }
}

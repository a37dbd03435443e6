import NIOCore

/// The DATA content transformation of RFC 5321 section 4.5.2: every line is CRLF-terminated, a
/// line that starts with "." gets one more ".", and ".CRLF" ends the content.
///
/// A bare CR or LF in `message` becomes CRLF (section 2.3.8 forbids them on the wire), and a
/// message whose last line lacks a line end gets one before the terminator.
public enum SMTPDataEncoder {
    public static func encode(_ message: some Collection<UInt8>, into buffer: inout ByteBuffer) {
        buffer.reserveCapacity(minimumWritableBytes: message.count + message.count / 64 + 8)
        var atLineStart = true
        var previousCR = false
        for byte in message {
            switch byte {
            case UInt8(ascii: "\r"):
                if previousCR {  // CR CR: the first one was bare
                    buffer.writeInteger(UInt8(ascii: "\n"))
                    atLineStart = true
                }
                buffer.writeInteger(byte)
                previousCR = true
                continue
            case UInt8(ascii: "\n"):
                if !previousCR { buffer.writeInteger(UInt8(ascii: "\r")) }
                buffer.writeInteger(byte)
                atLineStart = true
            default:
                if previousCR {  // bare CR inside a line
                    buffer.writeInteger(UInt8(ascii: "\n"))
                    atLineStart = true
                }
                if atLineStart, byte == UInt8(ascii: ".") { buffer.writeInteger(UInt8(ascii: ".")) }
                buffer.writeInteger(byte)
                atLineStart = false
            }
            previousCR = false
        }
        if previousCR {
            buffer.writeInteger(UInt8(ascii: "\n"))
        } else if !atLineStart {
            buffer.writeString("\r\n")
        }
        buffer.writeString(".\r\n")
    }

    public static func encode(_ message: some Collection<UInt8>) -> ByteBuffer {
        var buffer = ByteBuffer()
        encode(message, into: &buffer)
        return buffer
    }
}

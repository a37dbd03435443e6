import Foundation

/// Reply mails shaped as the common clients send them (structure, headers, encodings and calendar properties
/// taken from their real output; names and addresses replaced). `crlf` turns the LF of the source into CRLF.
enum IMIPReplySamples {
    static func crlf(_ text: String) -> [UInt8] {
        Array(text.replacingOccurrences(of: "\n", with: "\r\n").utf8)
    }

    static func base64Lines(_ text: String) -> String {
        let encoded = Data(crlf(text)).base64EncodedString()
        return stride(from: 0, to: encoded.count, by: 76).map { start in
            let from = encoded.index(encoded.startIndex, offsetBy: start)
            return String(encoded[from..<(encoded.index(from, offsetBy: 76, limitedBy: encoded.endIndex) ?? encoded.endIndex)])
        }.joined(separator: "\n")
    }

    static let thunderbirdCalendar = """
        BEGIN:VCALENDAR
        PRODID:-//Mozilla.org/NONSGML Mozilla Calendar V1.1//EN
        VERSION:2.0
        METHOD:REPLY
        BEGIN:VEVENT
        CREATED:20260301T094500Z
        LAST-MODIFIED:20260301T101500Z
        DTSTAMP:20260301T101500Z
        UID:room-42@meet.example.in
        SUMMARY:Quarterly review
        ORGANIZER;CN=Asha Rao:mailto:asha@example.in
        ATTENDEE;CN=सुनील कुमार;PARTSTAT=ACCEPTED;ROLE=REQ-PARTICIPANT;CUTYPE=INDIVIDU
         AL:mailto:Sunil@Example.IN
        SEQUENCE:2
        DTSTART;TZID=Asia/Kolkata:20260304T140000
        DTEND;TZID=Asia/Kolkata:20260304T150000
        END:VEVENT
        END:VCALENDAR
        """

    /// Thunderbird: multipart/mixed of multipart/alternative (text/plain, text/calendar 7bit) and an
    /// application/ics attachment in base64, CRLF.
    static let thunderbird = crlf("""
        From: =?UTF-8?B?4KS44KWB4KSo4KWA4KSyIOCkleClgeCkruCkvuCksA==?= <sunil@example.in>
        To: asha@example.in
        Subject: Accepted: Quarterly review
        Date: Sun, 1 Mar 2026 15:45:00 +0530
        MIME-Version: 1.0
        User-Agent: Mozilla Thunderbird
        Content-Type: multipart/mixed;
         boundary="------------Q2aG1dYbq4yX0Rf1T6ZQ7w"

        This is a multi-part message in MIME format.
        --------------Q2aG1dYbq4yX0Rf1T6ZQ7w
        Content-Type: multipart/alternative;
         boundary="------------s1Uu8m1WmF9kqJQe5oB2p3"

        --------------s1Uu8m1WmF9kqJQe5oB2p3
        Content-Type: text/plain; charset=UTF-8
        Content-Transfer-Encoding: 7bit

        सुनील कुमार has accepted your event invitation.

        --------------s1Uu8m1WmF9kqJQe5oB2p3
        Content-Type: text/calendar; charset=UTF-8; method=REPLY
        Content-Transfer-Encoding: 8bit

        \(thunderbirdCalendar)

        --------------s1Uu8m1WmF9kqJQe5oB2p3--
        --------------Q2aG1dYbq4yX0Rf1T6ZQ7w
        Content-Type: application/ics; name="invite.ics"
        Content-Disposition: attachment; filename="invite.ics"
        Content-Transfer-Encoding: base64

        \(base64Lines(thunderbirdCalendar))

        --------------Q2aG1dYbq4yX0Rf1T6ZQ7w--

        """)

    /// Outlook / Exchange: multipart/alternative with quoted-printable text and HTML, then text/calendar in base64;
    /// a COMMENT with escapes, a RECURRENCE-ID, Microsoft's own properties. CRLF.
    static let outlook = crlf("""
        From: "Rao, Asha" <Asha.Rao@Example.gov.in>
        To: "Collector" <collector@example.gov.in>
        Subject: Declined: Quarterly review
        Thread-Topic: Quarterly review
        Date: Mon, 2 Mar 2026 05:10:11 +0000
        Message-ID: <PN2P287MB1234ABCD@PN2P287MB1234.INDP287.PROD.OUTLOOK.COM>
        Content-Language: en-IN
        X-MS-Has-Attach:
        MIME-Version: 1.0
        Content-Type: multipart/alternative;
        \tboundary="_000_PN2P287MB1234ABCD_"

        --_000_PN2P287MB1234ABCD_
        Content-Type: text/plain; charset="us-ascii"
        Content-Transfer-Encoding: quoted-printable

        I am on tour that day; my deputy will attend.=20

        --_000_PN2P287MB1234ABCD_
        Content-Type: text/html; charset="us-ascii"
        Content-Transfer-Encoding: quoted-printable

        <html><head><meta http-equiv=3D"Content-Type" content=3D"text/html"></head><body>I am on tour</body></html>

        --_000_PN2P287MB1234ABCD_
        Content-Type: text/calendar; charset="utf-8"; method=REPLY
        Content-Transfer-Encoding: base64

        \(base64Lines("""
        BEGIN:VCALENDAR
        METHOD:REPLY
        PRODID:Microsoft Exchange Server 2010
        VERSION:2.0
        BEGIN:VEVENT
        ATTENDEE;PARTSTAT=DECLINED;CN="Rao, Asha":mailto:Asha.Rao@Example.gov.in
        ATTENDEE;PARTSTAT=ACCEPTED;SENT-BY="mailto:pa.collector@example.gov.in":mailto
         :deputy@example.gov.in
        ATTENDEE;PARTSTAT=X-MAYBE:mailto:odd@example.gov.in
        ATTENDEE;PARTSTAT=ACCEPTED:urn:uuid:5f0a1c2e-0000-4000-8000-000000000001
        COMMENT;LANGUAGE=en-IN:I am on tour that day\\; my deputy will attend\\, sorry
         .\\nAsha
        UID:040000008200E00074C5B7101A82E00800000000B0B5F1C2A3A7DC01000000000000000010
         000000C4E5F6A7B8C9D0E1F2A3B4C5D6E7F8A9B0
        RECURRENCE-ID;TZID=India Standard Time:20260304T140000
        SUMMARY;LANGUAGE=en-IN:Declined: Quarterly review
        DTSTART;TZID=India Standard Time:20260304T140000
        DTEND;TZID=India Standard Time:20260304T150000
        CLASS:PUBLIC
        PRIORITY:5
        DTSTAMP:20260302T051011Z
        TRANSP:OPAQUE
        STATUS:CONFIRMED
        SEQUENCE:3
        X-MICROSOFT-CDO-APPT-SEQUENCE:3
        X-MICROSOFT-CDO-OWNERAPPTID:2122396455
        X-MICROSOFT-CDO-REPLYTIME:20260302T051000Z
        END:VEVENT
        END:VCALENDAR
        """))

        --_000_PN2P287MB1234ABCD_--

        """)

    /// Google Calendar: From the attendee, Sender Google's notification address, multipart/mixed with the
    /// calendar twice (inline 7bit with method=REPLY, and invite.ics base64); DTSTAMP floating. CRLF.
    static let google = crlf("""
        Received: by mail.example.in with SMTP id x; Tue, 03 Mar 2026 02:00:00 -0800
        From: Viewer <viewer@example.org>
        Sender: Google Calendar <calendar-notification@google.com>
        Reply-To: viewer@example.org
        To: asha@example.in
        Subject: Tentatively Accepted: Quarterly review @ Wed 4 Mar 2026 2pm - 3pm (IST)
        MIME-Version: 1.0
        Content-Type: multipart/mixed; boundary="000000000000aa11bb22cc33dd44"

        --000000000000aa11bb22cc33dd44
        Content-Type: multipart/alternative; boundary="000000000000ee55ff6600778899"

        --000000000000ee55ff6600778899
        Content-Type: text/plain; charset="UTF-8"; format=flowed; delsp=yes

        Viewer has tentatively accepted this invitation.

        --000000000000ee55ff6600778899
        Content-Type: text/calendar; charset="UTF-8"; method=REPLY
        Content-Transfer-Encoding: 7bit

        BEGIN:VCALENDAR
        PRODID:-//Google Inc//Google Calendar 70.9054//EN
        VERSION:2.0
        CALSCALE:GREGORIAN
        METHOD:REPLY
        BEGIN:VEVENT
        DTSTART:20260304T083000Z
        DTEND:20260304T093000Z
        DTSTAMP:20260303T100000
        ORGANIZER;CN=Asha Rao:mailto:asha@example.in
        UID:room-42@meet.example.in
        ATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT=TENTATIVE;CN=Viewer;X
         -NUM-GUESTS=0:mailto:viewer@example.org
        COMMENT:
        SEQUENCE:0
        STATUS:CONFIRMED
        SUMMARY:Quarterly review
        END:VEVENT
        END:VCALENDAR

        --000000000000ee55ff6600778899--
        --000000000000aa11bb22cc33dd44
        Content-Type: application/ics; name="invite.ics"
        Content-Disposition: attachment; filename="invite.ics"
        Content-Transfer-Encoding: base64

        QkVHSU46VkNBTEVOREFSDQpFTkQ6VkNBTEVOREFSDQo=
        --000000000000aa11bb22cc33dd44--
        """)

    /// Apple Mail / macOS Calendar: no method= parameter, quoted-printable calendar with soft breaks, bare LF
    /// line ends throughout, an attendee answering through a delegate (SENT-BY).
    static let apple = Array("""
        Content-Type: multipart/alternative; boundary=Apple-Mail-5B1F2A3C-1D2E-4F50-9A6B-7C8D9E0F1A2B
        Subject: Accepted: Quarterly review
        Mime-Version: 1.0 (Mac OS X Mail 16.0)
        From: "Sunil Kumar" <sunil@example.in>
        Sender: "Office of Sunil" <office.sunil@example.in>
        To: asha@example.in

        --Apple-Mail-5B1F2A3C-1D2E-4F50-9A6B-7C8D9E0F1A2B
        Content-Transfer-Encoding: 7bit
        Content-Type: text/plain;
        \tcharset=us-ascii

        Accepted
        --Apple-Mail-5B1F2A3C-1D2E-4F50-9A6B-7C8D9E0F1A2B
        Content-Transfer-Encoding: quoted-printable
        Content-Type: text/calendar;
        \tcharset=utf-8

        BEGIN:VCALENDAR=0AMETHOD:REPLY
        VERSION:2.0
        PRODID:-//Apple Inc.//macOS 15.3//EN
        BEGIN:VEVENT
        UID:room-42@meet.example.in
        DTSTAMP:20260301T120000Z
        SEQUENCE:2
        ATTENDEE;CN=3D"Sunil Kumar";PARTSTAT=3DACCEPTED;SENT-BY=3D"mailto:office.sun=
        il@example.in":mailto:sunil@example.in
        COMMENT:Will join from the district office =E2=80=94 r=C3=A9union room
        END:VEVENT
        END:VCALENDAR

        --Apple-Mail-5B1F2A3C-1D2E-4F50-9A6B-7C8D9E0F1A2B--

        """.utf8)

    static var all: [(String, [UInt8])] {
        [("thunderbird", thunderbird), ("outlook", outlook), ("google", google), ("apple", apple)]
    }
}

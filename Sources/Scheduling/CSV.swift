import Foundation

/// CSV as spreadsheets read it (RFC 4180, CRLF line ends), for reports and exports whose fields come from people.
public enum CSV {
    /// Quoted when it holds a comma, quote or line break; text a spreadsheet would run as a formula (=, +, -, @, tab
    /// or CR first, as names and comments come from people) gets a leading apostrophe.
    public static func field(_ value: String) -> String {
        var value = value
        if let first = value.first, "=+-@\t\r".contains(first) { value = "'" + value }
        guard value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return value }
        return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// One line: the fields, escaped, with its CRLF.
    public static func row(_ fields: [String]) -> String {
        fields.map(field).joined(separator: ",") + "\r\n"
    }
}

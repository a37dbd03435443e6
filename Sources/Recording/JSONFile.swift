import Foundation

/// The JSON files beside a recording's tracks (`recording.json`, its partial checkpoint, `composition.json`):
/// written to a temporary name and renamed over the old one, so a reader (the admin API, another process, the next
/// start after a crash) never sees half of one.
enum JSONFile {
    static func write(_ value: some Encodable, folder: String, name: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        let data = try encoder.encode(value)
        let temporary = "\(folder)/.\(name).\(getpid()).tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: data, attributes: [.posixPermissions: 0o640]) else {
            throw RecordingError.io("cannot write \(temporary)")
        }
        guard rename(temporary, "\(folder)/\(name)") == 0 else {
            unlink(temporary)
            throw RecordingError.io("cannot replace \(folder)/\(name): \(String(cString: strerror(errno)))")
        }
    }

    static func read<Value: Decodable>(_ type: Value.Type, folder: String, name: String) -> Value? {
        guard let data = FileManager.default.contents(atPath: "\(folder)/\(name)") else { return nil }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try? decoder.decode(type, from: data)
    }
}

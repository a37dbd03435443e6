import Foundation
import Testing
@testable import Signalling

@Suite struct AdminKeyTests {
    static func temporaryDirectory() -> String {
        NSTemporaryDirectory() + "sabha-admin-\(UInt64.random(in: 0...UInt64.max))"
    }

    @Test func createsAPrivateRandomKeyOnceThenReloadsIt() throws {
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/" + AdminKey.fileName
        let created = try AdminKey.load(option: nil, environment: [:], dataDirectory: directory)
        #expect(created.origin == .created(path: path))
        #expect(created.value.count == 43)  // 32 bytes, base64url without padding
        #expect(created.value.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)

        let reloaded = try AdminKey.load(option: nil, environment: [:], dataDirectory: directory)
        #expect(reloaded.origin == .file(path: path))
        #expect(reloaded.value == created.value)

        let other = try AdminKey.load(option: nil, environment: [:], dataDirectory: Self.temporaryDirectory() + "-b")
        #expect(other.value != created.value)
        if case .created(let otherPath) = other.origin { try? FileManager.default.removeItem(atPath: (otherPath as NSString).deletingLastPathComponent) }
    }

    @Test func theOptionWinsOverTheEnvironmentWhichWinsOverTheFile() throws {
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let stored = try AdminKey.load(option: nil, environment: [:], dataDirectory: directory)
        let environment = [AdminKey.environmentVariable: "from-the-environment-0123"]
        let fromEnvironment = try AdminKey.load(option: nil, environment: environment, dataDirectory: directory)
        #expect(fromEnvironment.value == "from-the-environment-0123" && fromEnvironment.origin == .environment)
        let fromOption = try AdminKey.load(option: "from-the-command-line-0123", environment: environment, dataDirectory: directory)
        #expect(fromOption.value == "from-the-command-line-0123" && fromOption.origin == .option)
        // An empty variable counts as unset.
        #expect(try AdminKey.load(option: nil, environment: [AdminKey.environmentVariable: ""], dataDirectory: directory).value == stored.value)
        #expect(throws: SignallingError.self) { try AdminKey.load(option: "short", environment: [:], dataDirectory: directory) }
        #expect(throws: SignallingError.self) { try AdminKey.load(option: "has a space in the middle", environment: [:], dataDirectory: directory) }
    }

    @Test func aGeneratedKeyNeverStartsWithADashThatACommandLineWouldTakeForAnOption() {
        // One key in 64 would without the check; 2000 keys miss it with odds of about 1 in 10^14.
        let keys = (0..<2000).map { _ in AdminKey.generated() }
        #expect(keys.allSatisfy { !$0.hasPrefix("-") && $0.count == 43 })
        #expect(Set(keys).count == keys.count)
    }

    @Test func comparesWholeKeysOnly() {
        let key = AdminKey("correct-horse-battery-staple")
        #expect(key.matches("correct-horse-battery-staple"))
        #expect(!key.matches("correct-horse-battery-stapl"))
        #expect(!key.matches("correct-horse-battery-staple!"))
        #expect(!key.matches("Correct-horse-battery-staple"))
        #expect(!key.matches(""))
        #expect(AdminKey.constantTimeEqual([], []))
        #expect(!AdminKey.constantTimeEqual([1, 2, 3], [1, 2, 4]))
        #expect(!AdminKey.constantTimeEqual([0], [0, 0]))  // trailing zero bytes are not ignored
        #expect(!AdminKey.constantTimeEqual(Array(repeating: 0, count: 256), []))  // lengths differing by 256 differ
        #expect(!key.description.contains("staple"))
    }

    @Test func authorizationHeadersGetMissingOrInvalidProblems() {
        let key = AdminKey("correct-horse-battery-staple")
        let cases: [(String?, String?)] = [
            (nil, "admin-key-missing"),
            ("Basic Y29ycmVjdA==", "admin-key-missing"),
            ("Bearer ", "admin-key-missing"),
            ("Bearer wrong-key", "admin-key-invalid"),
            ("Bearer correct-horse-battery-staple", nil),
            ("bearer correct-horse-battery-staple", nil),
        ]
        for (header, expected) in cases {
            do {
                try key.authorize(header)
                #expect(expected == nil, "\(header ?? "nil") was accepted")
            } catch {
                #expect(error.code == expected && error.statusCode == 401, "\(header ?? "nil")")
            }
        }
    }
}

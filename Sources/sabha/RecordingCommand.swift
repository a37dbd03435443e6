import ArgumentParser
import Composition
import Foundation
import Recording

/// `sabha recording …`: compose a recording folder here, or list recordings and follow their composition on a
/// running server.
struct RecordingCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recording",
        abstract: "Compose recordings into one file, list them, and follow their composition.",
        discussion: "list, status and download talk to a running server's admin API, as 'sabha room' does; compose works on a recording's folder directly (<data-dir>/recordings/<room>-<time>-<id>).",
        subcommands: [Compose.self, List.self, Status.self, Download.self])

    struct Compose: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compose a recording's folder into composed.webm (VP8 + Opus) and audio.opus, with a progress bar.",
            discussion: "Runs here, at the priority of this command; a server composes each recording by itself when it stops. Writes composition.json too, so the server lists the result.")

        @Argument(help: "The recording's folder (it holds recording.json and tracks/).")
        var folder: String

        @Option(help: "Width and height of the picture, e.g. 1280x720.")
        var size = "1280x720"

        @Option(help: "Frames per second of the composed video.")
        var fps = 15

        func run() async throws {
            var settings = Composer.Settings()
            let sides = size.split(separator: "x").compactMap { Int($0) }
            guard sides.count == 2, (160...3840).contains(sides[0]), (120...2160).contains(sides[1]), sides[0] % 2 == 0, sides[1] % 2 == 0 else {
                throw ValidationError("--size must be WIDTHxHEIGHT, even, between 160x120 and 3840x2160")
            }
            guard (1...60).contains(fps) else { throw ValidationError("--fps must be 1...60") }
            (settings.width, settings.height, settings.fps) = (sides[0], sides[1], fps)
            let bar = ProgressBar(label: "composing")
            let report: CompositionReport
            do {
                try CompositionReport(state: .running).write(folder: folder)
                report = try Composer(folder: folder, settings: settings).compose(progress: { bar.show($0) })
                try report.write(folder: folder)
            } catch let error as CompositionError {
                try? CompositionReport(state: .failed, error: error.description).write(folder: folder)
                throw ValidationError("cannot compose \(folder): \(error)")
            }
            bar.done()
            let duration = Double(report.duration ?? 0) / 1000, elapsed = Double(report.elapsedMs ?? 0) / 1000
            print(String(format: "composed %@ of meeting in %.1f s (%.1fx real time): %@/%@ and %@", Self.clock(duration), elapsed,
                         elapsed > 0 ? duration / elapsed : 0, folder, CompositionReport.composedFile, CompositionReport.audioFile))
            for warning in report.warnings ?? [] { print("warning: \(warning)") }
        }

        static func clock(_ seconds: Double) -> String {
            let whole = Int(seconds.rounded())
            return whole >= 3600 ? String(format: "%d:%02d:%02d", whole / 3600, whole / 60 % 60, whole % 60) : String(format: "%d:%02d", whole / 60, whole % 60)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the finished recordings of a running server, newest first.")

        @OptionGroup var client: AdminClientOptions

        func run() async throws {
            let data = try await client.request("GET", "/api/recordings")
            if client.json { return client.printRaw(data) }
            let entries = try RecordingCommand.decoder.decode([RecordingLibrary.Entry].self, from: data)
            guard !entries.isEmpty else { return print("No recordings.") }
            print("ID          ROOM                 STARTED           LENGTH   SIZE      COMPOSITION")
            for entry in entries {
                print([entry.id.padding(toLength: 10, withPad: " ", startingAt: 0), entry.room.padding(toLength: 20, withPad: " ", startingAt: 0),
                       RoomCommand.List.format(entry.startedAt).padding(toLength: 16, withPad: " ", startingAt: 0),
                       Compose.clock(Double(entry.duration) / 1000).padding(toLength: 7, withPad: " ", startingAt: 0),
                       ByteCountFormatter.string(fromByteCount: entry.bytes, countStyle: .file).padding(toLength: 8, withPad: " ", startingAt: 0),
                       RecordingCommand.describe(entry.composition)].joined(separator: "  "))
            }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show where a recording's composition stands; --wait follows it with a progress bar until it ends.")

        @OptionGroup var client: AdminClientOptions

        @Argument(help: "The recording's id (r-…).")
        var id: String

        @Flag(help: "Follow the composition until it is done or failed (exit 1 when it failed).")
        var wait = false

        @Option(help: "Give up waiting after this many seconds.")
        var timeout = 3_600

        func run() async throws {
            let bar = ProgressBar(label: "composing \(id)")
            let deadline = Date().addingTimeInterval(Double(timeout))
            while true {
                let data = try await client.request("GET", "/api/recordings/\(AdminClientOptions.pathSegment(id))")
                let entry = try RecordingCommand.decoder.decode(RecordingLibrary.Entry.self, from: data)
                let state = entry.composition?.state
                if !wait || state == nil || state == .done || state == .failed || Date() > deadline {
                    if wait { bar.done() }
                    if client.json { return client.printRaw(data) }
                    print("\(entry.id) \(entry.room): \(RecordingCommand.describe(entry.composition))")
                    for file in entry.files { print("  \(file)") }
                    if state == .failed || (wait && state != .done) { throw ExitCode(1) }
                    return
                }
                bar.show(entry.composition?.progress ?? 0)
                try await Task.sleep(for: .milliseconds(500))
            }
        }
    }

    struct Download: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Download a recording: the composed file, the sound alone, or every track as a tar archive.")

        @OptionGroup var client: AdminClientOptions

        @Argument(help: "The recording's id (r-…).")
        var id: String

        @Option(help: "composed (VP8 + Opus WebM), audio (Ogg Opus) or tracks (tar).")
        var kind = "composed"

        @Option(name: .shortAndLong, help: "Where to write it (default: <id>-composed.webm, <id>-audio.opus or <id>-tracks.tar).")
        var output: String?

        func run() async throws {
            guard let kind = RecordingLibrary.Kind(rawValue: kind) else { throw ValidationError("--kind must be composed, audio or tracks") }
            let data = try await client.request("GET", "/api/recordings/\(AdminClientOptions.pathSegment(id))/file?kind=\(kind.rawValue)")
            let path = output ?? "\(id)-\(kind == .composed ? "composed.webm" : kind == .audio ? "audio.opus" : "tracks.tar")"
            guard FileManager.default.createFile(atPath: path, contents: data) else { throw ValidationError("cannot write \(path)") }
            print("wrote \(path) (\(ByteCountFormatter.string(fromByteCount: Int64(data.count), countStyle: .file)))")
        }
    }

    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }()

    static func describe(_ composition: RecordingLibrary.Composition?) -> String {
        guard let composition else { return "not composed" }
        switch composition.state {
        case .running: return String(format: "running, %.0f %%", composition.progress * 100)
        case .failed: return "failed: \(composition.error ?? "unknown")"
        default: return composition.state.rawValue
        }
    }
}

import ArgumentParser
import Logging
import MediaCore

/// `sabha serve`: the media engine, the HTTP API and the web client in one process. The options (`ServeOptions`) are
/// read into `ServeSettings`; `SabhaApplication` builds and runs the rest.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the Sabha server.",
        discussion: "Every option can also be set with the environment variable named after it (SABHA_HTTP, SABHA_RTC, ...); the option wins.")

    @OptionGroup var options: ServeOptions

    func run() async throws {
        let levelName = Settings.value(options.logLevel, env: "SABHA_LOG_LEVEL", default: "info")
        guard let level = Logger.Level(rawValue: levelName) else {
            throw ValidationError("log level '\(levelName)' is not one of trace, debug, info, notice, warning, error")
        }
        let format = Settings.value(options.logFormat, env: "SABHA_LOG_FORMAT", default: "text")
        guard ["text", "json"].contains(format) else { throw ValidationError("--log-format '\(format)' is not text or json") }
        LoggingSystem.bootstrap { label in
            if format == "json" {
                var handler = JSONLogHandler(label: label)
                handler.logLevel = level
                return handler
            }
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        var settings = try ServeSettings(options)
        if format == "json" {
            settings.media.logHandler = { line in JSONLogHandler.write(label: "sabha.media", level: .notice, message: line) }
        }
        let application = try await SabhaApplication.build(settings, logger: Logger(label: "sabha"))
        try await application.run()
    }
}

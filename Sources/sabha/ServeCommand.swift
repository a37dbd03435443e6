import ArgumentParser
import Logging

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
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let settings = try ServeSettings(options)
        let application = try await SabhaApplication.build(settings, logger: Logger(label: "sabha"))
        try await application.run()
    }
}

import ArgumentParser

@main
struct Sabha: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sabha",
        abstract: "Self-hosted video conferencing: an SFU with WHIP/WHEP and a browser client.",
        subcommands: [ServeCommand.self, TokenCommand.self, RoomCommand.self, MeetingCommand.self,
                      BackupCommand.self, RestoreCommand.self, PruneCommand.self, CopyStoreCommand.self, RecordingCommand.self, VersionCommand.self, DoctorCommand.self])
}

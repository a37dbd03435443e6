import Foundation
import PostgresNIO

/// The PostgreSQL schema: the same tables and columns as the SQLite store's migrator (`SQLiteStore.migrator`), in
/// PostgreSQL's types. Each released change is a new named migration at the end; applied names are kept in
/// `sabha_migrations`. Nodes starting together take turns (an advisory lock), so each migration runs once.
enum PostgresSchema {
    static let migrations: [(name: String, sql: [String])] = [
        ("pg-v1", [
            """
            CREATE TABLE room (
                name text PRIMARY KEY, title text NOT NULL, createdAt timestamptz NOT NULL,
                source text NOT NULL CHECK (source IN ('api', 'join')), endedAt timestamptz,
                closedAt timestamptz, closedBy text,
                lobby boolean NOT NULL DEFAULT false, waitForHost boolean NOT NULL DEFAULT false)
            """,
            """
            CREATE TABLE audit (
                id bigserial PRIMARY KEY, at timestamptz NOT NULL, room text NOT NULL, identity text NOT NULL,
                participant text NOT NULL, event text NOT NULL, address text, actor text, detail text)
            """,
            "CREATE INDEX audit_room_at ON audit (room, at)",
            """
            CREATE TABLE roomRemoval (
                room text NOT NULL, identity text NOT NULL, name text NOT NULL, removedAt timestamptz NOT NULL,
                removedBy text NOT NULL, PRIMARY KEY (room, identity))
            """,
            "CREATE TABLE revokedLink (id text PRIMARY KEY, room text NOT NULL, revokedAt timestamptz NOT NULL)",
            """
            CREATE TABLE chatMessage (
                id bigserial PRIMARY KEY, room text NOT NULL, at timestamptz NOT NULL, participant text NOT NULL,
                identity text NOT NULL, name text NOT NULL, text text NOT NULL)
            """,
            "CREATE INDEX chatMessage_room_id ON chatMessage (room, id)",
            """
            CREATE TABLE meeting (
                id text PRIMARY KEY, uid text NOT NULL UNIQUE, room text NOT NULL, source text NOT NULL,
                title text NOT NULL, description text NOT NULL, start timestamptz NOT NULL, "end" timestamptz NOT NULL,
                timeZone text NOT NULL, organizerName text NOT NULL, organizerEmail text NOT NULL,
                organizerLink text NOT NULL, sequence bigint NOT NULL, status text NOT NULL,
                createdAt timestamptz NOT NULL, updatedAt timestamptz NOT NULL, resourceHref text UNIQUE,
                resourceETag text, calendarETag text, lobby boolean NOT NULL DEFAULT false,
                report text NOT NULL DEFAULT 'pending', reportedAt timestamptz)
            """,
            "CREATE INDEX meeting_room ON meeting (room)",
            """
            CREATE TABLE meetingAttendee (
                meetingId text NOT NULL REFERENCES meeting (id) ON DELETE CASCADE, email text NOT NULL,
                name text NOT NULL, role text NOT NULL, status text NOT NULL, link text NOT NULL,
                position bigint NOT NULL, language text NOT NULL DEFAULT 'en',
                answer text NOT NULL DEFAULT 'NEEDS-ACTION', answerComment text, answeredAt timestamptz,
                answerSource text, calendarAnswer text, PRIMARY KEY (meetingId, email))
            """,
            """
            CREATE TABLE outbox (
                id bigserial PRIMARY KEY, meetingId text NOT NULL REFERENCES meeting (id) ON DELETE CASCADE,
                kind text NOT NULL, recipient text, method text, sequence bigint NOT NULL, key text NOT NULL UNIQUE,
                payload bytea NOT NULL, state text NOT NULL, attempts bigint NOT NULL, lastError text,
                nextAttemptAt timestamptz NOT NULL, createdAt timestamptz NOT NULL, sentAt timestamptz)
            """,
            "CREATE INDEX outbox_due ON outbox (state, nextAttemptAt)",
            """
            CREATE TABLE mailboxCursor (
                mailbox text PRIMARY KEY, uidValidity bigint NOT NULL, lastUID bigint NOT NULL,
                updatedAt timestamptz NOT NULL)
            """,
        ]),
        // Several nodes on one database (issue 20): heartbeats, which node holds each room, single-instance jobs,
        // and the secrets every node shares.
        ("pg-v2-cluster", [
            "CREATE TABLE clusterNode (id text PRIMARY KEY, startedAt timestamptz NOT NULL, heartbeatAt timestamptz NOT NULL)",
            "CREATE TABLE roomLease (room text PRIMARY KEY, node text NOT NULL, expiresAt timestamptz NOT NULL)",
            "CREATE INDEX roomLease_node ON roomLease (node)",
            "CREATE TABLE jobLease (name text PRIMARY KEY, holder text NOT NULL, expiresAt timestamptz NOT NULL)",
            "CREATE TABLE sharedSecret (name text PRIMARY KEY, value bytea NOT NULL)",
        ]),
        ("pg-v3-viewers", [
            "ALTER TABLE clusterNode ADD COLUMN viewers bigint NOT NULL DEFAULT 0",
            "ALTER TABLE clusterNode ADD COLUMN maxViewers bigint NOT NULL DEFAULT 0",
            "ALTER TABLE clusterNode ADD COLUMN roomPeople text NOT NULL DEFAULT '{}'",
        ]),
        ("pg-v4-publishers", [
            "ALTER TABLE clusterNode ADD COLUMN publishers bigint NOT NULL DEFAULT 0",
            "ALTER TABLE clusterNode ADD COLUMN maxPublishers bigint NOT NULL DEFAULT 0",
        ]),
    ]

    /// Brings the schema up to date; returns the names of the migrations it applied.
    @discardableResult
    static func migrate(_ database: PostgresDatabase) throws -> [String] {
        try database.withSession { session in
            try session.execute("SELECT pg_advisory_lock(\(PostgresDatabase.migrationLockKey))")
            defer { _ = try? session.execute("SELECT pg_advisory_unlock(\(PostgresDatabase.migrationLockKey))") }
            try session.execute("CREATE TABLE IF NOT EXISTS sabha_migrations (name text PRIMARY KEY, appliedAt timestamptz NOT NULL)")
            let applied = try Set(appliedMigrations(session))
            let unknown = unknownMigrations(applied)
            guard unknown.isEmpty else {
                throw PostgresStoreError("the database was set up by a newer Sabha (migrations \(unknown.joined(separator: ", ")) are unknown to this one)")
            }
            var done: [String] = []
            for migration in migrations where !applied.contains(migration.name) {
                try session.execute("BEGIN")
                do {
                    for statement in migration.sql { try session.execute(statement) }
                    try session.execute("INSERT INTO sabha_migrations (name, appliedAt) VALUES ($1, $2)", [.text(migration.name), .date(Date())])
                    try session.execute("COMMIT")
                } catch {
                    _ = try? session.execute("ROLLBACK")
                    throw PostgresStoreError("migration \(migration.name) failed: \(error)")
                }
                done.append(migration.name)
            }
            return done
        }
    }

    /// The names applied, oldest first.
    static func appliedMigrations(_ database: PostgresDatabase) throws -> [String] {
        try database.withSession(appliedMigrations)
    }

    static func appliedMigrations(_ session: PostgresSession) throws -> [String] {
        try session.query("SELECT name FROM sabha_migrations ORDER BY appliedAt, name").map { try $0.makeRandomAccess()[0].decode(String.self) }
    }

    /// Applied migrations this Sabha does not know (a newer one set the database up), sorted.
    static func unknownMigrations(_ applied: Set<String>) -> [String] {
        applied.subtracting(migrations.map(\.name)).sorted()
    }
}

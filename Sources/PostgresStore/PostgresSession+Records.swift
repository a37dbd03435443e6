import PostgresNIO

/// Reading and writing whole records (`RecordCoding`) in one statement.
extension PostgresSession {
    /// The rows of `sql`, decoded.
    func fetch<Record: Decodable>(_ type: Record.Type, _ sql: String, _ values: [SQLValue] = []) throws -> [Record] {
        try RecordCoding.decodeAll(type, from: try query(sql, values))
    }

    func fetchOne<Record: Decodable>(_ type: Record.Type, _ sql: String, _ values: [SQLValue] = []) throws -> Record? {
        try fetch(type, sql, values).first
    }

    /// Inserts `record` into `table`; a nil `id` is left to the table's sequence, and the id given is returned.
    @discardableResult
    func insert<Record: Encodable>(_ record: Record, into table: String) throws -> Int64? {
        let all = try RecordCoding.columns(of: record)
        let columns = all.filter { !($0.name == "id" && $0.value == nil) }
        let returnsID = columns.count != all.count
        let rows = try query(Self.insertSQL(columns, into: table) + (returnsID ? " RETURNING id" : ""), try RecordCoding.bindings(columns))
        guard returnsID, let row = rows.first else { return nil }
        return try row.makeRandomAccess()[0].decode(Int64.self)
    }

    /// Inserts `record` unless a row with the same key (any unique constraint) exists; true when it was inserted.
    @discardableResult
    func insertIfAbsent<Record: Encodable>(_ record: Record, into table: String) throws -> Bool {
        let columns = try RecordCoding.columns(of: record).filter { !($0.name == "id" && $0.value == nil) }
        return try !query(Self.insertSQL(columns, into: table) + " ON CONFLICT DO NOTHING RETURNING 1", try RecordCoding.bindings(columns)).isEmpty
    }

    private static func insertSQL(_ columns: [RecordCoding.Column], into table: String) -> String {
        let names = columns.map { RecordCoding.quoted($0.name) }.joined(separator: ", ")
        let placeholders = (1...columns.count).map { "$\($0)" }.joined(separator: ", ")
        return "INSERT INTO \(table) (\(names)) VALUES (\(placeholders))"
    }

    /// Writes every column of `record` to the row with the same `key` columns; returns how many rows changed.
    @discardableResult
    func update<Record: Encodable>(_ record: Record, in table: String, key: [String]) throws -> Int {
        let columns = try RecordCoding.columns(of: record)
        let keyNames = Set(key.map { $0.lowercased() })
        let changing = columns.filter { !keyNames.contains($0.name) }
        let keys = columns.filter { keyNames.contains($0.name) }
        precondition(keys.count == keyNames.count, "\(table): key columns \(key) not all in the record")
        let set = changing.enumerated().map { "\(RecordCoding.quoted($0.element.name)) = $\($0.offset + 1)" }.joined(separator: ", ")
        let condition = keys.enumerated().map { "\(RecordCoding.quoted($0.element.name)) = $\(changing.count + $0.offset + 1)" }
            .joined(separator: " AND ")
        return try execute("UPDATE \(table) SET \(set) WHERE \(condition)", try RecordCoding.bindings(changing + keys))
    }
}

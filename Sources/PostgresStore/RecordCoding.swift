import Foundation
import PostgresNIO

/// The stored records are `Codable` with one property per column (GRDB reads and writes them that way); these map
/// them onto PostgreSQL rows, so both stores share one definition of each record. Column names are the property
/// names in lower case (PostgreSQL folds unquoted names; every name we generate is quoted).
enum RecordCoding {
    /// `record` as columns and their values, in order.
    static func columns<Record: Encodable>(of record: Record) throws -> [Column] {
        let encoder = ColumnEncoder()
        try record.encode(to: encoder)
        return encoder.storage.columns
    }

    /// One column of a record and its value (nil: NULL).
    struct Column {
        var name: String
        var value: Any?
    }

    static func bindings(_ columns: [Column]) throws -> PostgresBindings {
        var binds = PostgresBindings(capacity: columns.count)
        for column in columns {
            switch column.value {
            case nil: binds.appendNull()
            case let value as String: binds.append(value)
            case let value as Bool: binds.append(value)
            case let value as Int: binds.append(value)
            case let value as Int64: binds.append(value)
            case let value as Double: binds.append(value)
            case let value as Date: binds.append(value)
            case let value as Data: try binds.append(value)
            default:
                throw EncodingError.invalidValue(column.value as Any, .init(codingPath: [], debugDescription: "column '\(column.name)' has a type the PostgreSQL store does not map"))
            }
        }
        return binds
    }

    static func decode<Record: Decodable>(_ type: Record.Type, from row: PostgresRow) throws -> Record {
        try Record(from: RowDecoder(row: row.makeRandomAccess()))
    }

    static func decodeAll<Record: Decodable>(_ type: Record.Type, from rows: [PostgresRow]) throws -> [Record] {
        try rows.map { try decode(type, from: $0) }
    }

    static func column(_ key: some CodingKey) -> String { key.stringValue.lowercased() }

    /// `"name"`: quoted, so reserved words ("end") need no care.
    static func quoted(_ name: String) -> String { "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
}

// MARK: - Encoding

/// Collects the columns of one record.
private final class ColumnStorage {
    var columns: [RecordCoding.Column] = []

    func append(_ name: String, _ value: Any?) throws {
        columns.append(RecordCoding.Column(name: name, value: value))
    }
}

private struct ColumnEncoder: Encoder {
    let storage = ColumnStorage()
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(Columns(storage: storage))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer { fatalError("a stored record is a keyed container") }
    func singleValueContainer() -> any SingleValueEncodingContainer { fatalError("a stored record is a keyed container") }

    struct Columns<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let storage: ColumnStorage
        var codingPath: [any CodingKey] { [] }

        mutating func encodeNil(forKey key: Key) throws { try storage.append(RecordCoding.column(key), nil) }

        mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
            try storage.append(RecordCoding.column(key), try Self.primitive(value))
        }

        // Synthesised Codable leaves a nil optional out; a column must still be written (an UPDATE to NULL).
        mutating func encodeIfPresent<T: Encodable>(_ value: T?, forKey key: Key) throws {
            guard let value else { return try storage.append(RecordCoding.column(key), nil) }
            try storage.append(RecordCoding.column(key), try Self.primitive(value))
        }
        mutating func encodeIfPresent(_ value: String?, forKey key: Key) throws { try storage.append(RecordCoding.column(key), value) }
        mutating func encodeIfPresent(_ value: Bool?, forKey key: Key) throws { try storage.append(RecordCoding.column(key), value) }
        mutating func encodeIfPresent(_ value: Int?, forKey key: Key) throws { try storage.append(RecordCoding.column(key), value) }
        mutating func encodeIfPresent(_ value: Int64?, forKey key: Key) throws { try storage.append(RecordCoding.column(key), value) }
        mutating func encodeIfPresent(_ value: Double?, forKey key: Key) throws { try storage.append(RecordCoding.column(key), value) }

        /// A column's value: a primitive as it is; anything else (a String enum, an Optional) through its own encoding.
        static func primitive<T: Encodable>(_ value: T) throws -> Any? {
            switch value {
            case is String, is Bool, is Int, is Int64, is Double, is Date, is Data: return value
            default:
                let single = SingleValue()
                try value.encode(to: single)
                return single.value
            }
        }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
            fatalError("a stored record has no nested containers")
        }
        mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer { fatalError("a stored record has no nested containers") }
        mutating func superEncoder() -> any Encoder { fatalError("a stored record has no super encoder") }
        mutating func superEncoder(forKey key: Key) -> any Encoder { fatalError("a stored record has no super encoder") }
    }

    /// Takes the one value a raw-value enum or an Optional encodes.
    final class SingleValue: Encoder, SingleValueEncodingContainer {
        var value: Any?
        var codingPath: [any CodingKey] { [] }
        var userInfo: [CodingUserInfoKey: Any] { [:] }

        func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> { fatalError("a column holds one value") }
        func unkeyedContainer() -> any UnkeyedEncodingContainer { fatalError("a column holds one value") }
        func singleValueContainer() -> any SingleValueEncodingContainer { self }

        func encodeNil() throws { value = nil }
        func encode<T: Encodable>(_ value: T) throws { self.value = try Columns<AnyKey>.primitive(value) }
    }
}

private struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

// MARK: - Decoding

private struct RowDecoder: Decoder {
    let row: PostgresRandomAccessRow
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(Columns(row: row))
    }
    func unkeyedContainer() throws -> any UnkeyedDecodingContainer { throw Self.notKeyed }
    func singleValueContainer() throws -> any SingleValueDecodingContainer { throw Self.notKeyed }

    static let notKeyed = DecodingError.typeMismatch(PostgresRow.self, .init(codingPath: [], debugDescription: "a row decodes as a keyed record"))

    struct Columns<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let row: PostgresRandomAccessRow
        var codingPath: [any CodingKey] { [] }
        var allKeys: [Key] { row.compactMap { Key(stringValue: $0.columnName) } }

        func contains(_ key: Key) -> Bool { row.contains(RecordCoding.column(key)) }

        func cell(_ key: Key) throws -> PostgresCell {
            let name = RecordCoding.column(key)
            guard row.contains(name) else {
                throw DecodingError.keyNotFound(key, .init(codingPath: [], debugDescription: "no column '\(name)' in the row"))
            }
            return row[name]
        }

        func decodeNil(forKey key: Key) throws -> Bool { try cell(key).bytes == nil }

        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
            try CellDecoder(cell: try cell(key)).decode(type)
        }

        func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
            throw RowDecoder.notKeyed
        }
        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer { throw RowDecoder.notKeyed }
        func superDecoder() throws -> any Decoder { throw RowDecoder.notKeyed }
        func superDecoder(forKey key: Key) throws -> any Decoder { throw RowDecoder.notKeyed }
    }
}

/// One cell, as a primitive or as what a raw-value enum decodes from.
private struct CellDecoder: Decoder, SingleValueDecodingContainer {
    let cell: PostgresCell
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> { throw RowDecoder.notKeyed }
    func unkeyedContainer() throws -> any UnkeyedDecodingContainer { throw RowDecoder.notKeyed }
    func singleValueContainer() throws -> any SingleValueDecodingContainer { self }

    func decodeNil() -> Bool { cell.bytes == nil }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        do {
            switch type {
            case is String.Type: return try cell.decode(String.self) as! T
            case is Bool.Type: return try cell.decode(Bool.self) as! T
            case is Int.Type: return try cell.decode(Int.self) as! T
            case is Int64.Type: return try cell.decode(Int64.self) as! T
            case is Double.Type: return try cell.decode(Double.self) as! T
            case is Date.Type: return try cell.decode(Date.self) as! T
            case is Data.Type: return try cell.decode(Data.self) as! T
            default: return try T(from: self)
            }
        } catch let error as DecodingError {
            throw error
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "column '\(cell.columnName)': \(String(reflecting: error))"))
        }
    }
}

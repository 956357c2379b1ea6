import GRDB
import JobQueue
import Workflow

/// The column values of a new `job` row, and the decoding of stored rows back into ``JobRecord``s.
///
/// JSON columns hold `JSONValue` text, so object key order and integers beyond `Int64` (seeds up to
/// 2^64 − 1) survive the round trip.
struct JobRow: Sendable {
    let job: NewJob
    let prompt: String
    let extraData: String
    let outputsToExecute: String

    /// Serializes the JSON documents of `job` (outside the write transaction, to keep it short).
    init(_ job: NewJob) {
        self.job = job
        prompt = job.prompt.jsonString()
        extraData = job.extraData.jsonString()
        outputsToExecute = JSONValue(job.outputsToExecute).jsonString()
    }

    /// Inserts the job as pending; its `sequence` is `db.lastInsertedRowID` afterwards.
    func insert(_ db: Database) throws {
        try db.execute(sql: """
            INSERT INTO job (id, number, number_is_client_float, prompt, extra_data, outputs_to_execute,
                             create_time, owner, workflow_id, state, attempts)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0)
            """, arguments: [job.id, job.number, job.numberIsClientFloat, prompt, extraData, outputsToExecute,
                             job.createTime, job.owner, job.workflowID])
    }

    /// Decodes a full `job` row (`SELECT *`).
    /// - Throws: ``QueueStoreError/storage(_:)`` for an unknown state or malformed JSON.
    static func record(from row: Row) throws -> JobRecord {
        let outputsToExecute = try json(row, "outputs_to_execute").arrayValue?.compactMap(\.stringValue) ?? []
        let job = NewJob(
            id: try row.decode(forColumn: "id"),
            number: try row.decode(forColumn: "number"),
            numberIsClientFloat: try row.decode(forColumn: "number_is_client_float"),
            prompt: try json(row, "prompt"),
            extraData: try json(row, "extra_data"),
            outputsToExecute: outputsToExecute,
            createTime: try row.decode(forColumn: "create_time"),
            owner: try row.decode(forColumn: "owner"))
        var result: JobResult?
        if let outputs = try optionalJSON(row, "outputs") {
            result = JobResult(outputs: outputs, status: try optionalJSON(row, "status") ?? .null,
                               meta: try optionalJSON(row, "meta") ?? .null)
        }
        return JobRecord(
            job: job, state: try state(from: row), attempts: try row.decode(forColumn: "attempts"),
            sequence: try row.decode(forColumn: "sequence"), startTime: try row.decode(forColumn: "start_time"),
            endTime: try row.decode(forColumn: "end_time"), result: result,
            finishSequence: try row.decode(forColumn: "finish_sequence"))
    }

    /// Decodes the `state` column.
    static func state(from row: Row) throws -> JobState {
        let text: String = try row.decode(forColumn: "state")
        guard let state = JobState(rawValue: text) else { throw QueueStoreError.storage("Unknown job state '\(text)'") }
        return state
    }

    private static func json(_ row: Row, _ column: String) throws -> JSONValue {
        guard let value = try optionalJSON(row, column) else {
            throw QueueStoreError.storage("Column \(column) is NULL")
        }
        return value
    }

    private static func optionalJSON(_ row: Row, _ column: String) throws -> JSONValue? {
        guard let text: String = try row.decode(forColumn: column) else { return nil }
        do {
            return try JSONValue.parse(text)
        } catch {
            throw QueueStoreError.storage("Malformed JSON in column \(column): \(error)")
        }
    }
}

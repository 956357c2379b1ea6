import GRDB

extension SQLiteQueueStore {
    /// The schema, as an ordered list of migrations. Never edit a shipped migration; append a new one.
    ///
    /// One `job` table holds every job in every state. `sequence` is an `AUTOINCREMENT` rowid, so
    /// submission order is never reused, even after deletions. JSON documents (`prompt`, `extra_data`,
    /// `outputs_to_execute`, `outputs`, `status`, `meta`) are TEXT written by `JSONValue`, which keeps
    /// key order and 64-bit integers. `counter` holds the next finish sequence.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: job table") { db in
            try db.execute(sql: """
                CREATE TABLE job (
                    sequence INTEGER PRIMARY KEY AUTOINCREMENT,
                    id TEXT NOT NULL UNIQUE,
                    number REAL NOT NULL,
                    number_is_client_float INTEGER NOT NULL,
                    prompt TEXT NOT NULL,
                    extra_data TEXT NOT NULL,
                    outputs_to_execute TEXT NOT NULL,
                    create_time INTEGER NOT NULL,
                    owner TEXT,
                    workflow_id TEXT,
                    state TEXT NOT NULL,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    start_time INTEGER,
                    end_time INTEGER,
                    outputs TEXT,
                    status TEXT,
                    meta TEXT,
                    finish_sequence INTEGER
                );
                -- claimNext / pending(): WHERE state = 'pending' ORDER BY number, sequence
                CREATE INDEX job_run_order ON job(state, number, sequence);
                -- history(), pruneHistory(): finished jobs in completion order
                CREATE INDEX job_finish_order ON job(finish_sequence) WHERE finish_sequence IS NOT NULL;
                -- jobs(): default sort, and the workflow / owner filters
                CREATE INDEX job_create_order ON job(create_time, sequence);
                CREATE INDEX job_workflow ON job(workflow_id, create_time, sequence) WHERE workflow_id IS NOT NULL;
                CREATE INDEX job_owner ON job(owner, create_time, sequence) WHERE owner IS NOT NULL;

                CREATE TABLE counter (
                    name TEXT PRIMARY KEY,
                    value INTEGER NOT NULL
                ) WITHOUT ROWID;
                INSERT INTO counter (name, value) VALUES ('finish_sequence', 1);
                """)
        }
        migrator.registerMigration("v2: message queues") { db in
            try db.execute(sql: """
                -- The queue service (API edition): one row per queue with its next index, one per item.
                CREATE TABLE mq_queue (
                    name TEXT PRIMARY KEY,
                    next_index INTEGER NOT NULL
                ) WITHOUT ROWID;
                CREATE TABLE mq_item (
                    queue TEXT NOT NULL,
                    idx INTEGER NOT NULL,
                    priority INTEGER NOT NULL,
                    data BLOB NOT NULL,
                    tags TEXT NOT NULL,
                    deliveries INTEGER NOT NULL DEFAULT 0,
                    created_at INTEGER NOT NULL,
                    PRIMARY KEY (queue, idx)
                ) WITHOUT ROWID;
                """)
        }
        return migrator
    }
}

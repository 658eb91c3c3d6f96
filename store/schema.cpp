#include "store/schema.h"

namespace repro::runner {
namespace {

// Times are Unix seconds (UTC, REAL), as the `time` of events.jsonl; JSON columns are text that
// json_valid() accepts, so sqlite3's json_extract() and pandas' json_normalize read them.
const char* const kVersion1 = R"sql(
CREATE TABLE experiments (
  name        TEXT PRIMARY KEY,
  file        TEXT NOT NULL,
  file_sha256 TEXT NOT NULL,
  created     REAL NOT NULL,
  updated     REAL NOT NULL
);

CREATE TABLE runs (
  run_id   TEXT PRIMARY KEY,
  config   TEXT NOT NULL CHECK (json_valid(config)),
  run_dir  TEXT NOT NULL,
  status   TEXT NOT NULL DEFAULT 'pending'
           CHECK (status IN ('pending', 'running', 'done', 'failed', 'cancelled')),
  created  REAL NOT NULL,
  updated  REAL NOT NULL
) WITHOUT ROWID;

CREATE TABLE experiment_runs (
  experiment TEXT NOT NULL REFERENCES experiments(name) ON DELETE CASCADE,
  run_id     TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
  axes       TEXT NOT NULL CHECK (json_valid(axes)),
  position   INTEGER NOT NULL,
  PRIMARY KEY (experiment, run_id)
) WITHOUT ROWID;
CREATE INDEX experiment_runs_by_run ON experiment_runs(run_id);

CREATE TABLE tasks (
  task_id  TEXT PRIMARY KEY,
  run_id   TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
  kind     TEXT NOT NULL CHECK (kind IN ('train', 'sample', 'eval')),
  spec     TEXT NOT NULL CHECK (json_valid(spec)),
  state    TEXT NOT NULL DEFAULT 'pending'
           CHECK (state IN ('pending', 'running', 'done', 'failed', 'cancelled')),
  attempts INTEGER NOT NULL DEFAULT 0,
  created  REAL NOT NULL,
  updated  REAL NOT NULL
);
CREATE INDEX tasks_by_run ON tasks(run_id, state);

CREATE TABLE attempts (
  task_id   TEXT NOT NULL REFERENCES tasks(task_id) ON DELETE CASCADE,
  attempt   INTEGER NOT NULL CHECK (attempt >= 1),
  executor  TEXT NOT NULL CHECK (executor IN ('local', 'slurm')),
  job_id    TEXT,
  host      TEXT,
  gpus      TEXT,
  started   REAL,
  ended     REAL,
  exit_code INTEGER,
  log_path  TEXT,
  reason    TEXT,
  PRIMARY KEY (task_id, attempt)
) WITHOUT ROWID;

CREATE TABLE metrics (
  task_id TEXT NOT NULL REFERENCES tasks(task_id) ON DELETE CASCADE,
  name    TEXT NOT NULL,
  step    INTEGER NOT NULL,
  value   REAL NOT NULL,
  seq     INTEGER NOT NULL,
  PRIMARY KEY (task_id, name, step)
) WITHOUT ROWID;

CREATE TABLE results (
  result_id TEXT NOT NULL,
  run_id    TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
  task_id   TEXT REFERENCES tasks(task_id) ON DELETE SET NULL,
  metric    TEXT NOT NULL,
  value     REAL NOT NULL,
  recipe    TEXT NOT NULL CHECK (json_valid(recipe)),
  created   REAL NOT NULL,
  PRIMARY KEY (result_id, metric)
);
CREATE INDEX results_by_run ON results(run_id);

CREATE TABLE artifacts (
  task_id TEXT NOT NULL REFERENCES tasks(task_id) ON DELETE CASCADE,
  path    TEXT NOT NULL,
  sha256  TEXT,
  bytes   INTEGER,
  created REAL NOT NULL,
  PRIMARY KEY (task_id, path)
) WITHOUT ROWID;

CREATE TABLE provenance (
  run_id   TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
  task_id  TEXT REFERENCES tasks(task_id) ON DELETE CASCADE,
  key      TEXT NOT NULL,
  value    TEXT NOT NULL,
  recorded REAL NOT NULL
);
CREATE UNIQUE INDEX provenance_key ON provenance(run_id, ifnull(task_id, ''), key);
CREATE INDEX provenance_by_task ON provenance(task_id);
)sql";

// Ingest of events.jsonl (store/ingest.h): the non-metric records, how far each file has
// been read, and the lines that could not be read.
const char* const kVersion2 = R"sql(
CREATE TABLE task_events (
  task_id TEXT NOT NULL REFERENCES tasks(task_id) ON DELETE CASCADE,
  seq     INTEGER NOT NULL,
  type    TEXT NOT NULL,
  step    INTEGER,
  time    REAL,
  record  TEXT NOT NULL CHECK (json_valid(record)),
  PRIMARY KEY (task_id, seq)
) WITHOUT ROWID;

CREATE TABLE ingest_progress (
  task_id     TEXT NOT NULL REFERENCES tasks(task_id) ON DELETE CASCADE,
  file        TEXT NOT NULL,
  byte_offset INTEGER NOT NULL,
  lines       INTEGER NOT NULL,
  last_seq    INTEGER NOT NULL,
  updated     REAL NOT NULL,
  PRIMARY KEY (task_id, file)
) WITHOUT ROWID;

CREATE TABLE ingest_errors (
  task_id TEXT NOT NULL REFERENCES tasks(task_id) ON DELETE CASCADE,
  file    TEXT NOT NULL,
  line    INTEGER NOT NULL,
  message TEXT NOT NULL,
  created REAL NOT NULL,
  PRIMARY KEY (task_id, file, line)
) WITHOUT ROWID;
)sql";

// `repro status` reads every task of an experiment (state, kind, attempts), every run's status
// and directory, and every result: indexes that hold those columns spare it the tasks' specs,
// the runs' configs and the results' recipes (10,000 runs, 90,000 tasks: 36 MiB of rows), and
// give a run's results in (result_id, metric) order. tasks_by_run and results_by_run keep their
// former columns as prefixes.
const char* const kVersion3 = R"sql(
DROP INDEX tasks_by_run;
CREATE INDEX tasks_by_run ON tasks(run_id, state, kind, attempts, task_id);
CREATE INDEX runs_status ON runs(run_id, status, run_dir);
DROP INDEX results_by_run;
CREATE INDEX results_by_run ON results(run_id, result_id, metric, task_id, value);
)sql";

// `repro cancel` (runner/orchestrate/cancel.h): one row per run it names, taken by the `repro run`
// working in the project (it polls the waiting rows once per loop), or carried out by `repro cancel`
// itself when none is. The partial index keeps that poll to the waiting rows.
const char* const kVersion4 = R"sql(
CREATE TABLE cancel_requests (
  request_id      INTEGER PRIMARY KEY,
  run_id          TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
  force           INTEGER NOT NULL DEFAULT 0 CHECK (force IN (0, 1)),
  requested       REAL NOT NULL,
  handled         REAL,
  handled_by      TEXT CHECK (handled_by IN ('repro run', 'repro cancel', 'expired')),
  cancelled_tasks INTEGER NOT NULL DEFAULT 0,
  stopped_tasks   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX cancel_requests_waiting ON cancel_requests(request_id) WHERE handled IS NULL;
)sql";

}  // namespace

const std::vector<Migration>& schema_migrations() {
  static const std::vector<Migration> steps = {
      {1, "experiments, runs, tasks, attempts, metrics, results, artifacts, provenance", kVersion1},
      {2, "ingest of events.jsonl: task_events, ingest_progress, ingest_errors", kVersion2},
      {3, "covering indexes for repro status: tasks_by_run and results_by_run widened, runs_status", kVersion3},
      {4, "repro cancel: cancel_requests", kVersion4},
  };
  return steps;
}

int latest_schema_version() { return schema_migrations().back().version; }

}  // namespace repro::runner

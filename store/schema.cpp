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

// Stale runs (docs/database.md): the run ids of the experiment's latest expansion, replaced whole
// by each `repro run` (not a dry run). A run linked in experiment_runs but not listed here belongs
// to an earlier expansion (the file or a --set changed its config): reports leave it out. A listed
// run may not be in runs yet (`--only` puts a subset), hence no foreign key to runs. Existing links
// start out current.
const char* const kVersion5 = R"sql(
CREATE TABLE current_expansion (
  experiment TEXT NOT NULL REFERENCES experiments(name) ON DELETE CASCADE,
  run_id     TEXT NOT NULL,
  PRIMARY KEY (experiment, run_id)
) WITHOUT ROWID;
INSERT INTO current_expansion (experiment, run_id) SELECT experiment, run_id FROM experiment_runs;
)sql";

// Views for reading the store by hand (docs/database.md, "Views"): one row per run of an
// experiment, per result with the sampling settings it was measured at, and per point of a
// training curve, each with `stale` as runner::stale_run_sql (queries.h) computes it. Read-only
// conveniences: the code queries the tables.
const char* const kVersion6 = R"sql(
CREATE VIEW v_runs AS
SELECT er.experiment, er.run_id, er.position, er.axes,
       (EXISTS (SELECT 1 FROM current_expansion ce WHERE ce.experiment = er.experiment)
        AND NOT EXISTS (SELECT 1 FROM current_expansion ce
                        WHERE ce.experiment = er.experiment AND ce.run_id = er.run_id)) AS stale,
       r.status, r.run_dir, r.config, r.created, r.updated
FROM experiment_runs er JOIN runs r ON r.run_id = er.run_id;

CREATE VIEW v_results AS
SELECT er.experiment, res.run_id, er.position, er.axes,
       (EXISTS (SELECT 1 FROM current_expansion ce WHERE ce.experiment = er.experiment)
        AND NOT EXISTS (SELECT 1 FROM current_expansion ce
                        WHERE ce.experiment = er.experiment AND ce.run_id = er.run_id)) AS stale,
       res.result_id, res.metric, res.value,
       res.task_id AS eval_task, ts.task_id AS sample_task,
       json_extract(ts.spec, '$.checkpoint_step') AS iteration,
       json_extract(ts.spec, '$.steps') AS steps,
       json_extract(ts.spec, '$.sampler') AS sampler,
       json_extract(ts.spec, '$.eta') AS eta,
       json_extract(ts.spec, '$.ema') AS ema,
       json_extract(ts.spec, '$.num_samples') AS num_samples,
       json_extract(ts.spec, '$.seed') AS seed,
       res.recipe, res.created
FROM results res
JOIN experiment_runs er ON er.run_id = res.run_id
LEFT JOIN tasks te ON te.task_id = res.task_id
LEFT JOIN tasks ts ON ts.task_id = json_extract(te.spec, '$.samples_of');

CREATE VIEW v_curves AS
SELECT er.experiment, t.run_id,
       (EXISTS (SELECT 1 FROM current_expansion ce WHERE ce.experiment = er.experiment)
        AND NOT EXISTS (SELECT 1 FROM current_expansion ce
                        WHERE ce.experiment = er.experiment AND ce.run_id = er.run_id)) AS stale,
       m.task_id, m.name AS metric, m.step, m.value
FROM metrics m
JOIN tasks t ON t.task_id = m.task_id AND t.kind = 'train'
JOIN experiment_runs er ON er.run_id = t.run_id;
)sql";

}  // namespace

const std::vector<Migration>& schema_migrations() {
  static const std::vector<Migration> steps = {
      {1, "experiments, runs, tasks, attempts, metrics, results, artifacts, provenance", kVersion1},
      {2, "ingest of events.jsonl: task_events, ingest_progress, ingest_errors", kVersion2},
      {3, "covering indexes for repro status: tasks_by_run and results_by_run widened, runs_status", kVersion3},
      {4, "repro cancel: cancel_requests", kVersion4},
      {5, "stale runs: current_expansion", kVersion5},
      {6, "views for reading by hand: v_runs, v_results, v_curves", kVersion6},
  };
  return steps;
}

int latest_schema_version() { return schema_migrations().back().version; }

}  // namespace repro::runner

#!/usr/bin/python3
"""Reads an MLflow file store the way MLflow's FileStore does, and dumps what it read as JSON.

Usage: /usr/bin/python3 read_mlflow_store.py DIR OUT.json

Independent truth for `repro export mlflow` (tests/reports/mlflow_export_test.cpp). MLflow is not
packaged by Debian, so this transcribes the reading side of mlflow/store/tracking/file_store.py
and mlflow/utils/validation.py (MLflow 2.x) with Debian's PyYAML; every rule FileStore would
enforce while reading (or while a user logs to the run) raises here:
  - experiments are the subdirectories of DIR but `.trash` (and `models`, the registry's);
    meta.yaml is read with yaml.safe_load and must construct an Experiment (experiment_id, name,
    artifact_location, lifecycle_stage; creation_time and last_update_time optional), and its
    experiment_id must equal the directory's name;
  - runs are the subdirectories of an experiment but tags/, datasets/, traces/; meta.yaml must
    construct a RunInfo (run_uuid or run_id, experiment_id, user_id, status, start_time, end_time,
    lifecycle_stage are required), status an int of RunStatus, the experiment_id the parent's;
  - params, metrics and tags are the files under params/, metrics/, tags/ (os.walk, relative
    path = key), each key a valid name (_validate_param_name / _validate_metric_name /
    _validate_tag_name); a metric line is "timestamp value [step]" read as int, float, int;
  - artifacts/ is listed as LocalArtifactRepository does (symbolic links followed).
The JSON: {"experiments": {id: {"meta", "tags", "runs": {run_id: {"meta", "params", "tags",
"metrics": {key: [[timestamp, value, step], ...]}, "artifacts": {path: {"link", "is_file"}}}}}}}.
"""
import json
import os
import posixpath
import re
import sys

import yaml

VALID_NAME = re.compile(r"^[/\w.\- ]*$")  # _VALID_PARAM_AND_METRIC_NAMES
RUN_ID = re.compile(r"^[a-zA-Z0-9][\w\-]{0,255}$")  # _RUN_ID_REGEX
EXPERIMENT_ID = re.compile(r"^[a-zA-Z0-9][\w\-]{0,63}$")  # _EXPERIMENT_ID_REGEX
RUN_STATUS = {1: "RUNNING", 2: "SCHEDULED", 3: "FINISHED", 4: "FAILED", 5: "KILLED"}
LIFECYCLE = ("active", "deleted")
EXPERIMENT_ARGS = ("experiment_id", "name", "artifact_location", "lifecycle_stage")
EXPERIMENT_OPTIONAL = ("tags", "creation_time", "last_update_time")
RUN_ARGS = ("experiment_id", "user_id", "status", "start_time", "end_time", "lifecycle_stage")
RUN_OPTIONAL = ("artifact_uri", "run_id", "run_uuid", "run_name")
RESERVED_EXPERIMENT_FOLDERS = ("tags", "datasets", "traces")
MAX_ENTITY_KEY_LENGTH = 250


def fail(message):
    raise SystemExit("read_mlflow_store: " + message)


def validate_name(kind, name):
    """_validate_param_name / _validate_metric_name / _validate_tag_name and the key length limit."""
    if not VALID_NAME.match(name):
        fail(f"invalid {kind} name {name!r}: bad characters")
    norm = posixpath.normpath(name)
    if norm != name or norm == "." or norm.startswith("..") or norm.startswith("/"):
        fail(f"invalid {kind} name {name!r}: would resolve to {norm!r}")
    if len(name) > MAX_ENTITY_KEY_LENGTH:
        fail(f"{kind} name {name!r} is longer than {MAX_ENTITY_KEY_LENGTH}")


def read_meta(directory):
    path = os.path.join(directory, "meta.yaml")
    if not os.path.isfile(path):
        fail(f"{path}: missing (MissingConfigException)")
    with open(path, encoding="utf-8") as f:
        meta = yaml.safe_load(f)
    if not isinstance(meta, dict):
        fail(f"{path}: not a mapping")
    return meta


def from_dictionary(path, meta, required, optional):
    """_MlflowObject.from_dictionary: keys that are properties are passed to the constructor."""
    for key in required:
        if key not in meta:
            fail(f"{path}: no {key} (the constructor requires it)")
    return {k: v for k, v in meta.items() if k in required or k in optional}


def read_keyed_files(directory, kind):
    """FileStore._get_resource_files: every file under the folder, keyed by its relative path."""
    out = {}
    for root, _, files in os.walk(directory):
        for name in files:
            key = os.path.relpath(os.path.join(root, name), directory)
            validate_name(kind, key)
            with open(os.path.join(root, name), encoding="utf-8") as f:
                out[key] = f.read()
    return out


def read_metric(key, text):
    """FileStore._get_metric_from_line for every line; at least one line."""
    points = []
    for line in text.splitlines():
        parts = line.strip().split(" ")
        if len(parts) not in (2, 3):
            fail(f"metric {key!r}: line {line!r} has {len(parts)} fields, expected 2 or 3")
        ts, value = int(parts[0]), float(parts[1])
        step = int(parts[2]) if len(parts) == 3 else 0
        if ts < 0:
            fail(f"metric {key!r}: negative timestamp {ts}")
        points.append([ts, value, step])
    if not points:
        fail(f"metric {key!r} is malformed: no data")
    return points


def list_artifacts(directory):
    out = {}
    for root, dirs, files in os.walk(directory, followlinks=True):
        for name in files + [d for d in dirs if os.path.islink(os.path.join(root, d))]:
            path = os.path.join(root, name)
            rel = os.path.relpath(path, directory)
            out[rel] = {"link": os.readlink(path) if os.path.islink(path) else None, "is_file": os.path.isfile(path)}
            if os.path.isfile(path):
                os.path.getsize(path)  # what the UI's listing asks of each file
    return out


def read_run(experiment_id, run_dir):
    run_id = os.path.basename(run_dir)
    if not RUN_ID.match(run_id):
        fail(f"invalid run id {run_id!r}")
    path = os.path.join(run_dir, "meta.yaml")
    meta = read_meta(run_dir)
    info = from_dictionary(path, meta, RUN_ARGS, RUN_OPTIONAL)
    if (info.get("run_id") or info.get("run_uuid")) != run_id:
        fail(f"{path}: run_id {info.get('run_id')!r} is not the directory's name")
    if info["status"] not in RUN_STATUS:  # RunStatus.to_string
        fail(f"{path}: status {info['status']!r} is not a RunStatus int")
    if str(info["experiment_id"]) != experiment_id:
        fail(f"{path}: experiment_id {info['experiment_id']!r}, expected {experiment_id!r}")
    if info["lifecycle_stage"] not in LIFECYCLE:
        fail(f"{path}: lifecycle_stage {info['lifecycle_stage']!r}")
    for key in ("start_time", "end_time"):
        if info[key] is not None and not isinstance(info[key], int):
            fail(f"{path}: {key} is not an int")
    if info["start_time"] is None:
        fail(f"{path}: start_time cannot be None")
    metrics = {k: read_metric(k, text) for k, text in read_keyed_files(os.path.join(run_dir, "metrics"), "metric").items()}
    return {
        "meta": meta,
        "params": read_keyed_files(os.path.join(run_dir, "params"), "param"),
        "tags": read_keyed_files(os.path.join(run_dir, "tags"), "tag"),
        "metrics": metrics,
        "artifacts": list_artifacts(os.path.join(run_dir, "artifacts")),
    }


def read_experiment(root, experiment_id):
    if not EXPERIMENT_ID.match(experiment_id):
        fail(f"invalid experiment id {experiment_id!r}")
    directory = os.path.join(root, experiment_id)
    path = os.path.join(directory, "meta.yaml")
    meta = read_meta(directory)
    exp = from_dictionary(path, meta, EXPERIMENT_ARGS, EXPERIMENT_OPTIONAL)
    if str(exp["experiment_id"]) != experiment_id:
        fail(f"{path}: experiment_id {exp['experiment_id']!r} is not the directory's name (MLflow ignores it)")
    if exp["lifecycle_stage"] not in LIFECYCLE:
        fail(f"{path}: lifecycle_stage {exp['lifecycle_stage']!r}")
    for key in ("creation_time", "last_update_time"):
        if exp.get(key) is not None and not isinstance(exp[key], int):
            fail(f"{path}: {key} is not an int")
    runs = {}
    for name in sorted(os.listdir(directory)):
        run_dir = os.path.join(directory, name)
        if os.path.isdir(run_dir) and name not in RESERVED_EXPERIMENT_FOLDERS:
            runs[name] = read_run(experiment_id, run_dir)
    return {"meta": meta, "tags": read_keyed_files(os.path.join(directory, "tags"), "tag"), "runs": runs}


def main():
    root, out = sys.argv[1], sys.argv[2]
    if not os.path.isdir(root):
        fail(f"{root} is not a directory")
    experiments = {}
    for name in sorted(os.listdir(root)):
        if os.path.isdir(os.path.join(root, name)) and not name.endswith(".trash") and name != "models":
            experiments[name] = read_experiment(root, name)
    run_ids = [r for e in experiments.values() for r in e["runs"]]
    if len(set(run_ids)) != len(run_ids):
        fail("a run id is in two experiments (FileStore._find_run_root would find only the first)")
    names = [e["meta"]["name"] for e in experiments.values()]
    if len(set(names)) != len(names):
        fail(f"experiment names are not unique: {names}")
    with open(out, "w", encoding="utf-8") as f:
        json.dump({"experiments": experiments}, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()

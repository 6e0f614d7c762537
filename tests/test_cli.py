"""The `kiosk` command, through click's CliRunner and as a real process."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from kiosk.cli import main

REPORT = re.compile(r"recorded (\d+) presses \((\d+) flagged misuse, (\d+) reasons\)")
EVENT_KEYS = {"id", "seq", "type", "level", "misuse", "recorded_at"}


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def counts_from(output):
    match = REPORT.search(output)
    assert match, output
    return dict(zip(("presses", "misuse", "reasons"), map(int, match.groups())))


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    """One `kiosk simulate --ratings 200 --seed 1` run shared by the read-only checks below."""
    data = tmp_path_factory.mktemp("sim") / "data"
    result = invoke("simulate", "--ratings", 200, "--seed", 1, "--data-dir", data)
    assert result.exit_code == 0, result.output
    return data, counts_from(result.stdout)


def test_simulate_reports_what_it_stored(simulated):
    data, counts = simulated
    assert counts["presses"] == 200
    conn = sqlite3.connect(data / "kiosk.db")
    try:
        by_type = dict(conn.execute("SELECT type, count(*) FROM events GROUP BY type").fetchall())
        misuse = conn.execute("SELECT count(*) FROM events WHERE type='rating' AND misuse=1").fetchone()[0]
    finally:
        conn.close()
    assert by_type == {"rating": 200, "reason": counts["reasons"]}
    assert misuse == counts["misuse"]


def test_events_prints_json_lines_oldest_first(simulated):
    data, counts = simulated
    result = invoke("events", "--data-dir", data)
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    events = [json.loads(line) for line in lines]
    assert len(events) == 200 + counts["reasons"]
    for event in events:
        assert event.keys() >= EVENT_KEYS
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    times = [datetime.fromisoformat(e["recorded_at"]) for e in events]
    assert times == sorted(times)
    ratings = [e for e in events if e["type"] == "rating"]
    assert len(ratings) == counts["presses"]
    assert sum(e["misuse"] for e in ratings) == counts["misuse"]
    assert all(e["misuse"] in (True, False) and 1 <= e["level"] <= 5 for e in ratings)
    assert len({e["level"] for e in ratings}) == 5  # 200 visitors use every button
    rating_ids = {e["id"]: e for e in ratings}
    reasons = [e for e in events if e["type"] == "reason"]
    assert len(reasons) == counts["reasons"]
    for reason in reasons:
        rated = rating_ids[reason["ref"]]
        assert rated["seq"] < reason["seq"]
        assert reason["level"] == rated["level"] >= 3
        assert reason["reason"] in {"wait", "attitude", "unclear", "procedure", "facilities", "other"}


def test_events_type_filter(simulated):
    data, counts = simulated
    result = invoke("events", "--data-dir", data, "--type", "reason")
    types = {json.loads(line)["type"] for line in result.stdout.splitlines()}
    assert types == {"reason"}
    assert len(result.stdout.splitlines()) == counts["reasons"]


def test_simulate_is_repeatable_with_a_seed(tmp_path):
    a = counts_from(invoke("simulate", "--ratings", 60, "--seed", 7, "--data-dir", tmp_path / "a").stdout)
    b = counts_from(invoke("simulate", "--ratings", 60, "--seed", 7, "--data-dir", tmp_path / "b").stdout)
    assert a == b

    def levels(d):
        conn = sqlite3.connect(d / "kiosk.db")
        try:
            return conn.execute("SELECT type, level, misuse FROM events ORDER BY seq").fetchall()
        finally:
            conn.close()

    assert levels(tmp_path / "a") == levels(tmp_path / "b")


def test_simulate_appends_to_an_existing_store(tmp_path):
    invoke("simulate", "--ratings", 10, "--seed", 1, "--data-dir", tmp_path)
    invoke("simulate", "--ratings", 15, "--seed", 2, "--data-dir", tmp_path)
    events = [json.loads(x) for x in invoke("events", "--data-dir", tmp_path).stdout.splitlines()]
    assert sum(e["type"] == "rating" for e in events) == 25
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))


def test_simulate_with_three_level_config(tmp_path):
    config = tmp_path / "kiosk.toml"
    config.write_text(
        """
[kiosk]
id = "three"
[buttons]
levels = [
  { label = "滿意", label_en = "Satisfied", pin = 5 },
  { label = "普通", label_en = "Neutral", pin = 6 },
  { label = "不滿意", label_en = "Dissatisfied", pin = 13 },
]
""",
        encoding="utf-8",
    )
    result = invoke("simulate", "--config", config, "--ratings", 80, "--seed", 3, "--data-dir", tmp_path / "d")
    assert result.exit_code == 0
    events = [
        json.loads(x) for x in invoke("events", "--config", config, "--data-dir", tmp_path / "d").stdout.splitlines()
    ]
    assert {e["level"] for e in events if e["type"] == "rating"} <= {1, 2, 3}
    assert {e["kiosk_id"] for e in events} == {"three"}


def test_simulate_rejects_zero_ratings(tmp_path):
    result = CliRunner().invoke(main, ["simulate", "--ratings", "0", "--data-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "--ratings" in result.output


def test_events_on_unusable_data_dir_exits_nonzero_with_message(tmp_path):
    (tmp_path / "file").write_text("in the way")
    result = CliRunner().invoke(main, ["events", "--data-dir", str(tmp_path / "file" / "d")])
    assert result.exit_code == 1
    assert "data file unavailable" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


# -- doctor ---------------------------------------------------------------------------


def test_doctor_demo_passes_on_a_good_setup(tmp_path):
    result = invoke("doctor", "--demo", "--data-dir", tmp_path / "data")
    assert result.exit_code == 0, result.output
    assert "all checks passed" in result.output
    assert "FAIL" not in result.output


def test_doctor_names_a_bad_config(tmp_path):
    config = tmp_path / "kiosk.toml"
    config.write_text("[display]\nrotation = 45\n", encoding="utf-8")
    result = CliRunner().invoke(
        main, ["doctor", "--demo", "--config", str(config), "--data-dir", str(tmp_path / "data")]
    )
    assert result.exit_code != 0
    fail_lines = [line for line in result.output.splitlines() if line.startswith("FAIL")]
    assert len(fail_lines) == 1
    assert "config" in fail_lines[0] and str(config) in fail_lines[0]
    assert "[display] rotation" in fail_lines[0]


def test_doctor_names_an_unwritable_data_dir(tmp_path):
    (tmp_path / "file").write_text("in the way")
    bad = tmp_path / "file" / "data"
    result = CliRunner().invoke(main, ["doctor", "--demo", "--data-dir", str(bad)])
    assert result.exit_code != 0
    fail_lines = [line for line in result.output.splitlines() if line.startswith("FAIL")]
    assert len(fail_lines) == 1
    assert "data dir" in fail_lines[0] and str(bad) in fail_lines[0] and "not writable" in fail_lines[0]


def test_doctor_reports_a_recovered_corrupt_database(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "kiosk.db").write_bytes(b"garbage" * 1000)
    result = invoke("doctor", "--demo", "--data-dir", data)
    assert "corrupt" in result.output
    assert any(p.name.startswith("kiosk.db.corrupt-") for p in data.iterdir())


# -- every command ------------------------------------------------------------------------


def all_commands():
    ctx = click.Context(main)
    return {name: main.get_command(ctx, name) for name in main.list_commands(ctx)}


def test_core_commands_exist():
    assert {"run", "events", "simulate", "doctor"} <= set(all_commands())


@pytest.mark.parametrize("name", sorted(all_commands()))
def test_every_command_accepts_config_and_data_dir(name):
    command = all_commands()[name]
    opts = {opt for param in command.params for opt in param.opts}
    assert {"--config", "--data-dir"} <= opts
    result = invoke(name, "--help")
    assert result.exit_code == 0
    assert "--config" in result.output and "--data-dir" in result.output


def test_config_and_data_dir_from_environment(tmp_path):
    config = tmp_path / "kiosk.toml"
    config.write_text('[kiosk]\nid = "from-env"\n', encoding="utf-8")
    env = {"KIOSK_CONFIG": str(config), "KIOSK_DATA_DIR": str(tmp_path / "d")}
    runner = CliRunner(env=env)
    assert runner.invoke(main, ["simulate", "--ratings", "3", "--seed", "1"]).exit_code == 0
    events = [json.loads(x) for x in runner.invoke(main, ["events"]).stdout.splitlines()]
    assert len(events) == 3 and {e["kiosk_id"] for e in events} == {"from-env"}


# -- real processes ----------------------------------------------------------------------------


def _run(*args, **kw):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("KIOSK_CONFIG", None)
    env.pop("KIOSK_DATA_DIR", None)
    return subprocess.run([*args], capture_output=True, text=True, timeout=120, env=env, **kw)


def test_real_process_simulate_then_events(tmp_path):
    data = tmp_path / "data"
    sim = _run(sys.executable, "-m", "kiosk", "simulate", "--ratings", "25", "--seed", "4", "--data-dir", str(data))
    assert sim.returncode == 0, sim.stderr
    counts = counts_from(sim.stdout)
    script = Path(sys.executable).with_name("kiosk")
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "kiosk"]
    events = _run(*cmd, "events", "--data-dir", str(data))
    assert events.returncode == 0, events.stderr
    lines = [json.loads(x) for x in events.stdout.splitlines()]
    assert sum(e["type"] == "rating" for e in lines) == counts["presses"] == 25
    assert sum(e["type"] == "reason" for e in lines) == counts["reasons"]


def test_real_process_bad_config_exit_code_and_stderr(tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text("[kiosk]\nlanguage = 'fr'\n", encoding="utf-8")
    proc = _run(sys.executable, "-m", "kiosk", "run", "--config", str(config), "--data-dir", str(tmp_path))
    assert proc.returncode == 1
    assert "[kiosk] language" in proc.stderr and str(config) in proc.stderr
    assert "Traceback" not in proc.stderr
    assert "kivy" not in proc.stderr.lower()  # failed before the UI was imported

"""How ``hub connectors`` shows a connector's status: its state summed up honestly, a row per instance with
records, rate and lag, a progress bar for each task reporting done/total, and each failure's error in full.

Pure functions of the status body of ``GET /connectors/{name}/status`` (with Hub's ``progress`` additions), except
``print_status``, which writes them to the terminal.
"""

from __future__ import annotations

import datetime
import shutil
import textwrap
from typing import Any

import click

from hub.cli.group import print_table


def summary(status: dict[str, Any]) -> str:
    """The connector's state and, honestly, its tasks' when they differ: ``RUNNING, 1 of 2 tasks FAILED``."""
    states = [task["state"] for task in status.get("tasks", [])]
    others = {state: states.count(state) for state in sorted(set(states)) if state != "RUNNING"}
    shown = str(status["connector"]["state"])
    for state, count in others.items():
        if count == len(states):
            shown += f", {count} {'task' if count == 1 else 'tasks'} {state}"
        else:
            shown += f", {count} of {len(states)} tasks {state}"
    return shown


def state_rows(status: dict[str, Any]) -> list[list[Any]]:
    """One row per instance: name, state, worker, records, rate and lag."""
    rows = [["connector", status["connector"]["state"], status["connector"].get("worker_id", ""), "", "", ""]]
    for task in status.get("tasks", []):
        progress = task.get("progress") or {}
        rows.append(
            [
                f"task {task['id']}",
                task["state"],
                task.get("worker_id", ""),
                f"{progress['records']:,}" if "records" in progress else "",
                f"{progress['records_per_second']:,.0f}/s" if "records_per_second" in progress else "",
                _lag(progress),
            ]
        )
    return rows


def problems(status: dict[str, Any]) -> list[str]:
    """For each failed instance, the last line of its trace (the error itself) in full; a hint for unassigned ones."""
    lines = []
    instances = [("connector", status["connector"])] + [(f"task {t['id']}", t) for t in status.get("tasks", [])]
    for label, state in instances:
        trace = (state.get("trace") or "").strip().splitlines()
        if trace:
            lines.append(f"{label} {state['state']}: {trace[-1].strip()}")
        elif state.get("state") == "UNASSIGNED":
            lines.append(
                f"{label} UNASSIGNED: no worker runs it yet; after a create, restart or rebalance it starts "
                "within seconds, and if it stays so, the workers' logs say why"
            )
    return lines


def _lag(progress: dict[str, Any]) -> str:
    if "lag_bytes" in progress:
        return f"{progress['lag_bytes']:,} B of WAL"
    if "lag_records" in progress:
        return f"{progress['lag_records']:,} records"
    return ""


def progress_bar(task: dict[str, Any], width: int = 30) -> str | None:
    """``task 0 snapshot [#####-----] 45.0% 4,500/10,000 rows, 0:01:12 left`` for a task reporting done/total."""
    progress = task.get("progress") or {}
    if "percent" not in progress:
        return None
    filled = round(width * progress["percent"] / 100)
    line = (
        f"task {task['id']} {progress.get('phase', 'progress')} [{'#' * filled}{'-' * (width - filled)}] "
        f"{progress['percent']:.1f}% {progress['done']:,}/{progress['total']:,} {progress.get('unit', '')}".rstrip()
    )
    if "eta_seconds" in progress:
        line += f", {datetime.timedelta(seconds=int(progress['eta_seconds']))} left"
    return line


def print_status(status: dict[str, Any]) -> None:
    """The summary line, the instances' table, the progress bars and the problems, wrapped to the terminal."""
    click.echo(f"{status['name']} ({status.get('type', 'unknown')}): {summary(status)}")
    print_table(["INSTANCE", "STATE", "WORKER", "RECORDS", "RATE", "LAG"], state_rows(status))
    for task in status.get("tasks", []):
        bar = progress_bar(task)
        if bar:
            click.echo(bar)
    width = max(40, shutil.get_terminal_size().columns)
    for line in problems(status):
        click.echo(textwrap.fill(line, width, subsequent_indent="    ", break_on_hyphens=False, break_long_words=False))

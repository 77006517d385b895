"""Bulk API 2.0 helpers: the CSV of results pages (the split of fully quoted documents reads exactly what
``csv.reader`` reads, any other document is left to ``csv.reader``) and the waits between looks at a running job."""

from __future__ import annotations

import csv
import io

import pytest

from connectors.salesforce.bulk2 import FIRST_LOOK_S, LAST_LOOK_S, _split_quoted, next_look, parse_csv, write_csv


def by_csv_module(text: str) -> tuple[list[str], list[list[str]]]:
    rows = list(csv.reader(io.StringIO(text, newline="")))
    return (rows[0], rows[1:]) if rows else ([], [])


QUOTED = [
    '"Id","Name"\n',  # header only
    '"Id","Name"\n"001","Acme"\n"002","Globex"\n',
    '"Id","Name","Note"\n"001","","x"\n"","b",""\n',  # empty cells at the start, middle and end of rows
    '"Id","Note"\n"001","a, b"\n"002","line one\nline two"\n',  # separators and newlines inside cells
    '"Id","Note"\n"001",",\n,"\n',
    '"Id"\n"001"\n""\n',
]
OTHERS = [
    '"Id","Note"\n"001","say ""hi"""\n',  # an escaped quote: the split would be wrong
    '"Id","Note"\n"001","a"",""b"\n',  # an escaped quote next to the separator
    '"Id","Note"\n"001",""""\n',
    '"Id","Note"\r\n"001","a"\r\n',  # CRLF
    "Id,Note\n001,a\n",  # unquoted
    '"Id","Note"\n"001",\n',  # an unquoted empty cell
    '"Id","Note"\n"001","a"',  # no final line ending
    '"Id","Note"\n"001","a"\n\n',  # a blank line
]


@pytest.mark.parametrize("text", QUOTED)
def test_quoted_documents_are_split_as_csv_reads_them(text: str) -> None:
    assert _split_quoted(text) is not None
    assert parse_csv(text) == by_csv_module(text)


@pytest.mark.parametrize("text", OTHERS)
def test_other_documents_are_read_by_the_csv_module(text: str) -> None:
    assert _split_quoted(text) is None
    assert parse_csv(text) == by_csv_module(text)


def test_written_rows_read_back() -> None:
    rows = [["001", 'a "quoted" word', "x,y"], ["002", "", "two\nlines"]]
    text = write_csv(["Id", "Note", "Other"], rows)
    assert parse_csv(text) == (["Id", "Note", "Other"], rows)


def test_empty_text_has_no_header() -> None:
    assert parse_csv("") == ([], [])


@pytest.mark.parametrize(
    ("age_s", "wait_s"),
    [(0.0, FIRST_LOOK_S), (0.3, FIRST_LOOK_S), (4.0, 0.4), (20.0, LAST_LOOK_S), (600.0, LAST_LOOK_S)],
)
def test_a_running_job_is_looked_at_after_a_tenth_of_its_age_within_bounds(age_s: float, wait_s: float) -> None:
    assert next_look(age_s) == pytest.approx(wait_s)

"""The command line's contract: exit codes and messages a furnisher or operator relies on."""

from __future__ import annotations

import io
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from typer.testing import CliRunner

from openbureau.cli import app

runner = CliRunner()
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def ob(home: Path, *args: str):
    return runner.invoke(app, [*args, "--home", str(home)])


def test_unknown_furnisher_kind_exits_2(tmp_path):
    r = ob(tmp_path, "furnisher", "add", "x-1", "--kind", "astrologer", "--name", "X")
    assert r.exit_code == 2
    assert "astrologer" in r.output


def test_a_prohibited_column_rejects_the_file_with_exit_2(tmp_path):
    assert (
        ob(tmp_path, "furnisher", "add", "court-01", "--kind", "court", "--name", "C").exit_code
        == 0
    )
    bad = tmp_path / "bad.csv"
    text = (EXAMPLES / "court_judgment.csv").read_text().splitlines()
    bad.write_text("\n".join([text[0] + ",religion"] + [line + ",x" for line in text[1:]]) + "\n")
    r = ob(tmp_path, "ingest", str(bad), "--furnisher", "court-01")
    assert r.exit_code == 2
    assert "prohibited category: religion (see docs/scope.md)" in r.output
    assert not list((tmp_path / "lake" / "records").glob("*/*.parquet"))


def test_examples_ingest_then_twice_is_a_no_op(tmp_path):
    assert (
        ob(tmp_path, "furnisher", "add", "court-01", "--kind", "court", "--name", "C").exit_code
        == 0
    )
    path = str(EXAMPLES / "court_judgment.csv")
    first = ob(tmp_path, "ingest", path, "--furnisher", "court-01")
    assert first.exit_code == 0, first.output
    assert '"status": "accepted"' in first.output
    again = ob(tmp_path, "ingest", path, "--furnisher", "court-01")
    assert again.exit_code == 0
    assert "already ingested" in again.output
    assert len(list((tmp_path / "lake" / "records").glob("*/*.parquet"))) == 1


def test_stages_out_of_order_say_what_to_run_first(tmp_path):
    r = ob(tmp_path, "resolve")
    assert r.exit_code == 2
    assert "run ingest first" in r.output
    r = ob(tmp_path, "score", "--as-of", "2026-10-31")
    assert r.exit_code == 2
    assert "ingest" in r.output or "resolve" in r.output


def test_a_bad_date_is_refused(tmp_path):
    r = ob(tmp_path, "score", "--as-of", "2026-13-01")
    assert r.exit_code != 0
    assert "is not a date" in r.output


def test_serve_binds_a_public_address_now_that_keys_are_required(tmp_path, monkeypatch):
    from openbureau.api import server

    calls = []
    monkeypatch.setattr(server.uvicorn, "run", lambda app, **kw: calls.append(kw))
    r = ob(tmp_path, "serve", "--host", "0.0.0.0", "--port", "8765")
    assert r.exit_code == 0, r.output
    assert calls == [{"host": "0.0.0.0", "port": 8765, "log_level": "info"}]


def test_a_missing_file_is_a_clean_error(tmp_path):
    assert (
        ob(tmp_path, "furnisher", "add", "court-01", "--kind", "court", "--name", "C").exit_code
        == 0
    )
    r = ob(tmp_path, "ingest", str(tmp_path / "nope.csv"), "--furnisher", "court-01")
    assert r.exit_code == 2
    assert "no such file or folder" in r.output
    assert "Traceback" not in r.output


def test_synth_writes_into_the_home_by_default(tmp_path):
    r = ob(tmp_path, "synth", "--persons", "40", "--orgs", "4", "--seed", "2")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "synth" / "furnishers.csv").exists()
    assert list((tmp_path / "synth" / "files").glob("*/*.csv"))


def test_a_folder_is_ingested_whatever_the_case_of_its_extensions(tmp_path, monkeypatch):
    assert (
        ob(tmp_path, "furnisher", "add", "court-01", "--kind", "court", "--name", "C").exit_code
        == 0
    )
    header, *judgments = (EXAMPLES / "court_judgment.csv").read_text().splitlines()
    folder = tmp_path / "drop"
    folder.mkdir()
    (folder / "jan.csv").write_text(f"{header}\n{judgments[0]}\n")
    (folder / "FEB.CSV").write_text(f"{header}\n{judgments[1]}\n")
    march = pacsv.read_csv(
        io.BytesIO(f"{header}\n{judgments[2]}\n".encode()),
        convert_options=pacsv.ConvertOptions(
            column_types=dict.fromkeys(header.split(","), pa.string())
        ),
    )
    pq.write_table(march, folder / "mar.Parquet")
    (folder / "notes.txt").write_text("sent by the court's clerk\n")
    monkeypatch.chdir(tmp_path)  # a short path: the error console wraps long lines
    r = ob(tmp_path, "ingest", "drop", "--furnisher", "court-01")
    assert r.exit_code == 0, r.output
    assert r.output.count('"status": "accepted"') == 3
    said = " ".join(r.output.split())
    assert "skipped drop/notes.txt: unsupported file format: .txt" in said
    assert len(list((tmp_path / "lake" / "records").glob("*/*.parquet"))) == 3

"""The command line on real terminals and pipes: width, character set, colour, progress, a reader that leaves early."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import _shipped, kept_runs
from tools.engine import cache
from tools.engine.engine import PreviewResult, RegisteredResource
from tools.engine.render import key_inputs, tree
from tools.engine.workspace import preview_stacks
from tools.terminal import ASCII_GLYPHS, UNICODE_GLYPHS, Progress, Style

PROJECT = Path(__file__).resolve().parents[2]


def resource(type_: str, name: str, inputs: dict, parent: str = "root") -> RegisteredResource:
    return RegisteredResource(
        type=type_, name=name, urn=f"urn:{name}", custom=True, parent=parent, protect=False, dependencies=[], inputs=inputs
    )


class FakeTerminal(io.StringIO):
    def __init__(self, tty: bool, encoding: str = "utf-8"):
        super().__init__()
        self.tty, self._encoding = tty, encoding

    @property
    def encoding(self):  # StringIO's is None
        return self._encoding

    def isatty(self) -> bool:
        return self.tty


RDS_INPUTS = {
    "allocatedStorage": 100,
    "applyImmediately": False,
    "autoMinorVersionUpgrade": True,
    "backupRetentionPeriod": 7,
    "backupWindow": "18:00-19:00",
    "copyTagsToSnapshot": True,
    "dbName": "crm",
    "engine": "postgres",
    "engineVersion": "15.8",
    "instanceClass": "db.r6g.large",
    "multiAz": True,
    "storageEncrypted": True,
}


def test_key_inputs_are_the_ones_that_matter_for_the_type():
    shown = key_inputs(resource("aws:rds/instance:Instance", "db", RDS_INPUTS))
    assert shown.split("  ")[:5] == [
        "engine=postgres",
        "engineVersion=15.8",
        "instanceClass=db.r6g.large",
        "multiAz=true",
        "storageEncrypted=true",
    ]
    assert "backupWindow" not in shown and "applyImmediately" not in shown


def test_key_inputs_reach_into_objects():
    sql = resource(
        "gcp:sql/databaseInstance:DatabaseInstance",
        "sql",
        {"project": "p", "databaseVersion": "POSTGRES_15", "settings": {"tier": "db-custom-4-16384", "availabilityType": "REGIONAL"}},
    )
    assert key_inputs(sql) == "databaseVersion=POSTGRES_15  settings.tier=db-custom-4-16384  settings.availabilityType=REGIONAL"


def test_a_type_without_an_entry_shows_its_first_few_inputs():
    shown = key_inputs(resource("aws:example/thing:Thing", "t", {f"key{i}": i for i in range(10)} | {"tags": {"a": "b"}}))
    assert shown == "key0=0  key1=1  key2=2  key3=3"


def small_preview() -> PreviewResult:
    component = RegisteredResource(
        type="crm:test:Component", name="c", urn="urn:c", custom=False, parent="root", protect=False, dependencies=[], inputs={}
    )
    return PreviewResult(
        "test",
        [
            component,
            resource("aws:rds/instance:Instance", "database-with-a-long-name", RDS_INPUTS, parent="urn:c"),
            resource("aws:ec2/vpc:Vpc", "vpc", {"cidrBlock": "10.0.0.0/16"}, parent="urn:c"),
        ],
        {},
    )


def test_tree_lines_fit_the_width_they_are_given():
    lines = tree(small_preview(), width=60).splitlines()
    assert max(map(len, lines)) == 60
    assert any(line.endswith("…") for line in lines)
    assert max(map(len, tree(small_preview()).splitlines())) > 60  # uncut without a width


def test_tree_draws_with_ascii_when_asked():
    lines = tree(small_preview(), ASCII_GLYPHS, width=40).splitlines()
    "\n".join(lines).encode("ascii")
    assert lines[1].startswith("`- crm:test:Component") and lines[2].startswith("   |- ") and lines[3].startswith("   `- ")
    assert lines[2].endswith("...")


def test_lines_are_cut_only_on_a_terminal_or_when_columns_is_set(monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    assert Style.for_stream(FakeTerminal(tty=False)).width is None
    monkeypatch.setenv("COLUMNS", "71")
    assert Style.for_stream(FakeTerminal(tty=False)).width == 71


def test_box_drawing_only_where_the_encoding_can_write_it():
    assert Style.for_stream(FakeTerminal(tty=True, encoding="utf-8")).glyphs == UNICODE_GLYPHS
    assert Style.for_stream(FakeTerminal(tty=True, encoding="ascii")).glyphs == ASCII_GLYPHS
    assert Style.for_stream(FakeTerminal(tty=True, encoding="latin-1")).glyphs == ASCII_GLYPHS


def test_progress_off_a_terminal_is_one_line_per_stack():
    stream = FakeTerminal(tty=False)
    progress = Progress("previewing", stream)
    progress.step("aws-dr", 1, 2)
    progress.step("gcp-dr", 2, 2)
    progress.done()
    assert stream.getvalue() == "previewing 1/2 aws-dr\npreviewing 2/2 gcp-dr\n"


def test_progress_on_a_terminal_rewrites_one_line_and_erases_it():
    stream = FakeTerminal(tty=True)
    progress = Progress("previewing", stream)
    progress.step("aws-production", 1, 2)
    progress.step("global", 2, 2)
    progress.done()
    written = stream.getvalue()
    assert "\n" not in written and written.count("\r") == 4  # two steps, then erased
    assert written.endswith("\r" + " " * len("previewing 1/2 aws-production ...") + "\r")


def test_the_first_stack_in_deploy_order_is_announced_before_anything_runs():
    class Stop(Exception):
        pass

    started = []

    def on_start(stack, number, total):
        started.append((stack, number, total))
        raise Stop  # nothing has run yet; stop here rather than preview two stacks

    with pytest.raises(Stop):
        preview_stacks(["aws-dev", "bootstrap"], on_start=on_start)
    assert started == [("bootstrap", 1, 2)]


def reading_kept_runs(stack: str) -> dict:
    """The environment under which a command's process loads the session's run of the shipped stack instead of running
    it again: the suite keeps its runs by content in that directory (tests/conftest.py), as `python3 dev.py` does."""
    _shipped(stack, True)
    return {**os.environ, cache.ENVIRONMENT: str(kept_runs())}


@pytest.fixture(scope="module")
def ascii_preview() -> subprocess.CompletedProcess:
    env = {"PYTHONIOENCODING": "ascii", "NO_COLOR": "1", "TERM": "xterm-256color"}
    return subprocess.run(
        [sys.executable, "-m", "tools", "preview", "bootstrap"],
        cwd=PROJECT,
        capture_output=True,
        timeout=300,
        env={**reading_kept_runs("bootstrap"), **env},
    )


def test_a_terminal_that_only_takes_ascii_gets_an_ascii_tree(ascii_preview):
    assert ascii_preview.returncode == 0, ascii_preview.stderr.decode(errors="replace")
    out = ascii_preview.stdout.decode("ascii")  # raises if anything else got through
    assert out.splitlines()[1].startswith(("|- ", "`- ")) and "UnicodeEncodeError" not in ascii_preview.stderr.decode("ascii")


def test_no_colour_codes_are_ever_printed(ascii_preview):
    assert b"\x1b" not in ascii_preview.stdout + ascii_preview.stderr


def test_preview_json_into_a_reader_that_stops_early_exits_quietly():
    # bootstrap's document (about 150 kB) is larger than a pipe's buffer, so the write meets the closed end.
    process = subprocess.Popen(
        [sys.executable, "-m", "tools", "preview", "bootstrap", "--json"],
        cwd=PROJECT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=reading_kept_runs("bootstrap"),
    )
    assert process.stdout.read(100).startswith(b"{")
    process.stdout.close()  # as `| head -c 100` does
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=300) in (0, 141)
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr and "Exception ignored" not in stderr


# Every command's text output, at a width narrower than its longest line (COLUMNS set, as on a terminal).
REPORTS = [("cost", "aws-dev"), ("check", "aws-dev"), ("path", "aws-dev"), ("rebuild-time", "aws-dr")]
NARROW = 72


@pytest.mark.parametrize("args", REPORTS, ids=" ".join)
def test_every_report_fits_the_terminal_and_loses_no_word(args, capsys, monkeypatch):
    from tools.cli import main

    monkeypatch.delenv("COLUMNS", raising=False)
    main(list(args))
    piped = capsys.readouterr().out
    assert max(map(len, piped.splitlines())) > NARROW  # piped: full lines, as grep wants them
    monkeypatch.setenv("COLUMNS", str(NARROW))
    main(list(args))
    narrow = capsys.readouterr().out
    assert max(map(len, narrow.splitlines())) <= NARROW
    assert narrow.split() == piped.split()  # folded onto continuation lines, nothing cut


def test_the_preview_tree_fits_the_terminal(capsys, monkeypatch):
    from tools.cli import main

    monkeypatch.setenv("COLUMNS", str(NARROW))
    assert main(["preview", "aws-dev"]) == 0
    assert max(map(len, capsys.readouterr().out.splitlines())) <= NARROW


def test_wrapping_keeps_the_indent_of_the_line_it_continues():
    style = Style(UNICODE_GLYPHS, 30)
    folded = style.wrap("header\n    a line that is much longer than thirty columns").splitlines()
    assert folded[0] == "header" and folded[1].startswith("    a line")
    assert all(line.startswith("        ") for line in folded[2:]) and len(folded) > 2
    assert Style(UNICODE_GLYPHS, None).wrap("x" * 500) == "x" * 500


PEM = "-----BEGIN CERTIFICATE-----\nMIIGCjCCA/KgAwIBAgIQ\n-----END CERTIFICATE-----\n"


def test_a_multi_line_value_stays_on_its_line_of_the_tree():
    result = PreviewResult("test", [resource("aws:s3/bucketObjectv2:BucketObjectv2", "ca", {"key": "ca.pem", "content": PEM})], {})
    lines = tree(result).splitlines()
    (line,) = [line for line in lines if "BucketObjectv2" in line and "ca.pem" in line]
    assert "content=-----BEGIN CERTIFICATE-----\\nMIIG" in line
    assert not [line for line in lines if line.startswith("MII") or line.startswith("-----")]


def test_the_shipped_certificate_bundle_leaves_the_piped_tree_whole(capsys, monkeypatch):
    from tools.cli import main

    monkeypatch.delenv("COLUMNS", raising=False)
    assert main(["preview", "aws-dev"]) == 0
    lines = capsys.readouterr().out.splitlines()
    body = lines[1 : lines.index("Outputs:")]
    assert any("BEGIN CERTIFICATE" in line for line in body)  # the trust store's CA bundle is in the tree
    assert all(line.startswith(("├", "└", "│", " ")) for line in body), [line for line in body if not line.startswith(("├", "└", "│", " "))]


def test_help_lists_every_command_with_what_it_does(capsys):
    from tools.cli import _parser

    parser = _parser()
    (commands,) = [a for a in parser._actions if isinstance(a, __import__("argparse")._SubParsersAction)]
    with pytest.raises(SystemExit) as done:
        parser.parse_args(["--help"])
    assert done.value.code == 0
    listing = " ".join(capsys.readouterr().out.split())
    assert len(commands.choices) >= 9
    for name, command in commands.choices.items():
        assert command.description, f"`python -m tools {name} --help` says nothing about what it does"
        assert " ".join(command.description.split()) in listing, name


def test_tests_see_no_terminal_width_unless_they_set_one():
    """Whatever the caller's terminal (pytest-xdist's workers get COLUMNS=80), reports print whole lines in tests."""
    assert "COLUMNS" not in os.environ and Style.for_stream(io.StringIO()).width is None

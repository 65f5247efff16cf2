"""Every command of the README's usage table runs, through the real entry point, and does what the table says.

The table is parsed: each of its `advalidate …` and `pytest --pyargs …` commands (and the options shown beside
one) must have a check in ``CHECKS``, so a newly documented command without a check fails here. Each check runs
the command as documented (a subprocess of the installed ``advalidate`` script, or ``python -m pytest``), with a
small budget substituted (``--max-examples 3``, ``--backend numpy-ref`` or a planted backend, a temporary
``--out``), and checks its effect: a valid results.json, a report, a finding replayed, a backend listed.
Out of scope, by design: ``hypothesis fuzz`` (its collection is tested with the conformance suite).
"""

import json
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .cli_support import ROOT, advalidate_command, environment, install_planted, results

README = ROOT / "README.md"
NOT_COMMANDS = {  # first code span of a usage-table row -> why that row has no subprocess check here
    "hypothesis fuzz": "HypoFuzz; the test it fuzzes is run by the conformance-suite line",
}


def usage_rows() -> list[list[str]]:
    """The code spans of each row of the README's "Using it" table (header and rule skipped)."""
    section = README.read_text().split("## Using it", 1)[1].split("\n## ", 1)[0]
    lines = section.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| how | command |"))
    rows = []  # the usage table only: its lines up to the first that is not a row (other tables follow)
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        rows.append(line)
    assert len(rows) > 3, "the usage table is gone from the README"
    return [re.findall(r"`([^`]+)`", row.rsplit("|", 2)[-2]) for row in rows[2:]]


def usage_commands() -> list[str]:
    """Every command of the table; a span of options (``--backend jax …``) beside a command is one more command."""
    commands = []
    for spans in usage_rows():
        row = []
        for span in spans:
            if span.startswith(("advalidate ", "pytest ", "from advalidate")):
                row.append(span)
            elif span.startswith("--") and row:
                row.append(f"{row[0]} {span}")
        commands += row
    return commands


def test_every_row_of_the_usage_table_is_a_checked_command_or_is_named_out_of_scope():
    for spans in usage_rows():
        assert spans, "a usage-table row without a command"
        first = spans[0]
        assert first in CHECKS or any(first.startswith(p) for p in NOT_COMMANDS), \
            f"the README documents {first!r}, which no check in tests/test_readme_commands.py runs"
    assert set(usage_commands()) == set(CHECKS), \
        f"checks for commands the README no longer has: {sorted(set(CHECKS) - set(usage_commands()))}"


# ---------------------------------------------------------------- running a documented command


def with_options(argv: list[str], **options) -> list[str]:
    """``argv`` with each ``--option value`` replaced (``max_examples="3"`` -> ``--max-examples 3``), or appended."""
    argv = list(argv)
    for key, value in options.items():
        flag = "--" + key.replace("_", "-")
        if flag in argv:
            argv[argv.index(flag) + 1] = value
        else:
            argv += [flag, value]
    return argv


def advalidate(command: str, ctx, *, cwd=None, **options) -> subprocess.CompletedProcess:
    """Run a documented ``advalidate …`` command through the installed script (``options`` substituted)."""
    argv = with_options(shlex.split(command)[1:], **options)
    return subprocess.run(advalidate_command() + argv, capture_output=True, text=True, env=ctx.env,
                          cwd=cwd or ctx.cwd, timeout=300)


def pytest_pyargs(command: str, ctx, *extra) -> subprocess.CompletedProcess:
    argv = ["numpy-ref" if word == "NAME" else word for word in shlex.split(command)[1:]]
    # test_fuzz takes --advalidate-backend too (it used to fuzz every installed backend whatever the line said)
    env = {k: v for k, v in ctx.env.items() if k != "ADVALIDATE_BACKEND"}
    return subprocess.run([sys.executable, "-m", "pytest", *argv, "-p", "no:cacheprovider", "-q", "-rA",
                           "--advalidate-max-examples", "3", *extra], capture_output=True, text=True, env=env,
                          cwd=ctx.cwd, timeout=600)


class Context:
    def __init__(self, tmp_path):
        self.cwd = tmp_path
        self.planted = install_planted(tmp_path / "planted")
        self.env = environment(tmp_path, self.planted)


@pytest.fixture
def ctx(tmp_path):
    return Context(tmp_path)


REPORTS_RUN = "advalidate run --backend planted-wrong-value --backend planted-error --backend planted-nan-inf"


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """A working directory holding ``reports/results.json`` from a real `advalidate run` (default --out) of planted
    backends: at least three findings, so that the README's ``--id F003`` exists."""
    ctx = Context(tmp_path_factory.mktemp("reports"))
    done = advalidate(REPORTS_RUN, ctx, max_examples="3", seed="3")
    assert done.returncode == 1, done.stdout + done.stderr
    assert len(results(ctx.cwd / "reports" / "results.json")["findings"]) >= 3, done.stdout
    return ctx


# ---------------------------------------------------------------- one check per documented command


def check_run(command, ctx):
    out = ctx.cwd / "out"
    done = advalidate(command, ctx, backend="numpy-ref", max_examples="3", out=str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    data = results(out / "results.json")
    assert data["complete"] and data["summary"]["examples"] == 3 and data["settings"]["backends"] == ["numpy-ref"]
    assert "advalidate" in (out / "index.html").read_text()
    assert f"results: {out / 'results.json'}" in done.stdout
    return data


def check_run_options(command, ctx):
    data = check_run_any_exit(command, ctx)
    settings = data["settings"]
    assert (settings["seed"], settings["dtype"], settings["special"]) == (1, "float32", 1.0), settings


def check_mode(command, ctx):
    data = check_run(command, ctx)
    assert data["settings"]["modes"] == ["jvp"] and "numpy-ref (jvp)" in data["stats"]["backends"]
    assert "numpy-ref" not in data["stats"]["backends"]  # reverse mode was not asked for


def check_hvp_every(command, ctx):
    data = check_run(command, ctx)
    assert data["settings"]["modes"] == ["hvp"] and data["settings"]["hvp_every"] == 1
    counts = data["stats"]["backends"]["numpy-ref (hvp)"]
    assert counts.get("pass", 0) + counts.get("skipped", 0) + counts.get("unsupported", 0) >= 3  # every example
    assert "numpy-ref" not in data["stats"]["backends"] and "numpy-ref (jvp)" not in data["stats"]["backends"]


def check_max_side(command, ctx):
    data = check_run(command, ctx)
    assert data["settings"]["identities"] is True and data["settings"]["max_side"] == 12
    assert data["summary"]["probes"] == 0  # the probes are the oracle's: identity mode has none


def check_run_any_exit(command, ctx):
    out = ctx.cwd / "out"
    done = advalidate(command.replace(" DIR", f" {out}"), ctx, backend="numpy-ref", max_examples="3")
    assert done.returncode in (0, 1), done.stdout + done.stderr  # 1: an unexpected finding at a special point
    data = results(out / "results.json")
    assert data["complete"] and data["summary"]["examples"] == 3
    return data


def check_replay(command, ctx):
    done = advalidate(command, ctx)
    assert done.returncode == 1, done.stdout + done.stderr
    finding = next(f for f in results(ctx.cwd / "reports" / "results.json")["findings"] if f["id"] == "F003")
    assert done.stdout.startswith(f"F003: recorded {finding['kind']} on {finding['signature']}")
    assert f"still present: F003 reproduces ({finding['kind']})" in done.stdout


def check_replay_script(command, ctx):
    """The finding's bug report: the script the run recorded and wrote to reports/scripts/, runnable."""
    done = advalidate(command, ctx)
    assert done.returncode == 0, done.stdout + done.stderr
    finding = next(f for f in results(ctx.cwd / "reports" / "results.json")["findings"] if f["id"] == "F001")
    assert done.stdout == finding["script"] and done.stdout.startswith("# advalidate finding F001")
    written = ctx.cwd / "reports" / "scripts" / f"F001-{finding['backend']}.py"
    assert written.read_text() == done.stdout
    ran = subprocess.run([sys.executable, str(written)], capture_output=True, text=True, env=ctx.env, cwd=ctx.cwd,
                         timeout=120)
    assert ran.returncode == 0 and ("grad x0 = " in ran.stdout or "the VJP raised" in ran.stdout), ran.stdout + ran.stderr


def check_known(command, ctx):
    """The entry it prints reads back as one entry of the finding's backend that explains the finding."""
    from advalidate.known import parse

    done = advalidate(command, ctx)
    assert done.returncode == 0, done.stdout + done.stderr
    finding = next(f for f in results(ctx.cwd / "reports" / "results.json")["findings"] if f["id"] == "F003")
    (entry,) = parse(done.stdout, finding["backend"], "printed")
    assert entry.matches(finding["backend"], finding["kind"], finding["signature"], finding["region"], finding["mode"])
    assert entry.example is not None and dict(entry.evidence)["version"].startswith(finding["backend"])


def check_known_append(command, ctx):
    """Every unexpected finding appended as an entry; the same run with --known-dir then has none unexpected."""
    folder = ctx.cwd / "known-drafts"
    done = advalidate(command, ctx, append=str(folder))
    assert done.returncode == 0, done.stdout + done.stderr
    findings = results(ctx.cwd / "reports" / "results.json")["findings"]
    assert sorted(p.name for p in folder.iterdir()) == sorted({f"{f['backend']}.txt" for f in findings})
    again = advalidate(REPORTS_RUN, ctx, max_examples="3", seed="3", out=str(ctx.cwd / "again"),
                       known_dir=str(folder))
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-2000:]


def check_backends(command, ctx):
    done = advalidate(command, ctx)
    assert done.returncode == 0, done.stderr
    listed = {line.split()[0]: line for line in done.stdout.splitlines() if line and not line.startswith(" ")}
    assert listed["numpy-ref"].split()[1] == "ok" and "[built-in]" in listed["numpy-ref"]
    assert "ok" in listed["planted-wrong-value"] and "[entry point of planted-backends 0.1]" in done.stdout
    for name in ("jax", "torch"):  # installed or not, each says which
        assert listed[name].split()[1] in ("ok", "not"), listed[name]


def check_primitives_table(command, ctx):
    """Every registered primitive listed with its family and a column per loaded backend (the planted ones too)."""
    from advalidate import primitives
    from advalidate.cli_primitives import BEGIN, END

    done = advalidate(command, ctx)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    if "--markdown" in command:
        assert lines[0] == BEGIN and lines[-1] == END, done.stdout
        header = next(line for line in lines if line.startswith("| primitive | family |"))
        rows = {line.split("`")[1]: line for line in lines if line.startswith("| `")}
    else:
        header = lines[0]
        rows = {line.split()[0]: line for line in lines[1:-1]}
    assert "numpy-ref" in header and "planted-wrong-value" in header, header
    assert list(rows) == [n for names in primitives.FAMILIES.values() for n in names]
    assert all(primitives.get(name).family in row for name, row in rows.items())
    assert (lines[-3] if "--markdown" in command else lines[-1]).count(str(len(primitives.CATALOGUE))) >= 2


def check_primitives_write(command, ctx):
    """Rewrites the table between the README's markers and nothing else; a second run changes nothing."""
    from advalidate.cli_primitives import BEGIN, END

    readme = ctx.cwd / "README.md"
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start, end = text.index(BEGIN), text.index(END)
    readme.write_text(text[:start] + f"{BEGIN}\nstale\n" + text[end:], encoding="utf-8")
    done = advalidate(command, ctx)
    assert done.returncode == 0 and done.stdout.startswith("updated: README.md"), done.stdout + done.stderr
    table = advalidate("advalidate primitives --markdown", ctx).stdout
    assert readme.read_text(encoding="utf-8") == text[:start] + table.rstrip("\n") + text[end + len(END):]
    again = advalidate(command, ctx)
    assert again.returncode == 0 and again.stdout.startswith("up to date: README.md"), again.stdout
    readme.write_text("# no markers\n", encoding="utf-8")
    refused = advalidate(command, ctx)
    assert refused.returncode == 2 and "markers" in refused.stderr, refused.stdout + refused.stderr


def check_report(command, ctx):
    page = ctx.cwd / "index.html"
    page.unlink(missing_ok=True)
    done = advalidate(command, ctx)
    assert done.returncode == 0 and f"report: {page.name}" in done.stdout, done.stdout + done.stderr
    html = page.read_text()
    for finding in results(ctx.cwd / "reports" / "results.json")["findings"]:
        assert f'id="{finding["id"]}"' in html and finding["replay"] in html


def check_report_runs(command, ctx):
    """Two real runs, float64 and float32 (as the command's paths say), on one page with a column per run."""
    argv = shlex.split(command)
    sources = [a for a in argv if a.endswith("results.json")]
    for source in sources:
        dtype = Path(source).parent.name
        done = advalidate(f"advalidate run --no-cost --dtype {dtype} --out {Path(source).parent}", ctx,
                          backend="numpy-ref", max_examples="3")
        assert done.returncode == 0, done.stdout + done.stderr
    done = advalidate(command, ctx)
    page = ctx.cwd / argv[argv.index("-o") + 1]
    assert done.returncode == 0 and done.stdout == f"report: {page.name}\n", done.stdout + done.stderr
    html = page.read_text()
    labels = argv[argv.index("--label") + 1::2] if "--label" in argv else ["float64", "float32"]
    header = re.search(r'<table class="runs">\s*<thead>(.*?)</thead>', html, re.S).group(1)
    assert re.findall(r'<th scope="col"><a href="#run\d">([^<]*)</a></th>', header) == labels
    assert re.search(r'<tr class="differs"><th scope="row">setting: dtype</th><td>float64</td><td>float32</td>', html)
    assert len(list((ctx.cwd / f"{page.stem}-pages").glob("*.html"))) == 2


def check_run_conformance(command, ctx):
    """The Python line: a correct backend passes, a planted one fails with its finding's reproduction."""
    snippet = command.replace("MyBackend", "NumpyReference")
    script = ("from advalidate.backends.numpy_ref import NumpyReference\n"
              f"{snippet.replace('run_conformance(NumpyReference)', 'results = run_conformance(NumpyReference, max_examples=3)')}\n"
              "print(sum(r['summary']['examples'] for r in results), sum(r['summary']['unexpected'] for r in results))\n"
              "from tests.planted_backends import WrongValue\n"
              "try:\n    run_conformance(WrongValue, max_examples=3, dtypes=['float64'], out='conformance')\n"
              "except AssertionError as e:\n    print(e)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=ctx.env, cwd=ctx.cwd,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "6 0"  # 3 examples per dtype; the probes meet only known behaviours
    assert re.fullmatch(r"planted-wrong-value: \d+ unexpected finding\(s\); written:", lines[1]), lines
    # the files it names exist, and the replay it prints runs as printed (the backend is an entry point here)
    assert lines[2].startswith("  conformance/float64/results.json, report conformance/float64/index.html")
    assert (ctx.cwd / "conformance" / "float64" / "results.json").is_file()
    replay = next(line.split("replay: ", 1)[1] for line in lines if line.startswith("  replay: "))
    assert replay.startswith("advalidate replay conformance/float64/results.json --id F") and "--backend" not in replay
    done = advalidate(replay, ctx)
    assert done.returncode == 1, done.stdout + done.stderr


def check_conformance_suite(command, ctx):
    out = ctx.cwd / "suite"
    done = pytest_pyargs(command, ctx, "--advalidate-out", str(out))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    passed = re.findall(r"^PASSED (\S+)", done.stdout, re.M)
    assert any("test_backend_loads[numpy-ref]" in t for t in passed), passed
    assert any("test_vjps_agree_with_the_oracle[numpy-ref]" in t for t in passed)
    assert sum("test_primitive[" in t for t in passed) >= 40
    data = results(out / "results.json")
    assert data["settings"]["backends"] == ["numpy-ref"] and data["summary"]["examples"] == 3


def check_primitives(command, ctx):
    done = pytest_pyargs(command, ctx)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    passed = re.findall(r"^PASSED (\S+)", done.stdout, re.M)
    assert len(passed) >= 40 and all("test_primitive[numpy-ref:" in t for t in passed), passed
    assert "deselected" in done.stdout


def check_workers(command, ctx):
    out = ctx.cwd / "out"
    done = advalidate(command, ctx, backend="numpy-ref", max_examples="4", out=str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    data = results(out / "results.json")
    assert data["settings"]["workers"] == 2 and data["summary"]["examples"] == 4 and data["complete"]
    assert sorted(p.name for p in (out / "shards").glob("shard-*.json")) == ["shard-0.json", "shard-1.json"]


def check_focused(command, ctx):
    """Through two workers too (the selection reaches the shards): only the selected primitives are probed."""
    from advalidate import primitives

    out = ctx.cwd / "out"
    done = advalidate(command, ctx, backend="numpy-ref", max_examples="4", out=str(out), workers="2")
    assert done.returncode == 0, done.stdout + done.stderr
    data = results(out / "results.json")
    selected = data["settings"]["primitives"]
    expected = {n for n, p in primitives.CATALOGUE.items() if p.family == "linalg" or n.startswith("cum")}
    assert set(selected) == expected and data["complete"] and data["summary"]["examples"] == 4
    ran_alone = {r["primitive"] for r in data["stats"]["primitives"] if sum((r.get("alone") or {}).values())}
    assert ran_alone <= expected and data["summary"]["probes"] == 2 * len(expected)


def check_database(command, ctx):
    """The directory form (the table's "or a directory"): the counterexample found is saved in it."""
    database, out = ctx.cwd / "db", ctx.cwd / "out"
    done = advalidate(command, ctx, database=str(database), backend="planted-wrong-value", max_examples="3",
                      out=str(out))
    assert done.returncode == 1, done.stdout + done.stderr
    assert results(out / "results.json")["findings"]
    saved = [p for p in database.rglob("*") if p.is_file()]
    assert saved, "nothing was saved in the example database"


def check_resume(command, ctx):
    """Interrupted by SIGTERM after its first finding (a valid partial results.json, exit 130), then resumed."""
    argv = ["--backend", "planted-wrong-value", "--max-examples", "60", "--no-cost"]
    results_json = ctx.cwd / "reports" / "results.json"
    first = subprocess.Popen(advalidate_command() + ["run", *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env=ctx.env, cwd=ctx.cwd)
    deadline = time.time() + 120
    while not results_json.exists() and first.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    first.send_signal(signal.SIGTERM)
    out, err = first.communicate(timeout=120)
    assert first.returncode == 130, out + err
    partial = results(results_json)
    assert not partial["complete"] and partial["findings"] and partial["summary"]["examples"] < 60
    done = subprocess.run(advalidate_command() + shlex.split(command)[1:] + argv, capture_output=True, text=True,
                          env=ctx.env, cwd=ctx.cwd, timeout=300)
    assert done.returncode == 1, done.stdout + done.stderr
    resumed = results(results_json)
    assert resumed["complete"] and resumed["summary"]["examples"] == 60
    kept = {(f["kind"], f["signature"]) for f in partial["findings"]}
    assert kept <= {(f["kind"], f["signature"]) for f in resumed["findings"]}


CHECKS = {
    "advalidate run": check_run,
    "advalidate run --backend jax --max-examples 300 --seed 1 --dtype float32 --special --out DIR": check_run_options,
    "advalidate replay reports/results.json --id F003": check_replay,
    "advalidate replay reports/results.json --id F001 --script": check_replay_script,
    "advalidate known reports/results.json --id F003": check_known,
    "advalidate known reports/results.json --unexpected --append DIR": check_known_append,
    "advalidate backends": check_backends,
    "advalidate primitives": check_primitives_table,
    "advalidate primitives --markdown": check_primitives_table,
    "advalidate primitives --write README.md": check_primitives_write,
    "advalidate report reports/results.json -o index.html": check_report,
    "advalidate report float64/results.json float32/results.json -o runs.html": check_report_runs,
    "advalidate report float64/results.json float32/results.json -o runs.html --label f64 --label f32":
        check_report_runs,
    "from advalidate.testing import run_conformance; run_conformance(MyBackend)": check_run_conformance,
    "pytest --pyargs advalidate.conformance --advalidate-backend NAME": check_conformance_suite,
    "pytest --pyargs advalidate.conformance -k primitive --advalidate-backend NAME": check_primitives,
    "advalidate run --primitive linalg --primitive 'cum*'": check_focused,
    "advalidate run --workers 2": check_workers,
    "advalidate run --database redis://localhost:6379/0": check_database,
    "advalidate run --resume": check_resume,
    "advalidate run --mode jvp": check_mode,
    "advalidate run --max-side 12": check_max_side,
    "advalidate run --mode hvp --hvp-every 1": check_hvp_every,
}
from .test_extend_commands import CHECKS as _EXTENSION_CHECKS, SLOW as _EXTENSION_SLOW  # noqa: E402  (users' ops)

CHECKS.update(_EXTENSION_CHECKS)
NEEDS_REPORTS = {check_replay, check_replay_script, check_report, check_known, check_known_append}
# the whole conformance suite (its fuzz test draws 100 examples whatever the budget) and a parallel run (pytest-xdist
# workers starting) take 10-20 s each on a quiet machine: the slow tier runs them
SLOW = {check_conformance_suite, check_workers} | _EXTENSION_SLOW


def _marked(command):
    return pytest.param(command, marks=pytest.mark.slow) if CHECKS.get(command) in SLOW else command


@pytest.mark.parametrize("command", [_marked(c) for c in usage_commands()])
def test_a_documented_command_runs_and_does_what_the_table_says(command, request):
    check = CHECKS.get(command)
    assert check is not None, f"the README documents {command!r}, which no check runs"
    # the replay and the report read reports/results.json in the working directory, as the README's lines do
    check(command, request.getfixturevalue("reports" if check in NEEDS_REPORTS else "ctx"))


def test_the_test_tiers_the_readme_names_are_tox_envs_selecting_what_it_says():
    """The "Tests" table's tox envs exist and select by the markers shown beside them (running tox from a test
    would run the suite inside itself; `.ci/run` runs the first tier, and the tiers are told apart by marker)."""
    import configparser

    section = README.read_text().split("## Tests", 1)[1].split("\n## ", 1)[0]
    tox = configparser.ConfigParser(interpolation=None)
    tox.read(ROOT / "tox.ini")
    markers = {"": '"not triage and not slow"', "slow": '"slow and not triage"', "triage": "-m triage"}
    rows = [line for line in section.splitlines() if line.startswith("| ") and "`tox" in line]
    assert len(rows) == 3, "the README's Tests table lists the fast, slow and triage tiers"
    for row in rows:
        env = re.search(r"`tox(?: -e (\w+))?`", row).group(1) or ""
        commands = tox[f"testenv:{env}" if env else "testenv"]["commands"]
        assert markers[env] in commands, f"tox env {env or 'py'!r} does not select {markers[env]}: {commands}"
        pytest_form = re.search(r'`(pytest -m "[^"]+"[^`]*)`', row)
        if pytest_form:
            assert pytest_form.group(1).split('"')[1] in commands
    ci = [line.split("#")[0].split() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    runs = [words for words in ci if words[:1] == ["tox"]]
    assert ["tox"] in runs and not any(w[1:3] in (["-e", "slow"], ["-e", "triage"]) for w in runs), runs

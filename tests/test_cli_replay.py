"""`advalidate replay` through the installed command: a finding of each kind, written by a real `advalidate run` of
a planted backend (an entry point in a temporary dist-info), is replayed and reproduced (exit 1); after the backend
is "upgraded" to its fixed version (same name, right answers) the replay says it is gone (exit 0); a missing file,
an unknown id and a backend that is not there are clear errors (exit 2)."""

import json
import shlex
import shutil
from pathlib import Path

import pytest

from .cli_support import environment, install_planted, results, run

REGULAR_KINDS = ("wrong-value", "nan-inf", "error", "cost-bound")


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    root = tmp_path_factory.mktemp("planted")
    return install_planted(root / "broken"), install_planted(root / "fixed", fixed=True), root


@pytest.fixture(scope="module")
def regular_run(planted):
    """One real run of the four planted backends whose findings come at regular points (with work counting)."""
    broken, _, root = planted
    args = ["run", "--max-examples", "4", "--seed", "3", "--out", str(root / "regular")]
    for kind in REGULAR_KINDS:
        args += ["--backend", f"planted-{kind}"]
    done = run(args, environment(root, broken), root)
    assert done.returncode == 1, done.stdout + done.stderr  # unexpected findings
    return root / "regular" / "results.json"


def _first(path, kind, backend):
    finding = next((f for f in results(path)["findings"] if f["kind"] == kind and f["backend"] == backend), None)
    assert finding is not None, f"no {kind} finding of {backend} in {path}"
    return finding


def _replay(path, finding, env, cwd, *extra):
    return run(["replay", str(path), "--id", finding["id"], *extra], env, cwd)


@pytest.mark.parametrize("kind", REGULAR_KINDS)
def test_replay_reproduces_a_finding_of_each_regular_kind(planted, regular_run, kind):
    broken, fixed, root = planted
    finding = _first(regular_run, kind, f"planted-{kind}")
    done = _replay(regular_run, finding, environment(root, broken), root)
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"{finding['id']}: recorded {kind} on {finding['signature']} by planted-{kind}")
    assert f"found: {kind}: " in done.stdout and f"still present: {finding['id']} reproduces ({kind})" in lines[-1]
    if kind in ("wrong-value", "nan-inf"):  # the values and the ratio are shown
        worst = next(line for line in lines if "worst component" in line)
        assert "oracle" in worst and "backend" in worst and "tolerance" in worst
        assert kind != "nan-inf" or "backend nan" in worst
    if kind == "cost-bound":
        assert "forward passes 2" in done.stdout
    if kind == "error":
        assert "planted: this backend always raises" in done.stdout

    gone = _replay(regular_run, finding, environment(root, fixed), root)
    assert gone.returncode == 0, gone.stdout + gone.stderr
    assert f"no longer reproduces: {finding['id']} ({kind}) is gone" in gone.stdout


def test_a_wrong_value_replay_shows_the_oracle_and_the_backend_value(planted, regular_run):
    broken, _, root = planted
    finding = _first(regular_run, "wrong-value", "planted-wrong-value")
    done = _replay(regular_run, finding, environment(root, broken), root, "--isolate", "none")
    worst = next(line for line in done.stdout.splitlines() if "worst component" in line)
    oracle = float(worst.split("oracle ")[1].split(" ±")[0])
    backend = float(worst.split("backend ")[1].split(",")[0])
    assert backend == pytest.approx(2 * oracle) and oracle != 0  # the planted bug: every VJP doubled
    assert f"found: wrong-value: error {finding['ratio']:.3g}× the tolerance" in done.stdout


def test_replay_errors_name_the_problem(planted, regular_run, tmp_path):
    broken, _, root = planted
    env = environment(root, broken)
    ids = [f["id"] for f in results(regular_run)["findings"]]

    missing = run(["replay", str(tmp_path / "nope.json"), "--id", "F001"], env, root)
    assert missing.returncode == 2 and "no results file at" in missing.stderr

    unknown = run(["replay", str(regular_run), "--id", "F999"], env, root)
    assert unknown.returncode == 2
    assert f"no finding 'F999' in {regular_run} (findings: {', '.join(ids)})" in unknown.stderr

    no_id = run(["replay", str(regular_run)], env, root)
    assert no_id.returncode == 2 and "--id" in no_id.stderr

    # the plug-in uninstalled: its name is not known any more
    finding = _first(regular_run, "wrong-value", "planted-wrong-value")
    gone = _replay(regular_run, finding, environment(root), root)
    assert gone.returncode == 2
    assert "the backend 'planted-wrong-value' of F" in gone.stderr and "numpy-ref" in gone.stderr

    # a built-in whose library is not installed: says so, with the command
    data = json.loads(regular_run.read_text())
    data["findings"][0]["backend"] = "jax"
    copy = tmp_path / "results.json"
    copy.write_text(json.dumps(data))
    jax = run(["replay", str(copy), "--id", data["findings"][0]["id"]], environment(tmp_path, blocked=("jax",)),
              tmp_path)
    assert jax.returncode == 2
    assert "did not load: not installed: no module named 'jax' (install it with: pip install 'advalidate[jax]')" \
        in jax.stderr


def test_replay_help_documents_the_exit_status(tmp_path):
    done = run(["replay", "--help"], environment(tmp_path), tmp_path)
    text = " ".join(done.stdout.split())
    assert done.returncode == 0 and "Exit 1 when the example still fails" in text and "0 when it passes now" in text


# ---------------------------------------------------------------- the kinds that need special points (slow)

SPECIAL = {"convention": ("planted-convention", ["--special", "--max-examples", "30"]),
           "precision-loss": ("planted-precision-loss", ["--special", "--dtype", "float32", "--max-examples", "40"])}


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(SPECIAL))
def test_replay_reproduces_findings_at_special_points(planted, kind):
    """A kink (convention) or a saturation tail (precision-loss) is reached by a special campaign's draws; which
    seed reaches it first depends on the strategies, so a few seeds are tried."""
    broken, fixed, root = planted
    backend, options = SPECIAL[kind]
    tried = []
    for seed in range(6):
        out = root / f"{kind}-{seed}"
        shutil.rmtree(out, ignore_errors=True)
        done = run(["run", "--backend", backend, *options, "--seed", str(seed), "--no-cost", "--out", str(out)],
                   environment(root, broken), root)
        assert done.returncode in (0, 1), done.stdout + done.stderr
        path = out / "results.json"
        found = [f for f in results(path)["findings"] if f["kind"] == kind]
        tried.append((seed, sorted({f["kind"] for f in results(path)["findings"]})))
        if found:
            break
    else:
        pytest.fail(f"no {kind} finding of {backend} in seeds 0-5 (found: {tried})")
    finding = found[0]
    again = _replay(path, finding, environment(root, broken), root)
    assert again.returncode == 1 and f"still present: {finding['id']} reproduces ({kind})" in again.stdout, \
        again.stdout + again.stderr
    if kind == "convention":
        assert "at the kink the VJP matches: other" in again.stdout
        gone = _replay(path, finding, environment(root, fixed), root)
        assert gone.returncode == 0 and "no longer reproduces" in gone.stdout, gone.stdout + gone.stderr


def test_replay_of_a_projected_finding_shows_the_worst_projection(tmp_path, monkeypatch, capsys):
    """Past FULL_MODE_LIMIT input elements the oracle checks projections <VJP, w>: the replay shows the worst one."""
    import numpy as np
    from hypothesis import strategies as st

    from advalidate import Builder, cli
    from advalidate.backends import registry
    from advalidate.campaign import Campaign, Settings
    from advalidate.check import FULL_MODE_LIMIT
    from advalidate.results import write_json

    from .helpers import Example
    from .planted_backends import WrongValue

    n = FULL_MODE_LIMIT + 2
    b = Builder()
    fn = b.build(b.sin(b.input(n)))
    wide = st.builds(lambda x: Example(fn, [np.full(n, x)], [np.ones(n)]), st.floats(0.1, 1.0))
    data = Campaign([WrongValue()], Settings(max_examples=3, seed=0, out=str(tmp_path)), strategy=wide).run()
    write_json(tmp_path / "results.json", data)
    (finding,) = data["findings"]
    assert finding["oracle"]["mode"] == "projected"
    fresh = registry.Registry(discover_plugins=False)
    fresh.register(WrongValue())
    monkeypatch.setattr(registry, "_default", fresh)
    status = cli.main(["replay", str(tmp_path / "results.json"), "--id", "F001", "--isolate", "none"])
    out, err = capsys.readouterr()
    assert status == 1 and "still present: F001 reproduces (wrong-value)" in out, out + err
    worst = next(line for line in out.splitlines() if "worst projection" in line)
    oracle = float(worst.split("oracle ")[1].split(" ±")[0])
    backend = float(worst.split("backend ")[1])
    assert backend == pytest.approx(2 * oracle, rel=1e-9) and oracle != 0


def test_a_fixed_finding_whose_vjp_is_now_exact_prints_the_values():
    """A fixed backend that matches the oracle exactly (neg, mul) leaves no worst component: replay's value lines
    indexed a whole array with () and raised TypeError instead of saying 'no longer reproduces'."""
    import numpy as np

    from advalidate import Builder
    from advalidate.backends.numpy_ref import NumpyReference
    from advalidate.check import check_example
    from advalidate.cli_replay import _values

    b = Builder()
    result = check_example(b.build(b.neg(b.input(3))), [np.array([0.5, -1.0, 2.0])], [np.ones(3)],
                           [NumpyReference()], measure_work=False)
    outcome = result.outcomes[0]
    assert outcome.comparison.worst is None
    lines = _values(outcome, result.oracle)
    assert lines[0].startswith("  oracle VJP:") and lines[1].startswith("  backend VJP:")


# ---------------------------------------------------------------- run_conformance's failure message

def _conformance_failure(out, backend=None):
    from advalidate.testing import run_conformance

    from .planted_backends import WrongValue

    with pytest.raises(AssertionError) as raised:
        run_conformance(backend or WrongValue, max_examples=3, dtypes=["float64"], out=out)
    return str(raised.value)


def test_run_conformance_writes_what_its_message_names_and_the_replay_it_prints_runs(tmp_path):
    """The files it names exist (results.json, the report, each finding's script) and each finding's replay line,
    run as printed through the installed command, reproduces it: the backend, not registered, is named by path."""
    message = _conformance_failure(tmp_path / "out")
    folder = tmp_path / "out" / "float64"
    assert f"{folder / 'results.json'}, report {folder / 'index.html'}" in message
    assert (folder / "results.json").is_file() and (folder / "index.html").is_file()
    data = results(folder / "results.json")
    unexpected = [f for f in data["findings"] if not f["known"]]
    assert unexpected and all(f["replay"].endswith("--backend tests.planted_backends:WrongValue") for f in unexpected)
    replays = [line.split("replay: ", 1)[1] for line in message.splitlines() if line.startswith("  replay: ")]
    assert replays == [f["replay"] for f in unexpected]
    scripts = [line.split("bug report: ", 1)[1] for line in message.splitlines() if line.startswith("  bug report: ")]
    assert scripts and all(Path(s).is_file() for s in scripts)
    assert unexpected[0]["replay"] in Path(scripts[0]).read_text()  # the script's header names the same command
    argv = shlex.split(replays[0])
    assert argv[0] == "advalidate"
    done = run(argv[1:], environment(tmp_path), tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"still present: {unexpected[0]['id']} reproduces (wrong-value)" in done.stdout.splitlines()[-1]


def test_replay_backend_by_path_must_be_the_findings_backend(tmp_path):
    _conformance_failure(tmp_path)
    path = tmp_path / "float64" / "results.json"
    finding = next(f for f in results(path)["findings"] if not f["known"])
    done = run(["replay", str(path), "--id", finding["id"], "--backend", "tests.planted_backends:NanInf"],
               environment(tmp_path), tmp_path)
    assert done.returncode == 2
    assert "it is the backend 'planted-nan-inf', the finding's is 'planted-wrong-value'" in done.stderr
    done = run(["replay", str(path), "--id", finding["id"]], environment(tmp_path), tmp_path)
    assert done.returncode == 2 and "--backend MODULE:ATTR" in done.stderr  # not registered: the way out is named


def test_run_conformance_says_when_its_backend_cannot_be_replayed_by_path(tmp_path):
    from .planted_backends import WrongValue

    class Local(WrongValue):  # defined in a function: no import path reaches it
        pass

    message = _conformance_failure(tmp_path, Local)
    assert "Local is defined where a new process cannot import it" in message
    assert "--backend" not in message


def test_run_takes_a_backend_that_is_not_registered_by_path_and_its_findings_replay_as_printed(tmp_path):
    """`advalidate run --backend module:Class`: a backend under development, run like a plug-in (in a worker); its
    findings' replay commands (and their scripts' headers) name the path, and run as printed."""
    out = tmp_path / "out"
    env = environment(tmp_path)
    done = run(["run", "--backend", "tests.planted_backends:WrongValue", "--max-examples", "3", "--seed", "3",
                "--no-probes", "--no-cost", "--mode", "vjp", "--out", str(out)], env, tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr  # unexpected findings
    data = results(out / "results.json")
    assert [b["name"] for b in data["backends"]] == ["planted-wrong-value"]
    finding = next(f for f in data["findings"] if not f["known"])
    assert finding["replay"] == f"advalidate replay {out}/results.json --id {finding['id']} " \
                                "--backend tests.planted_backends:WrongValue"
    assert f"#   {finding['replay']}\n" in finding["script"]
    again = run(shlex.split(finding["replay"])[1:], env, tmp_path)
    assert again.returncode == 1 and f"still present: {finding['id']}" in again.stdout, again.stdout + again.stderr
    bad = run(["run", "--backend", "tests.planted_backends:Nope", "--max-examples", "3", "--out", str(out)], env,
              tmp_path)
    assert bad.returncode == 2
    assert "module 'tests.planted_backends' has no attribute 'Nope'" in bad.stderr


# ---------------------------------------------------------------- advalidate known: a finding as a known entry

def test_known_drafts_entries_that_explain_the_findings_of_the_same_run(planted, regular_run, tmp_path):
    """`advalidate known RESULTS --unexpected --append DIR` writes each finding as an entry of DIR/<backend>.txt, and
    the same run with `--known-dir DIR` has no unexpected finding: every entry matches, and is replayed present."""
    broken, _, root = planted
    env = environment(root, broken)
    folder = tmp_path / "known"
    done = run(["known", str(regular_run), "--unexpected", "--append", str(folder), "--issue", "https://example.org/1"],
               env, root)
    assert done.returncode == 0, done.stderr
    data = results(regular_run)
    assert sorted(p.name for p in folder.iterdir()) == sorted({f"{f['backend']}.txt" for f in data["findings"]})
    text = (folder / "planted-wrong-value.txt").read_text()
    assert "    oracle: x0 = " in text and "    library: x0 = " in text and "    issue: https://example.org/1" in text
    assert "    ratio: " in (folder / "planted-cost-bound.txt").read_text()
    again = run(["run", "--max-examples", "4", "--seed", "3", "--out", str(tmp_path / "again"),
                 "--known-dir", str(folder), *[a for k in REGULAR_KINDS for a in ("--backend", f"planted-{k}")]],
                env, root)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    replayed = results(tmp_path / "again" / "results.json")["known"]
    mine = [r for r in replayed if str(folder) in r["source"]]
    assert len(mine) == len(data["findings"]) and all(r["status"] == "present" for r in mine), \
        [(r["source"], r["status"]) for r in mine]


def test_known_names_what_it_cannot_draft(regular_run, tmp_path):
    finding = results(regular_run)["findings"][0]
    done = run(["known", str(regular_run), "--id", finding["id"], "--pattern", "*no_such_primitive*"], {}, tmp_path)
    assert done.returncode == 2
    assert f"the entry '{finding['kind']} *no_such_primitive*' would not match the finding" in done.stderr
    done = run(["known", str(regular_run), "--id", "F999"], {}, tmp_path)
    assert done.returncode == 2 and "no finding 'F999'" in done.stderr


def test_run_conformance_takes_the_campaigns_settings_and_names_an_unknown_one(tmp_path):
    """probes=False and modes=("vjp",): a planted bug is found in a handful of examples, no probe run; a misspelt
    setting is a TypeError listing the real ones."""
    from advalidate.testing import run_conformance

    from .planted_backends import WrongValue

    with pytest.raises(AssertionError, match="planted-wrong-value: "):
        run_conformance(WrongValue, max_examples=3, dtypes=["float64"], out=tmp_path, probes=False, modes=("vjp",),
                        replay_known=False)
    data = results(tmp_path / "float64" / "results.json")
    assert data["summary"]["probes"] == 0 and data["settings"]["modes"] == ["vjp"]
    with pytest.raises(TypeError, match=r"unknown setting\(s\) probe; the settings are .*probes"):
        run_conformance(WrongValue, max_examples=3, probe=False)


def test_run_names_the_line_of_a_malformed_known_dir_file(tmp_path):
    folder = tmp_path / "known"
    folder.mkdir()
    (folder / "numpy-ref.txt").write_text("wrong-value *sin*\n    inputs: x0 = 1.0\n    cotangents: 1.0\n    mode: up\n")
    done = run(["run", "--backend", "numpy-ref", "--max-examples", "1", "--known-dir", str(folder), "--out",
                str(tmp_path / "out")], environment(tmp_path), tmp_path)
    assert done.returncode == 2, done.stderr
    assert f"advalidate run: {folder / 'numpy-ref.txt'}:" in done.stderr and "Traceback" not in done.stderr

"""Scale-out and reliability: parallel workers, a shared example database, SIGTERM and --resume, HypoFuzz."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from advalidate.campaign import Campaign, Settings
from advalidate.merge import merge_results
from advalidate.results import load, validate

from .helpers import bad_tanh, chains, install_fake_distribution

ADVALIDATE = [sys.executable, "-m", "advalidate.cli"]


def _run(*args, **kw):
    return subprocess.run(ADVALIDATE + list(args), capture_output=True, text=True, **kw)


def test_two_workers_under_xdist_write_one_valid_results_file(tmp_path):
    out = tmp_path / "out"
    done = _run("run", "--workers", "2", "--backend", "numpy-ref", "--max-examples", "30", "--no-cost",
                "--out", str(out), timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    results = load(out / "results.json")
    validate(results)
    assert results["summary"]["examples"] == 30 and results["settings"]["workers"] == 2
    assert results["known"]  # one shard replayed numpy-ref's known behaviours
    assert len(list((out / "shards").glob("shard-*.json"))) == 2 and (out / "index.html").exists()
    shards = results["progress"]["shards"]
    assert [s["seed"] for s in shards] == [0, 1_000_003] and sum(s["examples"] for s in shards) == 30
    # the same shards straight from pytest, into the same folder: the earlier run's budget counter is cleared
    # (else this run would find the budget spent), and the plugin merges the shards itself
    (out / "results.json").unlink()
    direct = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "2", "--pyargs",
                             "advalidate.conformance.test_shards", "--advalidate-shards", "2",
                             "--advalidate-max-examples", "30", "--advalidate-backend", "numpy-ref",
                             "--advalidate-no-cost", "--advalidate-out", str(out)],
                            capture_output=True, text=True, timeout=600, cwd=out)
    assert direct.returncode == 0, direct.stdout + direct.stderr
    again = load(out / "results.json")
    validate(again)
    assert again["summary"]["examples"] == 30


def _claim_all(folder, total, shard, claims):
    from advalidate.shards import SharedBudget

    budget = SharedBudget(folder, total, shard)
    n = 0
    while budget.claim():
        n += 1
    claims.put(n)


def test_shards_claim_exactly_the_budget_between_them(tmp_path):
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    claims = ctx.Queue()
    procs = [ctx.Process(target=_claim_all, args=(tmp_path, 2000, k, claims)) for k in range(3)]
    for proc in procs:
        proc.start()
    counts = [claims.get(timeout=120) for _ in procs]
    for proc in procs:
        proc.join(60)
    assert sum(counts) == 2000, counts


def test_a_finding_another_shard_kept_is_not_shrunk_again(tmp_path):
    from advalidate.shards import SharedBudget

    mine = SharedBudget(tmp_path, 40, shard=1)
    alone = Campaign([bad_tanh()], Settings(max_examples=40, seed=2), strategy=chains(), budget=mine).run()
    assert [f["signature"] for f in alone["findings"]] == ["tanh"]  # the control: this seed finds it
    assert [list(k) for k in alone["progress"]["seen"]] == [["bad-tanh", "wrong-value", "tanh", "regular"]]
    # shard 0 of a new run has already kept it (published in the shared folder): shard 1 goes on without it
    shared = tmp_path / "run2"
    SharedBudget(shared, 40, shard=0).publish({("bad-tanh", "wrong-value", "tanh", "regular")})
    other = Campaign([bad_tanh()], Settings(max_examples=40, seed=2), strategy=chains(),
                     budget=SharedBudget(shared, 40, shard=1)).run()
    assert other["findings"] == [] and other["summary"]["examples"] == 40


def test_no_known_replay_reaches_the_workers(tmp_path):
    out = tmp_path / "out"
    done = _run("run", "--workers", "2", "--backend", "numpy-ref", "--max-examples", "4", "--no-cost", "--no-probes",
                "--no-known-replay", "--out", str(out), timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert load(out / "results.json")["known"] == []


def test_two_workers_isolate_a_plugin_that_segfaults(tmp_path):
    # test_isolation's Segfaults (it segfaults on exp) as an installed plug-in, found through its entry point only
    plugins = install_fake_distribution(tmp_path / "plugins", "fake-crash",
                                        {"segfaults": "tests.test_isolation:Segfaults"}, {})
    root = str(Path(__file__).resolve().parents[1])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(plugins), root, os.environ.get("PYTHONPATH", "")]))
    env.pop("ADVALIDATE_DISABLE_PLUGINS", None)
    out = tmp_path / "out"
    done = _run("run", "--workers", "2", "--backend", "numpy-ref", "--backend", "segfaults", "--max-examples", "30",
                "--no-cost", "--no-probes", "--no-special", "--timeout", "30", "--out", str(out), timeout=600, env=env)
    assert done.returncode == 1, done.stdout + done.stderr  # unexpected findings, not a crash of the run
    results = load(out / "results.json")
    validate(results)
    assert results["complete"] and results["summary"]["examples"] == 30
    crashes = [f for f in results["findings"] if f["backend"] == "segfaults"]
    assert crashes and all("process died" in f["message"] and "exit code -11" in f["message"] for f in crashes)
    ref = results["stats"]["backends"]["numpy-ref"]  # judged on every example beside the crashing plug-in
    assert "finding" not in ref and ref["pass"] + ref.get("skipped", 0) == 30 and ref["pass"] >= 25, ref
    assert "segfaults" in (out / "index.html").read_text()


def test_merging_shards_deduplicates_findings_and_sums_statistics():
    parts = [Campaign([bad_tanh()], Settings(max_examples=30, seed=s), strategy=chains()).run() for s in (1, 2)]
    merged = merge_results(parts)
    validate(merged)
    assert merged["summary"]["examples"] == 60
    assert [f["signature"] for f in merged["findings"]] == ["tanh"] and merged["findings"][0]["id"] == "F001"
    assert merged["stats"]["backends"]["bad-tanh"]["pass"] == sum(p["stats"]["backends"]["bad-tanh"]["pass"]
                                                                    for p in parts)
    from advalidate.report import render_report

    assert "2 workers (30 examples from seed 1, 30 examples from seed 2)" in render_report(merged)
    assert "workers (" not in render_report(parts[0])


def test_sigterm_leaves_valid_partial_results_and_resume_finishes_without_redoing(tmp_path):
    out = tmp_path / "out"
    args = ["run", "--backend", "numpy-ref", "--max-examples", "400", "--no-cost", "--no-probes", "--no-special",
            "--out", str(out)]
    proc = subprocess.Popen(ADVALIDATE + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # signalled once the first progress line (40 of 400 examples) is out: the campaign is surely under way
    # (waiting for a file could see the final results of a campaign that has finished already)
    line = proc.stdout.readline()
    assert line.startswith("checked "), line + proc.stderr.read()
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    partial = load(out / "results.json")
    validate(partial)
    done_before = partial["summary"]["examples"]
    assert not partial["complete"] and 0 < done_before < 400
    resumed = _run(*args, "--resume", timeout=600)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    final = load(out / "results.json")
    validate(final)
    assert final["complete"] and final["summary"]["examples"] == 400
    # the first session's examples were not redone: the backend saw each of the 400 once (a few are skipped points)
    assert sum(final["stats"]["backends"]["numpy-ref"].values()) == 400
    assert final["progress"]["resumes"] == 1
    again = _run(*args, "--resume", timeout=120)
    assert again.returncode == 2 and "nothing to resume" in again.stderr


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def redis_url(tmp_path):
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed (.ci/run installs Debian's redis-server)")
    pytest.importorskip("redis")
    port = _free_port()
    proc = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(tmp_path)], stdout=subprocess.DEVNULL)
    import redis

    client = redis.Redis(port=port)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(10)


def _replays_on_another_worker(database, stored):
    """``stored()``: the number of examples the database holds."""
    first = Campaign([bad_tanh()], Settings(max_examples=60, seed=1, database=database), strategy=chains()).run()
    assert [f["signature"] for f in first["findings"]] == ["tanh"]
    assert stored() > 0, "nothing was saved in the shared database"
    # another worker, another seed, one example: its own draw finds nothing (the control)...
    control = Campaign([bad_tanh()], Settings(max_examples=1, seed=99), strategy=chains()).run()
    assert control["findings"] == [] and control["summary"]["examples"] == 1
    # ...but with the shared database, the saved counterexample is replayed first
    second = Campaign([bad_tanh()], Settings(max_examples=1, seed=99, database=database), strategy=chains()).run()
    assert [f["signature"] for f in second["findings"]] == ["tanh"]
    assert second["findings"][0]["inputs"] == first["findings"][0]["inputs"]
    assert second["summary"]["examples"] == 1
    # later rounds do not replay what the campaign has just kept (Hypothesis would delete it, no longer new,
    # from the database every worker shares)
    before = stored()
    for _ in range(2):
        later = Campaign([bad_tanh()], Settings(max_examples=5, seed=7, database=database), strategy=chains()).run()
        assert later["progress"]["rounds"] >= 2 and stored() >= before


def test_a_counterexample_in_a_shared_directory_database_replays_on_another_worker(tmp_path):
    db = tmp_path / "db"
    _replays_on_another_worker(str(db), lambda: sum(1 for p in db.rglob("*") if p.is_file()))


def test_a_counterexample_in_a_shared_redis_database_replays_on_another_worker(redis_url):
    import redis

    client = redis.Redis.from_url(redis_url)
    _replays_on_another_worker(redis_url, lambda: sum(client.scard(k) for k in client.keys(b"advalidate:float64-*")))


def test_hypofuzz_collects_the_fuzz_target(tmp_path):
    pytest.importorskip("hypofuzz.collection")
    # in a process of its own, as `hypothesis fuzz` runs it (a pytest session nested in an xdist worker collects
    # nothing)
    code = ("from hypofuzz.collection import collect_tests\n"
            "r = collect_tests(['--pyargs', 'advalidate.conformance.test_fuzz', '-p', 'no:cacheprovider'])\n"
            "print('TARGETS', [t.nodeid.split('::')[-1] for t in r.fuzz_targets], r.not_collected)")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "HYPOTHESIS", "COV_"))}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=tmp_path,
                          env=env)
    assert "TARGETS ['test_vjp_fuzz']" in done.stdout, done.stdout[-2000:] + done.stderr[-2000:]


COMPILE_ONCE = """
from jax._src import monitoring
hits = []
monitoring.register_event_listener(lambda name, **kw: hits.append(name) if name.endswith("cache_hits") else None)
import numpy as np
from advalidate.backends.jax_backend import JaxBackend
from advalidate.builder import single
fn = single("tanh", (3,))
JaxBackend().vjp(fn, [np.linspace(-1, 1, 3)], [np.ones(3)])
print(len(hits))
"""


def test_workers_share_one_jax_compilation_cache_and_it_is_removed_after(tmp_path):
    pytest.importorskip("jax")
    from advalidate.parallel import JAX_CACHE, shared_compile_cache

    with shared_compile_cache({"PATH": os.environ["PATH"]}) as env:
        folder = env[JAX_CACHE]
        assert env["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] == "0"
        env = dict(os.environ, **env)
        runs = [subprocess.run([sys.executable, "-c", COMPILE_ONCE], capture_output=True, text=True, env=env,
                               timeout=300) for _ in range(2)]
        assert all(r.returncode == 0 for r in runs), [r.stderr for r in runs]
        assert os.listdir(folder), "the first worker wrote nothing to the shared cache"
        assert int(runs[0].stdout.split()[-1]) == 0 and int(runs[1].stdout.split()[-1]) > 0  # the second loads
    assert not os.path.exists(folder)
    # a cache the user configured is used as it is, and kept
    mine = tmp_path / "mine"
    with shared_compile_cache({JAX_CACHE: str(mine)}) as env:
        assert env == {JAX_CACHE: str(mine)}


def test_workers_without_pytest_xdist_is_a_clear_usage_error(tmp_path, monkeypatch, capsys):
    import importlib.util

    from advalidate.cli import main

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "xdist" else real(name, *a))
    assert main(["run", "--workers", "2", "--backend", "numpy-ref", "--out", str(tmp_path)]) == 2
    assert "xdist is not installed: pip install 'advalidate[parallel]'" in capsys.readouterr().err
    assert not (tmp_path / "results.json").exists()

"""Known behaviours: the file format (its round trip, its parse errors) and the replay of each entry's minimal
example (present on the library, fixed where the backend now passes it)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from advalidate.backends.numpy_ref import NumpyReference
from advalidate.ir import Function, Node
from advalidate.known import (Entry, Example, KnownBehaviours, KnownFormatError, format_array, format_entry,
                              format_function, parse, parse_arrays, parse_function)
from advalidate.known_replay import fixed_lines, replay, summary_line

from .helpers import bad_tanh

SHIPPED = ("jax", "jax-jit", "torch", "autograd", "numpy-ref")


# ---------------------------------------------------------------- the format


def test_every_shipped_entry_parses_and_reads_back_from_its_own_text():
    known = KnownBehaviours.load(SHIPPED)
    assert len(known.entries) > 60
    for entry in known.entries:
        again = parse(format_entry(entry), entry.backend, "again.txt")
        assert len(again) == 1
        assert again[0].example == entry.example and again[0].patterns == entry.patterns
        assert again[0].evidence == entry.evidence and again[0].comment == entry.comment, entry.source
        assert again[0].no_example == entry.no_example and again[0].mode == entry.mode


def test_every_shipped_entry_has_an_example_or_says_why_not():
    for entry in KnownBehaviours.load(SHIPPED).entries:
        assert (entry.example is None) != (not entry.no_example), entry.source
        if entry.example is not None:
            assert entry.evidence_field("version"), f"{entry.source}: no library version in its evidence"


SPECIAL = [0.0, -0.0, math.inf, -math.inf, 5e-324, 2.2250738585072014e-308, 2.6e-317, 1.2100416272066182e155,
           -1.7976931348623157e308, 0.1, 1 / 3]


def test_floats_round_trip_exactly_with_inf_nan_signed_zero_and_subnormals():
    a = np.array(SPECIAL + [math.nan])
    (back,) = parse_arrays(format_array(a))
    assert back.tobytes() == a.tobytes()  # bit for bit: -0.0 stays -0.0, each subnormal its own value
    f32 = np.array([1.561770960563902e-39, 1.5414283107572988e-44, -0.0, 3.4028234663852886e38], np.float32)
    (back32,) = parse_arrays(format_array(f32), dtype="float32")
    assert back32.dtype == np.float32 and back32.tobytes() == f32.tobytes()


def test_arrays_of_one_value_and_evenly_spaced_ones_are_written_compactly():
    assert format_array(np.full((8, 16), -0.0)) == "full((8, 16), -0.0)"
    ramp = np.linspace(0.5, 2.0, 128).reshape(8, 16)
    assert format_array(ramp) == "linspace((8, 16), 0.5, 2.0)"
    (back,) = parse_arrays("linspace((8, 16), 0.5, 2.0)")
    assert back.tobytes() == ramp.tobytes()
    assert format_array(np.float64(2.5)) == "2.5" and format_array([[1.0], [2.0]]) == "[[1.0], [2.0]]"


FUNCTIONS = [
    Function(((),), (Node.make("tanh", "x0"),), ("v0",)),
    Function(((), ()), (Node.make("hypot", "x0", "x1"),), ("v0",)),
    Function(((2,),), (Node.make("atan2", "x0", "x0"), Node.make("sum", "v0")), ("v1",), "float32"),
    # a value used twice is bound to its name
    Function(((),), (Node.make("reshape", "x0", shape=(1,)), Node.make("where", "v0", "v0", "x0")), ("v1",)),
    Function(((2,), (2, 2), (2, 2)), (Node.make("matmul", "x1", "x0"), Node.make("tanh", "v0"),
                                      Node.make("matmul", "x2", "v1")), ("v2",)),
    # two outputs, one of them also an operand
    Function(((2,),), (Node.make("sin", "x0"), Node.make("cos", "x0"), Node.make("mul", "v1", "v0")), ("v2", "v0")),
    # nodes in an order the nested expression would not give
    Function(((2,),), (Node.make("sin", "x0"), Node.make("cos", "x0"), Node.make("mul", "v1", "v0")), ("v2",)),
    Function(((3, 4),), (Node.make("index", "x0", key=((0, 2, None), 1)), Node.make("sum", "v0", axis=0)), ("v1",)),
]


@pytest.mark.parametrize("fn", FUNCTIONS, ids=lambda f: format_function(f))
def test_the_expression_form_reads_back_to_the_same_function(fn):
    text = format_function(fn)
    assert "\n" not in text
    assert parse_function(text, fn.inputs, fn.dtype) == fn


def test_the_expression_form_reads_as_the_catalogue_names():
    assert format_function(FUNCTIONS[2]) == "sum(atan2(x0, x0))"
    assert format_function(FUNCTIONS[3]) == "v0 = reshape(x0, shape=(1,)); where(v0, v0, x0)"
    assert format_function(FUNCTIONS[4]) == "matmul(x2, tanh(matmul(x1, x0)))"


ENTRY = """# the evidence, in words
wrong-value tanh  # trailing words
    function: tanh(x0)
    inputs: x0 = [0.5, -0.25]
    cotangents: [1.0, 2.0]
    oracle: x0 = [0.7864477329659274, 1.880029697612756]
    library: x0 = [0.5378828427399902, 2.4898373248074184]
    version: numpy 2.4
    issue: https://example.org/issues/1#c2
"""


def test_an_entry_reads_with_its_example_and_evidence():
    (entry,) = parse(ENTRY, "bad-tanh", "bad-tanh.txt")
    assert entry.source == "bad-tanh.txt:2" and entry.kind == "wrong-value" and entry.patterns == ("tanh",)
    assert entry.comment == "the evidence, in words trailing words"
    assert entry.example.function == Function(((2,),), (Node.make("tanh", "x0"),), ("v0",))
    assert entry.example.inputs[0].tolist() == [0.5, -0.25] and entry.example.cotangents[0].tolist() == [1.0, 2.0]
    assert entry.evidence_field("issue") == "https://example.org/issues/1#c2"  # a '#' in a field is kept
    assert entry.matches("bad-tanh", "wrong-value", "tanh") and not entry.matches("bad-tanh", "nan-inf", "tanh")


def test_an_entry_may_name_several_patterns():
    (entry,) = parse("cost-bound max max+* *+max\n    no example yet: not looked for\n", "b", "b.txt")
    assert entry.pattern == "max max+* *+max" and entry.no_example == "not looked for"
    assert entry.matches("b", "cost-bound", "max+sin") and not entry.matches("b", "cost-bound", "maximum")


def _field(text, old, new):
    assert old in text
    return text.replace(old, new)


BAD = [
    ("wrong tanh\n", "x.txt:1: expected '<kind> <signature pattern> ...'"),
    ("wrong-value\n", "x.txt:1: expected '<kind> <signature pattern> ...'"),
    ("    function: tanh(x0)\n", "x.txt:1: an indented field line with no entry header above it"),
    (_field(ENTRY, "    version:", "    versoin:"), "x.txt:8: expected '<field>: <value>'"),
    (_field(ENTRY, "    version: numpy 2.4\n", "    version: numpy 2.4\n    version: 2\n"),
     "x.txt:9: 'version' given twice"),
    (_field(ENTRY, "    function: tanh(x0)\n", ""), "x.txt:2: the entry has no function \\(give its minimal example, "
                                                 "or a 'no example yet: <why>' line\\)"),
    (_field(ENTRY, "tanh(x0)", "tanh(x1)"), "x.txt:3: function: 'x1' names no input"),
    (_field(ENTRY, "tanh(x0)", "tnah(x0)"),
     "x.txt:3: function: node v0: unknown primitive 'tnah' \\(did you mean 'tanh'\\?\\)"),
    (_field(ENTRY, "tanh(x0)", "tanh(x0"), "x.txt:3: function: does not parse"),
    (_field(ENTRY, "[0.5, -0.25]", "[0.5, -0.25"), "x.txt:4: inputs: does not parse"),
    (_field(ENTRY, "[0.5, -0.25]", "[0.5, 'a']"), "x.txt:4: inputs \\(x0\\): \"'a'\" is not a number"),
    (_field(ENTRY, "[0.5, -0.25]", "[[0.5], [1.0, 2.0]]"), "x.txt:4: inputs \\(x0\\): .* is not a rectangular array"),
    (_field(ENTRY, "x0 = [0.5, -0.25]", "x1 = [0.5, -0.25]"), "x.txt:4: inputs: name the inputs x0, x1, ... in order"),
    (_field(ENTRY, "cotangents: [1.0, 2.0]", "cotangents: [1.0]"), "x.txt:5: cotangents: shapes \\[\\(1,\\)\\] for "
                                                                   "outputs of shapes \\[\\(2,\\)\\]"),
    (_field(ENTRY, "    version:", "    dtype: float16\n    version:"), "x.txt:8: dtype: 'float16' is not one of"),
    (_field(ENTRY, "    version:", "    dtype: float32\n    version:").replace("0.5, -0.25", "0.1, -0.25"),
     "x.txt:4: inputs \\(x0\\): .* has values that are not float32 numbers"),
    (_field(ENTRY, "oracle: x0 = [", "oracle: x0 = [nope, "), "x.txt:6: oracle \\(x0\\): 'nope' is not a number"),
    (_field(ENTRY, "    version:", "    no example yet: lost\n    version:"),
     "x.txt:8: no example yet: 'no example yet' with function, inputs, cotangents given"),
]


@pytest.mark.parametrize("text, message", BAD, ids=[m.split(": ", 1)[1][:40] for _, m in BAD])
def test_a_bad_file_is_refused_naming_the_line_and_the_problem(text, message):
    with pytest.raises(KnownFormatError, match=message):
        parse(text, "b", "x.txt")


def test_files_load_from_any_folder_one_per_backend(tmp_path):
    (tmp_path / "bad-tanh.txt").write_text(ENTRY)
    other = tmp_path / "more"
    other.mkdir()
    (other / "bad-tanh.txt").write_text("nan-inf *exp*\n    no example yet: reported by a user, not reproduced\n")
    known = KnownBehaviours.load(["bad-tanh", "absent"], [tmp_path, other])
    assert [e.source for e in known.entries] == [f"{tmp_path}/bad-tanh.txt:2", f"{other}/bad-tanh.txt:1"]
    assert KnownBehaviours.load(["nonexistent-backend"]).entries == []


# ---------------------------------------------------------------- the replay


def _entries(text, backend):
    return KnownBehaviours(parse(text, backend, f"{backend}.txt"))


def test_replay_marks_a_behaviour_of_the_reference_tape_present():
    """numpy-ref's own tanh tail (the shipped entry, replayed on the real tape)."""
    known = KnownBehaviours(
        [e for e in KnownBehaviours.load(["numpy-ref"]).entries if e.pattern == "*tanh*" and e.mode == "vjp"])
    (record,) = replay(known, [NumpyReference()])
    assert record["status"] == "present" and record["signature"] == "tanh" and record["found_kind"] == "precision-loss"
    assert record["source"].startswith("advalidate/known/numpy-ref.txt:")
    assert record["oracle"] == [3.320564195864168e-32] and record["library"] == [0.0]
    assert record["example"]["function"] == "tanh(x0)" and record["example"]["inputs"] == "x0 = 36.93444131496278"


def test_replay_marks_a_planted_bug_present_and_fixed_on_a_backend_without_it():
    bug = bad_tanh()
    (present,) = replay(_entries(ENTRY, bug.name), [bug])
    assert present["status"] == "present" and present["library"] == [[0.5378828427399902, 2.4898373248074184]]
    fixed_backend = NumpyReference()
    (fixed,) = replay(_entries(ENTRY, fixed_backend.name), [fixed_backend])
    assert fixed["status"] == "fixed" and fixed["version"] == str(fixed_backend.version)
    assert fixed["oracle"] == fixed["library"] == [[0.7864477329659274, 1.880029697612756]]
    assert summary_line([present, fixed]) == "known behaviours: 1 present, 1 fixed"
    assert fixed_lines([present, fixed]) == [
        f"  fixed in numpy-ref {fixed_backend.version}: numpy-ref wrong-value tanh (numpy-ref.txt:2)"]


def test_replay_tells_another_finding_and_what_it_cannot_run():
    bug = bad_tanh()
    changed_kind = ENTRY.replace("wrong-value tanh", "nan-inf tanh")
    cost = "cost-bound *tanh*\n    function: tanh(x0)\n    inputs: x0 = 0.5\n    cotangents: 1.0\n"
    none_yet = "nan-inf *exp*\n    no example yet: seen once in a user's model, not reduced\n"
    text = "\n".join([changed_kind, cost, none_yet])
    changed, uncounted, missing = replay(_entries(text, bug.name), [bug], measure_work=False)
    assert changed["status"] == "changed" and changed["why"] == "the example now gives wrong-value on tanh"
    assert uncounted["status"] == "cannot run" and uncounted["why"] == "this run counts no work"
    assert missing["status"] == "no example" and missing["why"].startswith("seen once")
    assert summary_line([changed, uncounted, missing]) == \
        "known behaviours: 1 changed, 1 cannot run, 1 without an example"


def test_replay_of_a_jax_cost_bound_entry_is_present():
    pytest.importorskip("jax")
    from advalidate.backends.registry import default_registry

    jax = default_registry().load("jax").backend
    known = KnownBehaviours([e for e in KnownBehaviours.load(["jax"]).entries if e.pattern == "*div*"
                             and e.kind == "cost-bound" and e.mode == "vjp"])
    (record,) = replay(known, [jax])
    assert record["status"] == "present" and record["ratio"] == 7.0 and record["version"] == jax.version


def test_only_the_selected_backends_are_replayed():
    known = KnownBehaviours.load(["numpy-ref", "torch"])
    records = replay(known, [NumpyReference()])
    assert records and {r["backend"] for r in records} == {"numpy-ref"}
    assert all(r["status"] == "present" for r in records), [(r["source"], r["status"], r["why"]) for r in records]


# ---------------------------------------------------------------- in a campaign, the terminal and results.json


def _campaign(backends, known_dir, n=40, **kw):
    from advalidate.campaign import Campaign, Settings

    from .helpers import chains

    return Campaign(backends, Settings(max_examples=n, seed=1, known_dir=str(known_dir), **kw),
                    strategy=chains()).run()


def test_a_campaign_replays_the_known_behaviours_first_and_matches_its_findings(tmp_path):
    from advalidate.results import validate

    (tmp_path / "bad-tanh.txt").write_text(ENTRY + "\n" + "nan-inf *exp*\n    function: exp(x0)\n"
                                           "    inputs: x0 = 0.5\n    cotangents: 1.0\n")
    results = _campaign([bad_tanh()], tmp_path)
    (finding,) = results["findings"]
    assert finding["known"] and "evidence" in finding["known_note"]
    assert results["summary"]["unexpected"] == 0
    # the entry no finding matched is not a warning: its replay says the backend passes it
    assert [(k["pattern"], k["status"]) for k in results["known"]] == [("tanh", "present"), ("*exp*", "fixed")]
    assert "known_unmatched" not in results
    validate(results)


def test_a_run_that_counts_no_work_does_not_run_the_cost_entries(tmp_path):
    (tmp_path / "bad-tanh.txt").write_text(
        "cost-bound *sin*\n    function: sin(x0)\n    inputs: x0 = full((8, 16), 0.5)\n"
        "    cotangents: full((8, 16), 1.0)\n")
    (record,) = _campaign([bad_tanh()], tmp_path, n=5, measure_work=False)["known"]
    assert record["status"] == "cannot run" and record["why"] == "this run counts no work"
    (record,) = _campaign([bad_tanh()], tmp_path, n=5)["known"]
    assert record["status"] == "fixed"  # the tape's sin costs less than the bound


def test_the_terminal_shows_the_counts_and_names_the_fixed_ones(tmp_path, capsys):
    from advalidate.cli_run import _print_summary

    (tmp_path / "bad-tanh.txt").write_text(ENTRY)
    results = _campaign([bad_tanh()], tmp_path, n=3)
    fixed = dict(results["known"][0], status="fixed", version="2.0", source="b.txt:9")
    results["known"] = results["known"] + [fixed]
    _print_summary(results, tmp_path, None)
    captured = capsys.readouterr()
    assert "known behaviours: 1 present, 1 fixed\n  fixed in bad-tanh 2.0: bad-tanh wrong-value tanh (b.txt:9)\n" \
        in captured.out
    assert "matched no finding" not in captured.out + captured.err


def test_an_old_results_file_is_refused_clearly(tmp_path):
    from advalidate.results import load

    (tmp_path / "results.json").write_text('{"schema": "advalidate.results/1"}')
    with pytest.raises(ValueError, match="is not 'advalidate.results/2' \\(written by an older advalidate"):
        load(tmp_path / "results.json")


def test_advalidate_run_shows_the_known_behaviours_in_the_terminal_results_and_report(tmp_path):
    """Through the installed command: the shipped numpy-ref entries, then a folder of one's own where one
    behaviour is fixed."""
    import json

    from .cli_support import environment, run

    env = environment(tmp_path)
    done = run(["run", "--backend", "numpy-ref", "--max-examples", "5", "--no-cost", "--out", str(tmp_path / "a")],
               env, tmp_path)
    assert done.returncode == 0, done.stderr
    shipped = KnownBehaviours.load(["numpy-ref"]).entries
    assert f"known behaviours: {len(shipped)} present\n" in done.stdout
    assert "matched no finding" not in done.stdout + done.stderr
    results = json.loads((tmp_path / "a" / "results.json").read_text())
    assert [(k["source"], k["status"]) for k in results["known"]] == [(e.source, "present") for e in shipped]
    page = (tmp_path / "a" / "index.html").read_text()
    assert 'id="known"' in page and "sum(atan2(x0, x0))" in page and "x0 = 36.93444131496278" in page

    folder = tmp_path / "mine"  # a folder of one's own adds to the shipped files
    folder.mkdir()
    healed = ENTRY.replace("wrong-value tanh", "precision-loss *tanh*")  # tanh at 0.5: the tape is right
    (folder / "numpy-ref.txt").write_text(healed)
    done = run(["run", "--backend", "numpy-ref", "--max-examples", "5", "--no-cost", "--no-special", "--no-probes",
                "--out", str(tmp_path / "b"), "--known-dir", str(folder)], env, tmp_path)
    assert done.returncode == 0, done.stderr
    records = json.loads((tmp_path / "b" / "results.json").read_text())["known"]
    assert [r["source"] for r in records[:-1]] == [e.source for e in shipped]
    assert records[-1]["source"].startswith(str(folder / "numpy-ref.txt")) and records[-1]["status"] == "fixed"
    assert (f"known behaviours: {len(shipped)} present, 1 fixed\n  fixed in numpy-ref {records[-1]['version']}: "
            f"numpy-ref precision-loss *tanh* ({folder / 'numpy-ref.txt'}:" in done.stdout), done.stdout


def test_entries_that_cannot_run_for_one_reason_are_counted_not_listed():
    records = [{"backend": "b", "kind": "cost-bound", "pattern": f"*p{i}*", "source": f"b.txt:{i}",
                "status": "cannot run", "why": "this run counts no work", "version": "1"} for i in range(5)]
    records.append(dict(records[0], status="cannot run", why="b does not support float32"))
    assert fixed_lines(records) == ["  5 cannot run: this run counts no work",
                                    "  cannot run: b cost-bound *p0* (b.txt:0): b does not support float32"]
    assert summary_line(records) == "known behaviours: 6 cannot run"

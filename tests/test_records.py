"""Recorded runs (chapters/data/<chapter>/<profile>.json) and the chapter runner (make chapter).

* every record is current: its config equals the code's config for its profile today
  (``stale_fields`` empty), it names its profile and its chapter exists;
* the runner executes a tiny page and writes a page-level record of its parameters and glued
  numbers; bad input (chapter, profile, device) exits 2 with a message naming it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from sgdsde.book.records import stale_fields
from sgdsde.book.run_chapter import allowed_profiles, main
from sgdsde.experiments.record import Record
from sgdsde.experiments.registry import EXPERIMENTS, get_experiment

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = ROOT / "chapters"
RECORDS = sorted((CHAPTERS / "data").glob("*/*.json"))


def test_there_are_records():
    # the grokking page's GPU runs and at least one other chapter's larger run
    assert (CHAPTERS / "data" / "18_grokking" / "nanda.json") in RECORDS
    assert len({p.parent.name for p in RECORDS}) >= 2


@pytest.mark.parametrize("path", RECORDS, ids=[f"{p.parent.name}/{p.name}" for p in RECORDS])
def test_record_is_current(path):
    rel = path.relative_to(ROOT)
    rec = Record.from_json(path)
    chapter = CHAPTERS / f"{path.parent.name}.md"
    assert chapter.is_file(), f"{rel}: no chapter {chapter.name}"
    assert rec.profile == path.stem, f"{rel}: the record says profile {rec.profile!r}"
    if rec.experiment in EXPERIMENTS:
        stale = stale_fields(rec)
        assert not stale, (
            f"{rel} is stale: config fields (recorded, code) differ: {stale}; re-record it "
            f"(make chapter NAME={path.parent.name} PROFILE={path.stem}) or fix the profile"
        )
    else:
        assert rec.experiment == f"page:{path.parent.name}", f"{rel}: unknown experiment"
        assert rec.profile in allowed_profiles(chapter.read_text("utf-8")), (
            f"{rel}: profile {rec.profile!r} is not a profile of the page"
        )
    for key in ("device", "torch_version"):
        assert getattr(rec, key), f"{rel}: no {key}"


def test_stale_record_is_caught():
    C = get_experiment("grokking").Config
    cfg = C.profile("nanda")
    rec = Record("grokking", cfg.replace(lr=2e-3).to_dict(), {}, seed=0, profile="nanda")
    assert stale_fields(rec) == {"lr": (2e-3, 1e-3)}
    # a field one run never reads may be missing (records older than the field)
    d = cfg.to_dict()
    del d["compare_runs"]
    assert stale_fields(Record("grokking", d, {}, seed=0, profile="nanda")) == {}


TINY_PAGE = """---
jupytext:
  text_representation: {extension: .md, format_name: myst, format_version: 0.13}
kernelspec: {name: python3, display_name: Python 3}
---

# Tiny

```{code-cell} ipython3
:tags: [parameters]

from sgdsde.book import page_device, page_profile, page_seed

SEED = page_seed(3)
PROFILE = page_profile("ci")
DEVICE = page_device()
N, NAME = 10, "ten"
```

```{code-cell} ipython3
from myst_nb import glue

glue("total", float(N * SEED), display=False)
glue("what", NAME + " " + DEVICE, display=False)
```
"""


def test_runner_writes_notebook_and_page_record(tmp_path, capsys):
    chapters = tmp_path / "chapters"
    chapters.mkdir()
    (chapters / "tiny.md").write_text(TINY_PAGE, encoding="utf-8")
    rc = main(["tiny", "--chapters", str(chapters), "--seed", "5", "--timeout", "120"])
    assert rc == 0, capsys.readouterr().err
    assert (tmp_path / "_build" / "chapters" / "tiny-ci.ipynb").is_file()
    rec = Record.from_json(chapters / "data" / "tiny" / "ci.json")
    assert rec.experiment == "page:tiny" and rec.profile == "ci" and rec.seed == 5
    assert rec.config["parameters"] == {
        "SEED": 5, "PROFILE": "ci", "DEVICE": "cpu", "N": 10, "NAME": "ten"
    }
    assert rec.results == {"total": 50.0, "what": "ten cpu"}
    assert rec.wall_s > 0 and rec.device == "cpu" and rec.torch_version == torch.__version__
    json.loads((tmp_path / "_build" / "chapters" / "tiny-ci.ipynb").read_text("utf-8"))


@pytest.mark.parametrize(
    "args, needle",
    [
        (["no_such_chapter"], "unknown chapter 'no_such_chapter'"),
        (["18_grokking", "--profile", "huge"], "unknown profile 'huge' for chapter '18_grokking'"),
        (["18_grokking", "--device", "gpu"], "device must be one of"),
        (["tiny_missing.md"], "unknown chapter"),
    ],
)
def test_runner_bad_input(args, needle, capsys):
    assert main(args) == 2
    assert needle in capsys.readouterr().err


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is present")
def test_runner_cuda_absent(capsys):
    assert main(["18_grokking", "--device", "cuda"]) == 2
    assert "cuda" in capsys.readouterr().err


def test_page_profiles_come_from_the_experiment_configs():
    src = (CHAPTERS / "18_grokking.md").read_text("utf-8")
    assert {"ci", "gpu", "nanda", "nanda_frac50"} <= allowed_profiles(src)
    assert allowed_profiles((CHAPTERS / "01_notation.md").read_text("utf-8")) == {"ci"}


def test_no_gpu_settings_left_as_comments():
    # larger runs are named profiles (data), not "GPU: N = ..." comments in a parameters cell
    import re

    import jupytext

    bad = []
    for md in sorted(CHAPTERS.glob("*.md")):
        if "kernelspec:" not in md.read_text("utf-8")[:2000]:
            continue
        for cell in jupytext.read(md).cells:
            if "parameters" not in cell.get("metadata", {}).get("tags", []):
                continue
            for line in cell.source.splitlines():
                comment = line.partition("#")[2]
                if re.search(r"GPU[^\n]*\d", comment):
                    bad.append(f"{md.name}: {line.strip()}")
    assert not bad, bad


@pytest.mark.parametrize(
    "chapter", ["02_setup", "03_gradient_noise", "04_noise_covariance", "05_sde_limit", "06_clt",
                "07_stationary", "08_helmholtz", "09_assumptions", "15_heavy_tails",
                "16_deep_linear", "17_superposition", "18_grokking"],
)
def test_chapters_with_larger_runs_have_a_gpu_profile(chapter):
    assert {"ci", "gpu"} <= allowed_profiles((CHAPTERS / f"{chapter}.md").read_text("utf-8"))

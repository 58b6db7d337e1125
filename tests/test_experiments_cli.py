"""Configs, records and the command line of ``sgdsde.experiments`` (fast: tiny overrides)."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest
import torch

from sgdsde.experiments.__main__ import main
from sgdsde.experiments.record import Record
from sgdsde.experiments.registry import EXPERIMENTS, get_experiment

torch.set_num_threads(1)

#: Per experiment, overrides that make one run take a second or two.
TINY = {
    "wells": ["n_data=300", "strata=3", "noise_draws=1000", "depths=0.5,1.0", "lrs=0.05",
              "batches=1", "chains=8", "max_steps=200", "control=((0.5, 0.05, 1),)"],
    "deep_linear": ["gd_chains=3", "init_scales=0.01"],
    "superposition": ["densities=1.0,0.1", "replicas=1", "adam_steps=30", "noise_densities=0.5,",
                      "noise_replicas=2", "sgd_steps=30", "noise_batches=8,2"],
    "grokking": ["steps=4", "log_every=2", "noise_every=0"],
    "assumptions": ["n_data=224", "chains=8", "steps=150", "burn=30", "sched_steps=20"],
    "kesten": ["chains=1000", "steps=20", "lrs=1.0,", "levy_lrs=0.5,", "noise_draws=1000"],
    "escape_phase": ["n_data=300", "strata=3", "noise_draws=1000", "depths=0.5,1.0", "batches=1",
                     "chains=8", "max_steps=200"],
    "llc_dln": ["chains=2", "draws=4", "burnin=0", "polish_steps=10"],
    "ness": ["chains=32", "burn=4", "window=6", "eps_list=0.05,0.1"],
    "eos": ["n_data=20", "width=4", "teacher_width=4", "lr_fractions=0.5,", "steps=20", "record_every=10",
            "cf_steps=4", "toy_c=2.2,", "toy_steps=10", "toy_window=4", "toy_cf_steps=2"],
}


def test_every_registered_experiment_has_ci_and_gpu_profiles():
    assert set(TINY) == set(EXPERIMENTS)
    for name in EXPERIMENTS:
        C = get_experiment(name).Config
        assert {"ci", "gpu"} <= set(C.PROFILES)
        for prof in C.PROFILES.values():
            assert isinstance(prof, C) and hash(prof) is not None    # frozen, hashable
            assert C.from_dict(json.loads(json.dumps(prof.to_dict()))) == prof
        assert C.profile("gpu", seed=7).seed == 7


@pytest.mark.parametrize("name", sorted(TINY))
def test_cli_smoke_and_record_round_trip(name, tmp_path):
    out = tmp_path / f"{name}.json"
    args = [name, "--seed", "3", "--out", str(out)]
    for s in TINY[name]:
        args += ["--set", s]
    assert main(args) == 0
    rec = Record.from_json(out)
    assert rec.experiment == name and rec.seed == 3 and rec.profile == "ci"
    assert rec.torch_version == torch.__version__ and rec.device == "cpu" and rec.wall_s > 0
    assert Record.from_json(rec.to_json()) == rec
    C = get_experiment(name).Config
    assert C.from_dict(rec.config).seed == 3


def test_config_profile_errors_name_the_profile_and_field():
    C = get_experiment("wells").Config
    with pytest.raises(ValueError, match="unknown profile 'huge' for Config; choose one of"):
        C.profile("huge")
    with pytest.raises(ValueError, match=r"unknown field\(s\) \['chainz'\]"):
        C.profile("ci", chainz=3)
    with pytest.raises(ValueError, match="--set needs field=value"):
        C.parse_override("chains")
    assert C.parse_override("chains=12") == ("chains", 12)
    assert C.parse_override("alpha_data=2") == ("alpha_data", 2.0)   # int → float field
    assert C.parse_override("lrs=0.1") == ("lrs", (0.1,))             # scalar → tuple field


@pytest.mark.parametrize(
    "args, message",
    [
        (["welz"], "unknown experiment 'welz'"),
        (["wells", "--profile", "huge"], "unknown profile 'huge'"),
        (["wells", "--set", "chainz=3"], "unknown field(s) ['chainz']"),
        (["wells", "--set", "chains"], "--set needs field=value"),
        ([], "give an experiment name"),
    ],
)
def test_cli_bad_input_exits_2_with_a_message(args, message, capsys):
    assert main(args) == 2
    assert message in capsys.readouterr().err


def test_cli_cuda_without_cuda_exits_2(capsys):
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    assert main(["grokking", "--device", "cuda"]) == 2
    assert "cuda" in capsys.readouterr().err


def test_python_dash_m_entry_point():
    r = subprocess.run([sys.executable, "-m", "sgdsde.experiments", "--list"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "wells: profiles" in r.stdout
    r = subprocess.run([sys.executable, "-m", "sgdsde.experiments", "nope"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "unknown experiment 'nope'" in r.stderr


def test_record_keeps_infinities_and_rejects_foreign_json():
    r = Record("x", {"seed": 0}, {"t": [1.0, math.inf]}, seed=0)
    assert Record.from_json(r.to_json()).results["t"][1] == math.inf
    with pytest.raises(ValueError, match="not a Record"):
        Record.from_json('{"history": {}}')

"""Precision, memory format and threads (reid_bench.accel), and the bf16 paths they switch on.

The suite's other tests run in fp32 (conftest's ``portable_precision``); here bf16 is asked for
explicitly, so these paths are tested on any CPU (emulated where the CPU has no bf16 unit).
"""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest
import torch
from plain_presets import PLAIN_QUICK
from test_reid_toydata import make_toy_market, read_split

from reid_bench import accel, generators
from reid_bench.data import PoseTransferPairs, load_dataset
from reid_bench.errors import ReidBenchError
from reid_bench.generators.base import UntrainedGenerator
from reid_bench.generators.run_config import configure
from reid_bench.generators.training import train
from reid_bench.records import read_run_record
from reid_bench.reid import extract_features, train_reid

CPU = torch.device("cpu")


def test_auto_precision_follows_the_device_and_the_cpu(monkeypatch) -> None:
    assert accel.resolve_amp("auto", CPU) is None  # conftest: a CPU without native bf16
    monkeypatch.setattr(accel, "native_cpu_bf16", lambda: True)
    assert accel.resolve_amp("auto", CPU) == torch.bfloat16
    assert accel.resolve_amp(True, CPU) == torch.bfloat16
    assert accel.resolve_amp("off", CPU) is None and accel.resolve_amp(False, CPU) is None
    assert accel.resolve_amp("fp16", CPU) == torch.float16
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *args, **kwargs: False)
    assert accel.resolve_amp("auto", torch.device("cuda")) == torch.float16
    with pytest.raises(ReidBenchError, match="amp must be one of"):
        accel.resolve_amp("half", CPU)
    assert accel.precision_name(torch.bfloat16) == "bf16" and accel.precision_name(None) == "fp32"


def test_only_fp16_needs_a_loss_scaler() -> None:
    cuda = torch.device("cuda")
    assert not accel.grad_scaler(CPU, torch.bfloat16).is_enabled()
    assert not accel.grad_scaler(CPU, None).is_enabled()
    if torch.cuda.is_available():
        assert accel.grad_scaler(cuda, torch.float16).is_enabled()


def test_threads_are_shared_between_local_processes(monkeypatch) -> None:
    before = torch.get_num_threads()
    try:
        monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
        monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
        monkeypatch.setattr(accel.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)
        assert accel.configure_cpu_threads() == 2
        monkeypatch.setenv("OMP_NUM_THREADS", "1")
        torch.set_num_threads(3)
        assert accel.configure_cpu_threads() == 3  # an explicit OMP_NUM_THREADS is respected
    finally:
        torch.set_num_threads(before)


def test_cuda_loaders_use_workers_and_pinned_memory(monkeypatch) -> None:
    assert accel.loader_options(CPU) == {"num_workers": 0}
    monkeypatch.setattr(accel.os, "cpu_count", lambda: 16)
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "4")
    assert accel.loader_options(torch.device("cuda")) == {"num_workers": 4, "pin_memory": True,
                                                          "persistent_workers": True}


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list]:
    root = make_toy_market(tmp_path_factory.mktemp("accel") / "toy", train_ids=6, test_ids=6)
    return {split: read_split(root / folder) for split, folder in
            [("train", "bounding_box_train"), ("query", "query")]}


@pytest.mark.parametrize("trainer", ["ide", "siamese"])
def test_reid_trains_in_bf16_channels_last_and_its_features_match_fp32(trainer: str, toy: dict, tmp_path) -> None:
    settings = PLAIN_QUICK.reid.replace(backbone="tiny", height=64, width=32, batch_size=8, epochs=1,
                                       amp="bf16", channels_last=True)
    trained = train_reid(toy["train"], trainer, settings, tmp_path / "run", seed=0)
    assert read_run_record(tmp_path / "run" / "run.json")["environment"]["precision"] == "bf16"
    low = extract_features(trained.model, toy["query"], settings)
    full = extract_features(trained.model, toy["query"], settings.replace(amp="off", channels_last=False))
    assert low.dtype == np.float32 and np.isfinite(low).all()
    cosine = (low * full).sum(axis=1)  # both L2-normalised
    assert cosine.min() > 0.98


def suite_generators_to_train() -> list[str]:
    """The suite's own trainable generators (not identity / synth-oracle, which have nothing to train,
    nor generators a test module registers for itself)."""
    return [name for name in generators.names()
            if generators.get(name).__module__.startswith(("reid_bench.generators.", "reid_bench.baselines."))
            and not issubclass(generators.get(name), UntrainedGenerator)]


@pytest.mark.parametrize("name", suite_generators_to_train())
def test_every_generator_trains_a_step_in_bf16(name: str, people, tmp_path, no_vgg) -> None:
    config = configure(name, data=str(people), preset=PLAIN_QUICK.generator, steps=2, batch_size=2,
                       image_size=(128, 64), amp="bf16", log_every=1, sample_every=1000, checkpoint_every=1000)
    pairs = PoseTransferPairs(load_dataset(people), "train", needs=generators.get(name).needs, image_size=(128, 64))
    result = train(config, torch.utils.data.Subset(pairs, range(2)), tmp_path / name, progress=False)
    assert result.finished
    assert read_run_record(tmp_path / name / "run.json")["environment"]["precision"] == "bf16"
    with open(result.losses, newline="") as handle:
        rows = list(csv.DictReader(handle))
    totals = [float(row["g_total"]) for row in rows]
    assert len(totals) == 2 and all(math.isfinite(value) for value in totals)


def test_compiled_reid_training_matches_eager(toy: dict, tmp_path) -> None:
    settings = PLAIN_QUICK.reid.replace(backbone="tiny", height=64, width=32, batch_size=8, epochs=1,
                                                 amp="off", optimizer="sgd", lr=0.01)
    eager = train_reid(toy["train"], "ide", settings, tmp_path / "eager", seed=0)
    compiled = train_reid(toy["train"], "ide", settings.replace(compile="default"), tmp_path / "compiled", seed=0)
    assert compiled.model._compiled_call_impl is not None  # the forward really was compiled
    reference = eager.model.state_dict()
    for name, value in compiled.model.state_dict().items():  # same names: checkpoints are unchanged
        scale = reference[name].float().abs().max().clamp_min(1e-6)
        assert ((value.float() - reference[name].float()).abs().max() / scale) < 1e-3, name


def test_unknown_compile_mode_is_one_sentence() -> None:
    with pytest.raises(ReidBenchError, match="compile"):
        PLAIN_QUICK.reid.replace(compile="fast")
    with pytest.raises(ReidBenchError, match="compile must be one of"):
        accel.compile_module(torch.nn.Linear(1, 1), "fast")


def test_cpu_name_keeps_the_family_and_model_that_a_bare_model_name_hides() -> None:
    block = "processor\t: {n}\nvendor_id\t: AuthenticAMD\ncpu family\t: {f}\nmodel\t\t: 2\nmodel name\t: AMD EPYC\n"
    two_cores = block.format(n=0, f=26) + "\n" + block.format(n=1, f=25)
    assert accel.cpu_name(two_cores) == "AMD EPYC (family 26, model 2)"  # the first processor's block
    assert accel.cpu_name("model name\t: Intel(R) Xeon(R) Platinum 8488C\n") == "Intel(R) Xeon(R) Platinum 8488C"
    assert accel.cpu_name("") != ""  # no /proc/cpuinfo: the platform's name

"""Generator checkpoints: round trip, rebuild from options, clear errors on mismatches."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from generators_fixtures import random_batch

from reid_bench import generators
from reid_bench.errors import ReidBenchError
from reid_bench.generators import checkpoints

TINY = {"channels": 2, "blocks": 5, "perceptual": False}


def saved(tmp_path: Path, **options: object) -> Path:
    torch.manual_seed(0)
    model = generators.create("san", **{**TINY, **options})
    model(random_batch(2, 32, 16))  # move the BatchNorm statistics off their initial values
    return checkpoints.save(tmp_path / "generator.pt", checkpoints.record(model.eval(), {"step": 7}))


def test_load_rebuilds_the_same_model(tmp_path: Path) -> None:
    path = saved(tmp_path, attention="patn")
    original = torch.load(path, weights_only=True)
    model = generators.load(path)
    assert model.name == "san" and model.options == original["options"] and model.meta == {"step": 7}
    assert not model.training
    for key, value in model.state_dict().items():
        assert torch.equal(value, original["state_dict"][key])
    batch = random_batch(2, 32, 16)
    assert torch.equal(model(batch), generators.load(path, "san", blocks=5)(batch))


def test_asking_for_other_options_fails_clearly(tmp_path: Path) -> None:
    path = saved(tmp_path)
    with pytest.raises(ReidBenchError, match=r"holds generator 'san' with blocks=5; you asked for blocks=3"):
        generators.load(path, blocks=3)
    with pytest.raises(ReidBenchError, match="holds generator 'san', not 'pg2'"):
        generators.load(path, "pg2")


def test_weights_into_a_different_architecture_fail_clearly(tmp_path: Path) -> None:
    path = saved(tmp_path)
    other = generators.create("san", **{**TINY, "blocks": 3, "channels": 4})
    with pytest.raises(ReidBenchError, match=r"with blocks=5, channels=2; you asked for blocks=3, channels=4"):
        checkpoints.load_weights(other, checkpoints.read(path), path)


def test_not_a_checkpoint(tmp_path: Path) -> None:
    with pytest.raises(ReidBenchError, match="does not exist"):
        generators.load(tmp_path / "missing.pt")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a pickle")
    with pytest.raises(ReidBenchError, match="could not be read"):
        generators.load(junk)
    torch.save({"weights": torch.zeros(1)}, tmp_path / "foreign.pt")
    with pytest.raises(ReidBenchError, match="not a reid-bench generator checkpoint"):
        generators.load(tmp_path / "foreign.pt")

"""The identity generator (baselines/identity.py): the floor of every quality metric. Its sizes and
the shared loop writing its checkpoint at once: test_generator_contract.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from plain_presets import PLAIN_QUICK

from reid_bench import generators
from reid_bench.data import PoseTransferPairs, load_dataset
from reid_bench.data.synth import SynthConfig, render_dataset
from reid_bench.errors import ReidBenchError
from reid_bench.generators.generate import generate, output_name
from reid_bench.generators.run_config import configure
from reid_bench.generators.training import train


def test_registered_with_no_options_no_parameters_no_needs() -> None:
    assert "identity" in generators.names()
    model = generators.create("identity")
    assert model.needs == frozenset() and model.options == {} and not list(model.parameters())
    with pytest.raises(ReidBenchError, match="does not take"):
        generators.create("identity", channels=4)


@pytest.mark.parametrize("size", [(128, 64), (256, 256), (256, 176)])
def test_output_is_the_source_image(size: tuple[int, int]) -> None:
    source = torch.rand(2, 3, *size) * 2 - 1
    out = generators.create("identity")({"src_image": source, "tgt_image": -source})
    assert out.shape == (2, 3, *size) and torch.equal(out, source)


def test_checkpoint_loads_and_generate_writes_the_sources(tmp_path: Path) -> None:
    config = configure("identity", data="synthetic", preset=PLAIN_QUICK.generator)
    checkpoint = train(config, [{"src_image": torch.zeros(3, 8, 4)}], tmp_path / "identity", progress=False).generator
    model = generators.load(checkpoint, "identity")
    assert model.name == "identity" and model.meta["step"] == 0
    root = render_dataset(tmp_path / "sp", SynthConfig(identities=4), workers=1).root
    pairs = PoseTransferPairs(load_dataset(root), "test", needs=model.needs)
    summary = generate(model, pairs, tmp_path / "out", batch_size=4, progress=False)
    assert summary.written == len(pairs) > 0
    for source, target in pairs.pairs[:3]:
        written = np.asarray(Image.open(tmp_path / "out" / output_name(source.name, target.name)))
        expected = np.asarray(Image.open(source.path).convert("RGB"))
        assert np.array_equal(written, expected)

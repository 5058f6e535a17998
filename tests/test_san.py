"""SAN (generators/san.py): odd sizes, block counts, the paper's ablation switches, its options.
The checks every generator passes (sizes, gradients, the shared loop) are in test_generator_contract.py."""

from __future__ import annotations

import pytest
import torch
from generators_fixtures import TINY_OPTIONS, random_batch

from reid_bench import generators
from reid_bench.errors import ReidBenchError
from reid_bench.generators.base import count_parameters
from reid_bench.generators.san import SemanticAttentionBlock

TINY = TINY_OPTIONS["san"]


def test_a_small_odd_size_comes_back_exactly() -> None:
    """30x18 -> 15x9 -> 8x5 -> 4x3 -> 2x2 -> 1x1 and back: every transposed conv is given its size."""
    model = generators.create("san", **TINY)
    out = model(random_batch(2, 30, 18))
    assert out.shape == (2, 3, 30, 18)
    assert out.min() >= -1 and out.max() <= 1


@pytest.mark.parametrize("attention", ["paper", "patn"])
def test_each_block_adds_exactly_one_block_of_parameters(attention: str) -> None:
    one_block = count_parameters(SemanticAttentionBlock(4 * 4, attention))
    counts = [count_parameters(generators.create("san", channels=4, blocks=k, attention=attention))
              for k in range(1, 10)]
    assert [b - a for a, b in zip(counts, counts[1:])] == [one_block] * 8


def test_patn_form_adds_the_appearance_transform() -> None:
    paper = count_parameters(SemanticAttentionBlock(16, "paper"))
    patn = count_parameters(SemanticAttentionBlock(16, "patn"))
    assert patn - paper == 2 * (16 * 16 * 9) + 2 * (2 * 16)  # two bias-free 3x3 convs + two BatchNorms


@pytest.mark.parametrize("use_mask, appearance, semantic", [(True, 24, 21), (False, 23, 20)])
def test_mask_ablation_changes_the_pathway_inputs(use_mask: bool, appearance: int, semantic: int) -> None:
    model = generators.create("san", channels=2, blocks=1, use_mask=use_mask, perceptual=False).eval()
    batch = random_batch(1, 32, 16)
    appearance_in, semantic_in = model.pathway_inputs(batch)
    assert appearance_in.shape[1] == appearance and semantic_in.shape[1] == semantic
    assert model.appearance_encoder.stages[0][0].in_channels == appearance
    assert model.semantic_encoder.stages[0][0].in_channels == semantic
    assert torch.equal(appearance_in[:, :3], batch["src_image"])
    if use_mask:
        assert torch.equal(appearance_in[:, 3:4], batch["src_mask"])
        assert torch.equal(semantic_in[:, :1], batch["tgt_mask"])
    assert torch.equal(semantic_in[:, -20:], batch["tgt_parsing"])
    model(batch)  # runs without the masks


def test_output_depends_on_the_target_parsing() -> None:
    model = generators.create("san", **TINY).eval()
    batch = random_batch(1, 32, 16)
    other = dict(batch, tgt_parsing=batch["tgt_parsing"].flip(-1))
    assert not torch.allclose(model(batch), model(other))


def test_options_are_recorded_resolved_and_validated() -> None:
    model = generators.create("san", blocks=3, channels=8)
    assert model.options == {"channels": 8, "blocks": 3, "attention": "paper", "use_mask": True,
                             "perceptual": True, "perceptual_layer": "relu1_2",
                             "alpha": 10.0, "beta": 15.0, "gamma": 5.0}
    with pytest.raises(ReidBenchError, match="attention"):
        generators.create("san", attention="spatial")
    with pytest.raises(ReidBenchError, match="blocks"):
        generators.create("san", blocks=0)
    with pytest.raises(ReidBenchError, match="VGG-19 layer"):
        generators.create("san", perceptual_layer="relu9_9")
    with pytest.raises(ReidBenchError, match="does not take"):
        generators.create("san", depth=3)


def test_option_types_parse_command_line_values() -> None:
    types = generators.get("san").option_types()
    assert types == {"channels": int, "blocks": int, "attention": str, "use_mask": bool, "perceptual": bool,
                     "perceptual_layer": str, "alpha": float, "beta": float, "gamma": float}
    parsed = {key: types[key](text) for key, text in (("channels", "4"), ("blocks", "3"), ("alpha", "12.5"))}
    options = generators.create("san", **parsed).options
    assert (options["channels"], options["blocks"], options["alpha"]) == (4, 3, 12.5)


def test_paper_presets_use_the_paper_settings() -> None:
    presets = generators.get("san").preset_options
    assert (presets["market"]["alpha"], presets["market"]["beta"], presets["market"]["gamma"]) == (10, 15, 5)
    fashion = presets["deepfashion"]
    assert (fashion["alpha"], fashion["beta"], fashion["gamma"]) == (15, 1, 5)
    assert presets["market"]["blocks"] == presets["deepfashion"]["blocks"] == 5

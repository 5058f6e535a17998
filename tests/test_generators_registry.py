"""The generator registry: names, create, get, @register, and entry-point plug-ins."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from reid_bench import generators
from reid_bench.errors import ReidBenchError
from reid_bench.generators import registry
from reid_bench.generators.base import Generator

PLUGIN = '''
import torch
from torch import nn
from reid_bench.generators.base import Generator


class EchoGAN(Generator):
    """Returns the source image: the smallest generator there is."""

    needs = frozenset({"keypoints"})

    def __init__(self, gain: float = 1.0):
        super().__init__({"gain": gain})
        self.scale = nn.Parameter(torch.tensor(gain))

    def forward(self, batch):
        return torch.tanh(self.scale * batch["src_image"])

    def build_discriminators(self):
        return nn.ModuleDict()

    def generator_losses(self, batch, fake, discriminators, loss_networks):
        loss = (fake - batch["tgt_image"]).abs().mean()
        return {"total": loss, "l1": loss}

    def discriminator_losses(self, batch, fake, discriminators):
        return {"total": fake.sum() * 0}
'''


def test_san_is_registered_and_created_with_options() -> None:
    assert "san" in generators.names()
    model = generators.create("san", blocks=3, channels=4)
    assert isinstance(model, Generator) and model.name == "san" and model.options["blocks"] == 3
    assert generators.get("san").needs == {"parsing", "mask"}


def test_unknown_generator_names_the_known_ones() -> None:
    with pytest.raises(ReidBenchError, match="unknown generator 'nope'.*san"):
        generators.create("nope")


def test_register_decorator_and_name_clash() -> None:
    @generators.register(name="test-identity")
    class Identity(Generator):
        def __init__(self) -> None:
            super().__init__({})

        def forward(self, batch):  # type: ignore[override]
            return batch["src_image"]

        def build_discriminators(self):  # type: ignore[override]
            raise NotImplementedError

        def generator_losses(self, batch, fake, discriminators, loss_networks):  # type: ignore[override]
            raise NotImplementedError

        def discriminator_losses(self, batch, fake, discriminators):  # type: ignore[override]
            raise NotImplementedError

    try:
        assert "test-identity" in generators.names()
        assert generators.create("test-identity").name == "test-identity"
        with pytest.raises(ReidBenchError, match="registered twice"):
            generators.register(generators.get("san"), name="test-identity")
    finally:
        registry._REGISTRY.pop("test-identity")


def test_entry_point_plugin_registers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "echo_gan.py").write_text(PLUGIN)
    dist = tmp_path / "echo_gan-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: echo-gan\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(textwrap.dedent(f"""
        [{generators.ENTRY_POINT_GROUP}]
        echo = echo_gan:EchoGAN
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        assert "echo" in generators.names()
        model = generators.create("echo", gain=2.0)
        assert model.name == "echo" and model.options == {"gain": 2.0}
        assert generators.get("echo").needs == {"keypoints"}
    finally:
        registry._REGISTRY.pop("echo", None)


def test_broken_entry_point_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dist = tmp_path / "broken_gan-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-gan\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(f"[{generators.ENTRY_POINT_GROUP}]\nbroken = os:path\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ReidBenchError, match="not a reid_bench.generators.base.Generator subclass"):
        generators.names()

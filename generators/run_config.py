"""What a generator training run is: generator, resolved options, preset settings, VGG, data.

:func:`configure` resolves a preset, the user's overrides and the VGG-19 lookup into a
:class:`RunConfig` whose hash names the run's cache folder
(``$REID_BENCH_CACHE/generators/<name>-<hash>/``). The perceptual rule (DESIGN.md, "Weights and
the offline world"): when a generator has a perceptual term and VGG-19 is missing, a paper preset
(``require_vgg``) stops with the missing-weights message; the quick preset trains with
``perceptual=False`` and records ``perceptual: off (...)`` in run.json and the checkpoints. A
randomly initialised VGG is never used.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from reid_bench import presets, weights
from reid_bench.errors import ReidBenchError
from reid_bench.generators.base import UntrainedGenerator
from reid_bench.generators.registry import create, preset_options
from reid_bench.generators.registry import get as get_generator
from reid_bench.presets import GeneratorSettings
from reid_bench.storage import cache_root, config_hash

# GeneratorSettings fields hashed only when set
_LATER_FIELDS = ("epoch_pairs", "model_options", "identity_jitter", "region_colour_weight")


@dataclass(frozen=True)
class RunConfig:
    generator: str  # registry name
    options: dict[str, Any]  # every option of the generator, resolved (preset + user + perceptual rule)
    settings: GeneratorSettings
    perceptual: str  # "on (relu1_2)", "off (<why>)" or "not used"
    vgg_weights: str | None  # the VGG-19 file used, if any
    data: str  # the training data (dataset folder), part of the hash
    identity: str = "off"  # the frozen Re-ID network of the identity term, as IdentityGuide.describe() names it
    inputs: dict[str, str] = field(default_factory=dict)  # where the data's inputs came from when not from the
    # dataset's own files, e.g. {"parsing": "keypoints"} (reid_bench.data.inputs.input_sources); part of the hash

    def settings_dict(self) -> dict[str, Any]:
        settings = asdict(self.settings)
        settings["image_size"] = list(settings["image_size"]) if settings["image_size"] else None
        return settings

    def config_hash(self) -> str:
        """Hash of everything that changes the trained weights (not the VGG file's location). Fields added
        after a run was first cached enter it only when set, so earlier caches keep their names."""
        settings = {key: value for key, value in self.settings_dict().items()
                    if key not in _LATER_FIELDS or value is not None}
        return config_hash({"generator": self.generator, "options": self.options, "data": self.data,
                            "settings": settings, "perceptual": self.perceptual,
                            **({"identity": self.identity} if self.identity != "off" else {}),
                            **({"inputs": self.inputs} if self.inputs else {})})

    def default_out(self) -> Path:
        return cache_root() / "generators" / f"{self.generator}-{self.config_hash()}"

    def describe(self) -> dict[str, Any]:
        return {"generator": self.generator, "options": self.options, "settings": self.settings_dict(),
                "preset": self.settings.preset, "perceptual": self.perceptual, "identity": self.identity,
                "vgg_weights": self.vgg_weights, "data": self.data, "inputs": self.inputs,
                "config_hash": self.config_hash()}


def configure(generator: str, data: str, preset: str | GeneratorSettings = "quick",
              options: dict[str, Any] | None = None, vgg_weights: str | None = None, identity: str = "off",
              inputs: dict[str, str] | None = None, **overrides: Any) -> RunConfig:
    """Resolve a run: the settings of ``preset`` (a run preset's name, or the loop settings
    themselves) with ``overrides`` (e.g. ``steps=200``, ``None`` = keep), the generator's options
    under that preset (``settings.options_preset``) with the user's ``options`` on top, and the VGG-19
    rule. ``inputs`` names where the data's inputs came from (``RunConfig.inputs``).

    A generator class with ``needs_data_root = True`` (``synth-oracle``) gets ``data`` as its option
    ``data`` unless the user's ``options`` set it."""
    base = presets.get(preset).generator if isinstance(preset, str) else preset
    settings = replace(base, **{k: v for k, v in overrides.items() if v is not None})
    preset = settings.preset
    chosen = {**preset_options(generator, settings.options_preset), **(options or {})}
    if getattr(get_generator(generator), "needs_data_root", False):  # e.g. synth-oracle renders from the dataset
        chosen.setdefault("data", str(data))
    resolved = create(generator, **chosen).options
    perceptual, vgg = "not used", None
    if "perceptual" in resolved and not resolved["perceptual"]:
        perceptual = "off (perceptual=False)"
    elif resolved.get("perceptual"):
        found = weights.find("vgg19", vgg_weights)
        if found is not None:
            vgg = str(found)
            perceptual = f"on ({resolved.get('perceptual_layer', 'vgg19')})"
        elif settings.require_vgg:
            raise ReidBenchError(f"preset {preset!r} trains with the perceptual loss: "
                                 f"{weights.missing_message('vgg19')}")
        else:
            resolved = create(generator, **{**chosen, "perceptual": False}).options
            perceptual = f"off (vgg19 weights missing; preset {preset!r} trains without the perceptual term)"
    return RunConfig(generator, resolved, settings, perceptual, vgg, str(data), identity, dict(inputs or {}))


def needs_guide(generator: str, settings: GeneratorSettings) -> bool:
    """Whether training ``generator`` under ``settings`` uses the identity term's frozen Re-ID network: the
    term's weights are set and the generator has something to learn (``identity`` and ``synth-oracle``
    have not, so their runs neither train nor name one)."""
    wanted = bool(settings.identity_weight or settings.identity_feature_weight)
    return wanted and not issubclass(get_generator(generator), UntrainedGenerator)


def configure_guided(generator: str, make_guide: Callable[[], Any], **arguments: Any) -> tuple[RunConfig, Any]:
    """:func:`configure` for a run whose loop may add the identity term, and that term's frozen network.

    The options and the VGG rule are checked first, so that they fail before a Re-ID network trains;
    ``make_guide()`` (an :class:`~reid_bench.reid.guide.IdentityGuide`, built or trained by the caller)
    is called only when :func:`needs_guide`, and the returned config names it (``RunConfig.identity``)."""
    first = configure(generator, **arguments)
    if not needs_guide(generator, first.settings):
        return first, None
    guide = make_guide()
    return configure(generator, identity=guide.describe(), **arguments), guide

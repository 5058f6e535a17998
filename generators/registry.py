"""The generator registry: one name per generator, found through Python entry points.

In the style of timm's ``create_model``::

    from reid_bench import generators
    generators.names()                       # ['defgan', 'dpig', ..., 'san', ...]
    model = generators.create("san", blocks=3)
    model = generators.load("generator.pt")  # rebuilt from the options the checkpoint holds

Every generator, built-in or third-party, is an entry point of the group ``reid_bench.generators``
whose name is the generator's name and whose value is a
:class:`~reid_bench.generators.base.Generator` subclass. The suite's own (SAN and the baselines) are
declared in its ``pyproject.toml``; a plug-in package declares its own the same way::

    [project.entry-points."reid_bench.generators"]
    mygan = "mypackage.model:MyGAN"

So this module imports no model: the models import the interface, never the other way round.
:func:`register` adds a class at run time (a notebook, a test) under a name of its own.
"""

from __future__ import annotations

import importlib.metadata
from typing import Any, Callable, TypeVar

from reid_bench.errors import ReidBenchError
from reid_bench.generators.base import Generator, UntrainedGenerator

ENTRY_POINT_GROUP = "reid_bench.generators"
_REGISTRY: dict[str, type[Generator]] = {}

G = TypeVar("G", bound=type[Generator])


def register(cls: G | None = None, *, name: str | None = None) -> G | Callable[[G], G]:
    """Class decorator: ``@register`` (name = lower-cased class name) or ``@register(name="mygan")``."""

    def decorate(generator_cls: G) -> G:
        key = name or generator_cls.__name__.lower()
        known = _REGISTRY.get(key)
        if known is not None and _qualified(known) != _qualified(generator_cls):
            raise ReidBenchError(
                f"generator name {key!r} is registered twice ({_qualified(known)} and "
                f"{_qualified(generator_cls)}); rename one."
            )
        generator_cls.name = key
        _REGISTRY[key] = generator_cls
        return generator_cls

    return decorate(cls) if cls is not None else decorate


def _qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _load_entry_points() -> None:
    for entry in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if entry.name in _REGISTRY:
            continue
        try:
            generator_cls = entry.load()
        except Exception as error:  # a broken plug-in must not look like a missing generator
            raise ReidBenchError(
                f"the generator plug-in {entry.name!r} ({entry.value}) failed to import: {error}"
            ) from error
        if not (isinstance(generator_cls, type) and issubclass(generator_cls, Generator)):
            raise ReidBenchError(
                f"the entry point {entry.name!r} = {entry.value} in group {ENTRY_POINT_GROUP!r} "
                "is not a reid_bench.generators.base.Generator subclass."
            )
        register(generator_cls, name=entry.name)


def names() -> list[str]:
    """Every registered generator name, the suite's and plug-ins', sorted."""
    _load_entry_points()
    return sorted(_REGISTRY)


def get(name: str) -> type[Generator]:
    """The generator class registered as ``name``."""
    if name not in _REGISTRY:
        names()
    if name not in _REGISTRY:
        raise ReidBenchError(f"unknown generator {name!r}; known generators: {', '.join(names())}.")
    return _REGISTRY[name]


def create(name: str, **options: Any) -> Generator:
    """A new generator ``name`` built with ``options`` (e.g. ``create("san", blocks=3)``)."""
    generator_cls = get(name)
    try:
        return generator_cls(**options)
    except TypeError as error:
        raise ReidBenchError(f"generator {name!r} does not take these options: {error}.") from error


def title(name: str) -> str:
    """How messages name generator ``name``: its class's ``title`` (``SAN``), else ``name``."""
    return get(name).title or name


def learns(name: str) -> bool:
    """Whether generator ``name`` is trained (``identity`` and ``synth-oracle`` are not: the generator levers
    of a recipe do not touch them)."""
    return not issubclass(get(name), UntrainedGenerator)


def preset_options(name: str, preset: str) -> dict[str, Any]:
    """The options generator ``name`` uses under ``preset`` (empty: its defaults)."""
    return dict(get(name).preset_options.get(preset, {}))

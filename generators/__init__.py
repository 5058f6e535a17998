"""Pose-guided person image generators: the interface, the registry, the GAN loop, and SAN.

A registry in the style of timm's ``@register_model`` / ``create_model``::

    import generators
    generators.names()                      # ['san', ...]
    model = generators.create("san", blocks=3)
    model = generators.load("generator.pt")  # rebuilt from the options the checkpoint holds

Built-in generators live in :mod:`generators.san` and, once it exists, the ``baselines`` package
(imported on first use, so each of its modules only needs ``@generators.register``). Third-party
packages add generators through the entry-point group ``reid_bench.generators``; each entry point's
name is the generator name and its value a :class:`~generators.base.Generator` subclass::

    [project.entry-points."reid_bench.generators"]
    mygan = "mypackage.model:MyGAN"
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
from typing import Any, Callable, TypeVar

from generators.base import Generator
from reid_bench.errors import ReidBenchError

ENTRY_POINT_GROUP = "reid_bench.generators"
_BUILTIN_MODULES = ("generators.san", "baselines")
_REGISTRY: dict[str, type[Generator]] = {}

G = TypeVar("G", bound=type[Generator])


def register(cls: G | None = None, *, name: str | None = None) -> G | Callable[[G], G]:
    """Class decorator: ``@register`` (name = lower-cased class name) or ``@register(name="san")``."""

    def decorate(generator_cls: G) -> G:
        key = name or generator_cls.__name__.lower()
        known = _REGISTRY.get(key)
        if known is not None and _qualified(known) != _qualified(generator_cls):
            raise ReidBenchError(
                f"generator name {key!r} is registered twice ({known.__module__}.{known.__qualname__} "
                f"and {generator_cls.__module__}.{generator_cls.__qualname__}); rename one."
            )
        generator_cls.name = key
        _REGISTRY[key] = generator_cls
        return generator_cls

    return decorate(cls) if cls is not None else decorate


def _qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _load_builtins() -> None:
    for module in _BUILTIN_MODULES:
        if importlib.util.find_spec(module.split(".")[0]) is not None:
            importlib.import_module(module)


def _load_entry_points() -> None:
    for entry in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if entry.name in _REGISTRY:
            continue
        try:
            generator_cls = entry.load()
        except Exception as error:  # a broken plug-in must not hide the built-in generators
            raise ReidBenchError(
                f"the generator plug-in {entry.name!r} ({entry.value}) failed to import: {error}"
            ) from error
        if not (isinstance(generator_cls, type) and issubclass(generator_cls, Generator)):
            raise ReidBenchError(
                f"the entry point {entry.name!r} = {entry.value} in group {ENTRY_POINT_GROUP!r} "
                "is not a generators.base.Generator subclass."
            )
        register(generator_cls, name=entry.name)


def names() -> list[str]:
    """Every registered generator name, built-in and plug-in, sorted."""
    _load_builtins()
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


from generators.checkpoints import load  # noqa: E402  (needs create/get above)

__all__ = ["ENTRY_POINT_GROUP", "Generator", "create", "get", "load", "names", "register"]

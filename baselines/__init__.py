"""Reimplemented baseline generators (PG2, Def-GAN, VU-Net, PATN, Intr-Flow, GFLA, DPIG, identity).

One module per baseline, each registering itself with ``@generators.register``; importing this
package imports every module in it, so a new baseline only needs its own file.
"""

import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    if not _module.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_module.name}")

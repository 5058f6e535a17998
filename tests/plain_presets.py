"""The quick preset with every recipe lever off (the paper's pipeline), for tests of the machinery
underneath the recipe: they train without the identity term's frozen network, compositing or the
epochs budget unless they test those (tests/test_recipe.py does)."""

from reid_bench import presets

PLAIN_QUICK = presets.without_levers(presets.get("quick"))
PLAIN_OVERRIDES = presets.parse_overrides(presets.levers_off(), ("generator", "reid", "run"))
NO_RECIPE = ["--no-recipe"]  # the same for `reid-bench run` on the command line

"""Figures: PNGs of the requested pixel size; the CMC file format round-trips and refuses bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from results_fixtures import row

from reid_bench.errors import ReidBenchError
from reid_bench.figures import plot_image_grid
from reid_bench.results.plots import cmc_path, gain_by_factor, load_cmc, plot_cmc, plot_gain_vs_factor, save_cmc

CURVES = {"IDE + Euclidean": np.array([0.5, 0.7, 0.8, 0.9]), "IDE + XQDA": np.array([0.6, 0.75, 0.85, 0.95])}


def _size(path):
    assert path.stat().st_size > 0
    with Image.open(path) as image:
        return image.format, image.size


def test_cmc_file_round_trip(tmp_path):
    path = cmc_path(tmp_path / "results.csv", row(generator="san", seed=3))
    assert path == tmp_path / "results.cmc" / "market1501_san_K2_ide_seed3_cfg-san.json"
    save_cmc(path, CURVES)
    loaded = load_cmc(path)
    assert list(loaded) == list(CURVES)
    np.testing.assert_array_equal(loaded["IDE + XQDA"], CURVES["IDE + XQDA"])
    assert json.loads(path.read_text())["format"] == "reid-bench-cmc"


def test_cmc_file_refuses_bad_input(tmp_path):
    with pytest.raises(ReidBenchError, match="not percentages"):
        save_cmc(tmp_path / "c.json", {"x": np.array([50.0, 70.0])})
    with pytest.raises(ReidBenchError, match="non-decreasing"):
        save_cmc(tmp_path / "c.json", {"x": np.array([0.7, 0.5])})
    assert not (tmp_path / "c.json").exists()
    (tmp_path / "c.json").write_text("{not json")
    with pytest.raises(ReidBenchError, match="is not valid JSON"):
        load_cmc(tmp_path / "c.json")
    (tmp_path / "c.json").write_text('{"curves": {}}')
    with pytest.raises(ReidBenchError, match="not a reid-bench CMC file"):
        load_cmc(tmp_path / "c.json")


def test_plot_cmc_size(tmp_path):
    path = plot_cmc(CURVES, tmp_path / "cmc.png", max_rank=4, title="market1501", size_px=(500, 300))
    assert _size(path) == ("PNG", (500, 300))


def test_gain_vs_factor(tmp_path):
    rows = [row(seed=s, rank1=r) for s, r in ((0, 70), (1, 72))]  # none: mean 71
    rows += [row(generator="san", factor=k, seed=s, rank1=r)
             for k, s, r in ((2, 0, 72), (2, 1, 74), (3, 0, 75))]
    gains = gain_by_factor(rows)
    (key,) = gains
    assert key == ("market1501", "quick", "ide", "euclidean", "san")
    assert gains[key][2].mean == 2.0 and gains[key][2].std == pytest.approx(2 ** 0.5)  # 73 - 71; std of 72, 74
    assert gains[key][3].mean == 4.0 and gains[key][3].n == 1
    assert _size(plot_gain_vs_factor(rows, tmp_path / "gain.png")) == ("PNG", (640, 480))
    with pytest.raises(ReidBenchError, match="include the none runs"):
        plot_gain_vs_factor(rows[2:], tmp_path / "nothing.png")


def test_image_grid_from_arrays_and_paths(tmp_path):
    rng = np.random.default_rng(0)
    uint8 = rng.integers(0, 256, (128, 64, 3), dtype=np.uint8)
    chw_float = rng.random((3, 128, 64))
    gray = rng.random((128, 64))
    Image.fromarray(uint8).save(tmp_path / "source.png")
    titles = ("source", "target pose", "generated")
    path = plot_image_grid([[tmp_path / "source.png", uint8], [gray, gray], [chw_float, uint8]],
                           tmp_path / "grid.png", titles=titles, labels=["pair 1", "pair 2"])
    assert _size(path) == ("PNG", (600, 760))  # 3 x 200 wide, 2 x 360 + 40 high
    five = plot_image_grid([[uint8]] * 5, tmp_path / "five.png", titles=list("abcde"))
    assert _size(five) == ("PNG", (1000, 400))
    assert _size(plot_image_grid([[uint8]] * 3, tmp_path / "small.png", titles=titles, size_px=(300, 200))) == \
        ("PNG", (300, 200))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        plot_image_grid([[uint8], [uint8], [chw_float * 2 - 1]], tmp_path / "bad.png", titles=titles)
    with pytest.raises(ValueError, match="same non-zero length"):
        plot_image_grid([[uint8], [], [uint8]], tmp_path / "bad.png", titles=titles)
    with pytest.raises(ValueError, match="2 titles for 3 columns"):
        plot_image_grid([[uint8]] * 3, tmp_path / "bad.png", titles=titles[:2])
    with pytest.raises(ReidBenchError, match="cannot be read as an image"):
        plot_image_grid([[tmp_path / "missing.png"], [uint8], [uint8]], tmp_path / "bad.png", titles=titles)

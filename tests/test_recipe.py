"""The recipe levers of issue "generated images that help Re-ID": each one does what it says.

Compositing keeps the scene outside the mask; the identity term's gradient reaches the generator
while its frozen Re-ID network never changes; the per-batch share of generated images is honoured;
their own labels (smoothing, LSRO's uniform label) touch generated images only; the recipe is
recorded in every result row.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from plain_presets import PLAIN_QUICK
from test_reid_toydata import make_toy_market, read_split

from reid_bench import generators, presets
from reid_bench.augment import (
    AugmentConfig,
    augmented_records,
    choose_targets,
    compatible_partners,
    worn_labels,
    write_augmented_set,
)
from reid_bench.cli import main
from reid_bench.cli import run as cli_run
from reid_bench.data import PoseTransferPairs, load_dataset
from reid_bench.data.market import ImageRecord
from reid_bench.data.synth import SynthConfig, render_dataset
from reid_bench.evaluation.protocols import evaluate_trained
from reid_bench.generators.losses import region_colour_loss
from reid_bench.generators.run_config import configure, configure_guided
from reid_bench.generators.training import loop_needs, train
from reid_bench.presets import parse_overrides, recipe_label
from reid_bench.rankers.xqda import XQDA
from reid_bench.reid import load_checkpoint, train_reid
from reid_bench.reid.guide import IdentityGuide, random_views
from reid_bench.reid.models import ReidNet
from reid_bench.reid.samplers import generated_per_batch, stream_batches
from reid_bench.reid.train import _loader, seed_for_epoch, steps_per_epoch
from reid_bench.reid.transforms import ImageDataset, as_triplets, train_transform
from reid_bench.results import read_rows
from reid_bench.run.pipeline import RunRequest, run

TINY_REID = PLAIN_QUICK.reid.replace(backbone="tiny", height=64, width=32, batch_size=8, epochs=1)


@pytest.fixture(scope="module")
def people(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("recipe") / "synth"
    render_dataset(root, SynthConfig(identities=6, seed=3), workers=1)
    return root


@pytest.fixture(autouse=True)
def own_cache(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("REID_BENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))


# ---- compositing ------------------------------------------------------------------------------


def test_compositing_keeps_the_target_scene_outside_the_mask(people: Path, tmp_path: Path) -> None:
    dataset = load_dataset(people)
    copy = generators.create("identity")  # draws the source image itself: every pixel is known
    pairs = choose_targets(dataset, AugmentConfig(factor=2, seed=0))[:6]
    folder = write_augmented_set(dataset, copy, pairs, tmp_path / "aug", "copy", composite="target", batch_size=4)
    records = augmented_records(dataset, folder)
    assert len(records) == len(pairs) and all(record.generated for record in records)
    checked = PoseTransferPairs(dataset, "train", needs={"mask"}, pairs=pairs)
    for item in (checked[i] for i in range(len(checked))):
        composite = np.asarray(Image.open(folder / "bounding_box_train" /
                                          f"{Path(item['src_name']).stem}___{Path(item['tgt_name']).stem}.png"))
        inside = item["tgt_mask"][0].numpy() > 0
        target = np.round((item["tgt_image"].numpy().transpose(1, 2, 0) + 1) * 127.5)
        source = np.round((item["src_image"].numpy().transpose(1, 2, 0) + 1) * 127.5)
        assert (~inside).any() and inside.any()
        assert np.abs(composite[~inside] - target[~inside]).max() <= 1  # the target's scene, untouched
        assert np.abs(composite[inside] - source[inside]).max() <= 1  # the generated person inside
    by_name = {record.name: record for record in records}
    for source, target in pairs:  # a composited image shows, and carries, the target's camera
        name = f"{Path(source).stem}___{Path(target).stem}.png"
        assert by_name[name].camid == dataset.record(target).camid
        assert by_name[name].pid == dataset.record(source).pid


def test_uncomposited_images_keep_the_source_camera(people: Path, tmp_path: Path) -> None:
    dataset = load_dataset(people)
    pairs = choose_targets(dataset, AugmentConfig(factor=2, seed=0))[:4]
    folder = write_augmented_set(dataset, generators.create("identity"), pairs, tmp_path / "aug", "copy")
    for record, (source, _) in zip(sorted(augmented_records(dataset, folder), key=lambda r: r.name), sorted(pairs)):
        assert record.camid == dataset.record(source).camid


def test_compatible_targets_wear_the_same_labels(people: Path) -> None:
    dataset = load_dataset(people)
    partners = compatible_partners(dataset)
    pairs = choose_targets(dataset, AugmentConfig(factor=3, poses="compatible", seed=1))
    matched = [worn_labels(dataset, source) == worn_labels(dataset, target) for source, target in pairs]
    with_partners = [len(partners[source]) > 2 for source, _ in pairs]
    assert any(with_partners)
    assert all(same for same, has in zip(matched, with_partners) if has)  # a random target only as a fallback
    assert len(pairs) == 2 * len(dataset.train) and all(source != target for source, target in pairs)


# ---- the identity term ----------------------------------------------------------------------


def _frozen_ide(dataset, tmp_path: Path):
    return train_reid(list(dataset.train), "ide", TINY_REID, tmp_path / "ide", seed=0)


def test_identity_term_reaches_the_generator_and_leaves_its_network_frozen(people: Path, tmp_path: Path) -> None:
    dataset = load_dataset(people)
    guide = IdentityGuide(_frozen_ide(dataset, tmp_path))
    frozen = {key: value.clone() for key, value in guide.net.state_dict().items()}
    options = {"channels": 4, "blocks": 1}
    config = configure("san", data=str(people), preset=PLAIN_QUICK.generator, options=options, steps=3, batch_size=2,
                       identity_weight=1.0, identity_feature_weight=1.0, identity_warmup=2, log_every=1,
                       identity=guide.describe())
    pairs = PoseTransferPairs(dataset, "train", needs=generators.get("san").needs | loop_needs(config.settings))
    subset = torch.utils.data.Subset(pairs, range(4))

    # the term alone sends a gradient into every generator layer that draws the image
    model = generators.create("san", **options)
    batch = torch.utils.data.default_collate([subset[0], subset[1]])
    terms = guide(batch, model(batch))
    (terms["identity_ce"] + terms["identity_feature"]).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.decoder.parameters())
    assert all(p.grad is None for p in guide.net.parameters())

    result = train(config, subset, tmp_path / "gan", progress=False, guide=guide)
    assert result.finished
    logged = (tmp_path / "gan" / "losses.csv").read_text().splitlines()[0].split(",")
    assert {"g_identity_ce", "g_identity_feature"} <= set(logged) and not any("perceptual" in c for c in logged)
    assert all(torch.equal(frozen[key], value) for key, value in guide.net.state_dict().items())
    assert not guide.net.training


def test_random_views_move_and_blur_the_image_but_keep_flat_colour_and_the_gradient() -> None:
    torch.manual_seed(0)
    flat = torch.full((4, 3, 32, 16), 0.3)
    assert torch.allclose(random_views(flat, 0.2), flat, atol=1e-5)  # borders repeat, blur keeps a flat colour
    images = torch.rand(4, 3, 32, 16, requires_grad=True)
    views = random_views(images, 0.2)
    assert views.shape == images.shape
    assert all((view - image).abs().mean() > 0.05 for view, image in zip(views, images))  # every view moved
    views.sum().backward()
    assert images.grad is not None and images.grad.abs().sum() > 0
    with pytest.raises(Exception, match="identity_jitter is 0.7"):
        dataclasses.replace(PLAIN_QUICK.generator, identity_jitter=0.7)


def test_jittered_identity_term_scores_other_views_and_has_its_own_generator_key(people: Path,
                                                                                 tmp_path: Path) -> None:
    dataset = load_dataset(people)
    guide = IdentityGuide(_frozen_ide(dataset, tmp_path))
    pairs = PoseTransferPairs(dataset, "train", needs=generators.get("san").needs | {"mask"})
    batch = torch.utils.data.default_collate([pairs[0], pairs[1]])
    model = generators.create("san", channels=4, blocks=1)
    fake = model(batch)
    plain = guide(batch, fake)
    torch.manual_seed(0)
    jittered = guide(batch, fake, jitter=0.2)
    assert not torch.isclose(plain["identity_feature"], jittered["identity_feature"])
    jittered["identity_feature"].backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.decoder.parameters())
    base = dict(data=str(people), preset=PLAIN_QUICK.generator, identity_weight=1.0, identity=guide.describe())
    assert configure("san", **base).config_hash() != configure("san", identity_jitter=0.2, **base).config_hash()


def test_only_generators_that_learn_get_the_identity_network(people: Path) -> None:
    asked = []

    class Guide:
        def describe(self) -> str:
            return "a frozen network"

    def make_guide() -> Guide:
        asked.append(True)
        return Guide()

    settings = dataclasses.replace(PLAIN_QUICK.generator, identity_weight=1.0)
    for name in ("identity", "synth-oracle"):  # nothing to train: no network is trained or named for them
        config, guide = configure_guided(name, make_guide, data=str(people), preset=settings)
        assert guide is None and config.identity == "off" and not asked
    config, guide = configure_guided("pg2", make_guide, data=str(people), preset=settings)
    assert isinstance(guide, Guide) and config.identity == "a frozen network" and asked == [True]
    config, guide = configure_guided("pg2", make_guide, data=str(people), preset=PLAIN_QUICK.generator)
    assert guide is None and asked == [True]  # the term is off


def test_region_colour_loss_sees_each_garments_colour_and_contrast_not_its_pixels() -> None:
    parsing = torch.zeros(1, 20, 8, 4)
    parsing[0, 0, :4] = 1  # background above, an upper garment (label 5) below
    parsing[0, 5, 4:] = 1
    target = torch.zeros(1, 3, 8, 4)
    target[0, 0, 4:, ::2] = 1  # red stripes on the garment, the background black
    shifted = target.roll(1, dims=3)  # the same stripes one pixel over: every garment pixel differs
    assert torch.equal((shifted - target)[0, 0, 4:].abs(), torch.ones(4, 4))
    assert region_colour_loss(shifted, target, parsing) < 1e-6
    blurred = torch.zeros_like(target)
    blurred[0, 0, 4:] = 0.5  # the garment's mean colour, without its stripes
    assert region_colour_loss(blurred, target, parsing) == pytest.approx(0.5 / 3, abs=1e-3)  # the red deviation
    noisy = target.clone()
    noisy[0, :, :4] = torch.rand(3, 4, 4)  # anything in the background is free
    assert region_colour_loss(noisy, target, parsing) < 1e-6
    fake = (blurred + 0.01 * torch.randn_like(blurred)).requires_grad_(True)
    region_colour_loss(fake, target, parsing).backward()
    assert fake.grad[0, 0, 4:].abs().sum() > 0 and fake.grad[0, :, :4].abs().sum() == 0


def test_region_colour_term_is_logged_and_reads_the_target_parsing(people: Path, tmp_path: Path) -> None:
    config = configure("pg2", data=str(people), preset=PLAIN_QUICK.generator, steps=2, batch_size=2,
                       region_colour_weight=5.0, log_every=1)
    assert "parsing" in loop_needs(config.settings) and "parsing" not in generators.get("pg2").needs
    needs = generators.get("pg2").needs | loop_needs(config.settings)
    pairs = PoseTransferPairs(load_dataset(people), "train", needs=needs)
    train(config, torch.utils.data.Subset(pairs, range(2)), tmp_path / "gan", progress=False)
    assert "g_region_colour" in (tmp_path / "gan" / "losses.csv").read_text().splitlines()[0]
    assert configure("pg2", data=str(people), preset=PLAIN_QUICK.generator, steps=2, batch_size=2).config_hash() \
        != config.config_hash()


def test_identity_weights_without_a_network_are_one_sentence(people: Path, tmp_path: Path) -> None:
    config = configure("san", data=str(people), preset=PLAIN_QUICK.generator, options={"channels": 4, "blocks": 1},
                       steps=1, identity_weight=1.0)
    pairs = PoseTransferPairs(load_dataset(people), "train", needs=generators.get("san").needs)
    with pytest.raises(Exception, match="need a frozen Re-ID model"):
        train(config, pairs, tmp_path / "gan", progress=False)


def test_foreground_term_is_logged_and_needs_the_mask(people: Path, tmp_path: Path) -> None:
    config = configure("pg2", data=str(people), preset=PLAIN_QUICK.generator, steps=2, batch_size=2,
                       foreground_weight=2.0, log_every=1)
    assert "mask" in loop_needs(config.settings)
    needs = generators.get("pg2").needs | loop_needs(config.settings)
    pairs = PoseTransferPairs(load_dataset(people), "train", needs=needs)
    train(config, torch.utils.data.Subset(pairs, range(2)), tmp_path / "gan", progress=False)
    assert "g_foreground_l1" in (tmp_path / "gan" / "losses.csv").read_text().splitlines()[0]
    other = configure("pg2", data=str(people), preset=PLAIN_QUICK.generator, steps=2, batch_size=2)
    assert other.config_hash() != config.config_hash()


# ---- how generated images enter Re-ID training -----------------------------------------------


def test_stream_batches_honour_the_share_and_pass_over_the_real_images_once() -> None:
    real, fake = list(range(100)), list(range(100, 130))
    batches = stream_batches(real, fake, 16, 0.25, torch.Generator().manual_seed(0))
    assert generated_per_batch(16, 0.25) == 4
    assert all(len(b) == 16 and sum(i >= 100 for i in b) == 4 for b in batches)
    seen_real = [i for b in batches for i in b if i < 100]
    assert len(seen_real) == len(set(seen_real)) == 12 * (100 // 12)  # one pass, the short tail dropped
    assert len(batches) == 100 // 12


def _toy_records(tmp_path: Path) -> tuple[list, list]:
    root = make_toy_market(tmp_path / "toy", train_ids=6, test_ids=2)
    real = read_split(root / "bounding_box_train")
    fake = [ImageRecord(Path(path), pid, camid, Path(path).name, generated=True) for path, pid, camid in real]
    return real, fake


def test_the_loader_gives_each_batch_its_share_of_generated_images(tmp_path: Path) -> None:
    real, fake = _toy_records(tmp_path)
    triplets = as_triplets(list(real) + fake * 2)
    settings = TINY_REID.replace(generated_share=0.25)
    labels = [t.pid for t in triplets]
    dataset = ImageDataset(triplets, train_transform(settings), labels)

    class Result:  # what _loader reads of a TrainedModel
        trainer = "ide"

    Result.settings = settings
    loader = _loader(Result, dataset, torch.Generator().manual_seed(seed_for_epoch(0, 0)), 0, torch.device("cpu"))
    batches = [batch[3].tolist() for batch in loader]
    assert batches and all(sum(flags) == 2 and len(flags) == 8 for flags in batches)
    assert len(batches) == steps_per_epoch("ide", settings, len(real), 2 * len(fake)) == len(real) // 6
    Result.trainer = "siamese"
    pairs = [batch for batch in _loader(Result, dataset, torch.Generator().manual_seed(1), 0, torch.device("cpu"))]
    assert pairs and all(int(batch[5].sum()) == 1 and len(batch[5]) == 4 for batch in pairs)  # 4 pairs, 1 generated


def test_label_smoothing_and_uniform_labels_apply_to_generated_images_only() -> None:
    torch.manual_seed(0)
    logits, labels = torch.randn(6, 5), torch.tensor([0, 1, 2, 3, 4, 0])
    generated = torch.tensor([False, True, False, True, False, False])
    hard = F.cross_entropy(logits, labels, reduction="none")
    smooth = F.cross_entropy(logits, labels, label_smoothing=0.1, reduction="none")
    uniform = -F.log_softmax(logits, dim=1).mean(dim=1)

    def net(**options) -> ReidNet:
        backbone = dataclasses.make_dataclass("B", [("module", object), ("feature_dim", int)])(torch.nn.Identity(), 5)
        return ReidNet(backbone, num_classes=5, dropout=0.0, bn_neck=False, label_smooth=0.0, **options)

    smoothed = net(generated_label_smooth=0.1).identification_loss(logits, labels, generated)
    assert torch.allclose(smoothed, torch.where(generated, smooth, hard).mean())
    lsro = net(generated_label="uniform").identification_loss(logits, labels, generated)
    assert torch.allclose(lsro, torch.where(generated, uniform, hard).mean())
    plain = net().identification_loss(logits, labels, generated)
    assert torch.allclose(plain, hard.mean())  # without a rule of their own, generated images count as real
    assert torch.allclose(net(generated_label_smooth=0.1).identification_loss(logits, labels), hard.mean())


def test_real_only_models_ignore_the_generated_image_fields() -> None:
    lever = TINY_REID.replace(generated_share=0.25, generated_label="uniform", generated_label_smooth=0.2)
    assert presets.real_only(lever) == TINY_REID


# ---- the recipe in rows ---------------------------------------------------------------------


def test_the_recipe_is_recorded_in_every_row(people: Path, tmp_path: Path) -> None:
    items = ["reid.backbone=tiny", "reid.height=64", "reid.width=32", "reid.generated_share=0.25",
             "reid.generated_label_smooth=0.2", "run.composite=target", "run.budget=epochs",
             "generator.foreground_weight=15"]
    overrides = parse_overrides(presets.levers_off() + items, ("generator", "reid", "run"))
    with_fg = "budget=epochs;composite=target;fg=15;share=0.25;smooth=0.2"
    assert recipe_label(overrides.apply(presets.get("quick"))) == with_fg
    expected = recipe_label(overrides.apply(presets.get("quick")), generator_learns=False)
    assert expected == "budget=epochs;composite=target;share=0.25;smooth=0.2"  # the copy trains no generator
    request = RunRequest(generator="identity", factor=2, data=str(people), out=tmp_path / "out", preset="quick",
                         overrides=overrides, reid_epochs=1, trainers=("ide",))
    run(request, echo=lambda text: None, progress=False)
    rows = read_rows(tmp_path / "out" / "results.csv")
    learned = {"xqda", "kissme"}  # the quick preset fits them on the real images: their rows say so
    assert {row.recipe for row in rows if row.generator == "identity" and row.ranker not in learned} == {expected}
    assert {row.recipe for row in rows if row.generator == "identity" and row.ranker in learned} == {
        expected + ";fit=real"}
    assert {row.recipe for row in rows if row.generator == "none"} == {"n/a"}
    none, augmented = ({row.config_hash for row in rows if row.generator == g} for g in ("none", "identity"))
    assert none.isdisjoint(augmented)


def test_every_recipe_lever_has_a_run_flag(monkeypatch) -> None:
    seen = {}

    def capture(request):
        seen["request"] = request
        raise SystemExit(0)

    monkeypatch.setattr(cli_run, "run", capture)
    flags = ["--budget", "epochs", "--composite", "target", "--poses", "compatible", "--filter", "0.3",
             "--generated-share", "0.25", "--generated-label", "uniform", "--generated-smooth", "0.2",
             "--foreground-weight", "15", "--identity-weight", "1", "--identity-feature-weight", "10",
             "--identity-jitter", "0.15", "--region-colour-weight", "5"]
    with pytest.raises(SystemExit):  # --no-recipe first turns the quick preset's own levers off
        main(["run", "--generator", "san", "--no-recipe", *flags])
    preset = seen["request"].overrides.apply(presets.get("quick"))
    assert recipe_label(preset) == ("budget=epochs;poses=compatible;composite=target;filter=0.3;fg=15;id=1;idfeat=10;"
                                    "idjitter=0.15;colour=5;share=0.25;label=uniform;smooth=0.2")
    levers = {f"{section}.{name}" for section, name, _ in presets.RECIPE_LEVERS}
    flagged = {field for _, field, _, _ in cli_run.ALIASES}
    assert levers - flagged == {"generator.identity_warmup"}  # the ramp is a --set of its own


def test_no_recipe_is_the_papers_pipeline_and_single_flags_turn_one_lever_back_on(monkeypatch) -> None:
    seen = {}
    monkeypatch.setattr(cli_run, "run", lambda request: (seen.update(request=request), exit(0)))
    quick = presets.get("quick")
    assert recipe_label(quick) != "default"  # the quick preset runs a recipe, and its rows say which
    assert recipe_label(presets.without_levers(quick)) == "default" == recipe_label(presets.get("market"))
    with pytest.raises(SystemExit):
        main(["run", "--generator", "san", "--no-recipe", "--identity-weight", "1"])
    assert recipe_label(seen["request"].overrides.apply(quick)) == "id=1"


def test_set_none_turns_a_presets_lever_off() -> None:
    quick = presets.get("quick")
    assert quick.reid.generated_share is not None
    changed = parse_overrides(["reid.generated_share=none"], ("reid",)).apply(quick)
    assert changed.reid.generated_share is None
    assert changed.reid.generated_label_smooth == quick.reid.generated_label_smooth


# ---- what the learned rankers fit on ----------------------------------------------------------


def test_ranker_fit_real_leaves_generated_images_out_of_the_metric(people: Path, tmp_path: Path, monkeypatch) -> None:
    dataset = load_dataset(people)
    pairs = choose_targets(dataset, AugmentConfig(factor=2, seed=0))
    folder = write_augmented_set(dataset, generators.create("identity"), pairs, tmp_path / "aug", "copy")
    generated = augmented_records(dataset, folder)
    trained = train_reid(list(dataset.train) + generated, "ide", TINY_REID, tmp_path / "ide", seed=0,
                         meta={"recipe": "share=0.25"})
    fitted = []
    original = XQDA.fit
    monkeypatch.setattr(XQDA, "fit", lambda self, features, *labels: (fitted.append(len(features)),
                                                                      original(self, features, *labels))[1])
    both, _ = evaluate_trained(trained, dataset, ["euclidean", "xqda"], ranker_fit="trained")
    real, _ = evaluate_trained(trained, dataset, ["euclidean", "xqda"], ranker_fit="real")
    assert fitted == [len(dataset.train) + len(generated), len(dataset.train)]
    (euclid_both, xqda_both), (euclid_real, xqda_real) = both, real
    assert euclid_both["config_hash"] == euclid_real["config_hash"] == trained.config_hash  # learns nothing
    assert euclid_both["recipe"] == euclid_real["recipe"] == xqda_both["recipe"] == "share=0.25"
    assert xqda_real["config_hash"] == trained.config_hash + ":fit-real"
    assert xqda_real["recipe"] == "share=0.25;fit=real"
    assert presets.preset_ranker_fit("quick") == presets.get("quick").run.ranker_fit
    assert presets.preset_ranker_fit("a train-reid model") == "trained"


def test_train_generator_under_the_quick_recipe_uses_the_runs_real_only_ide(people: Path, tmp_path: Path,
                                                                            capsys: pytest.CaptureFixture) -> None:
    assert presets.get("quick").generator.identity_weight > 0  # the quick recipe turns the identity term on
    assert main(["train-generator", "--generator", "san", "--data", str(people), "--steps", "1", "--batch-size", "2",
                 "--set", "model.channels=4", "--set", "model.blocks=1", "--out", str(tmp_path / "gan")]) == 0
    printed = capsys.readouterr().out
    assert "identity term: the real-only IDE that reid-bench run trains for it" in printed
    models = [load_checkpoint(path) for path in (tmp_path / "cache" / "reid").glob("*/checkpoint.pt")]
    assert [(m.trainer, m.meta["generator"], m.seed) for m in models] == [("ide", "none", 1)]
    assert f"identity term ide/{models[0].backbone} config {models[0].config_hash}" in printed


def test_missing_inputs_stop_train_generator_before_the_identity_network_trains(people: Path, tmp_path: Path,
                                                                                capsys: pytest.CaptureFixture) -> None:
    bare = tmp_path / "bare"
    shutil.copytree(people, bare, ignore=shutil.ignore_patterns("parsing"))
    assert main(["train-generator", "--generator", "san", "--data", str(bare), "--steps", "1",
                 "--out", str(tmp_path / "gan")]) == 2
    assert "SAN needs parsing maps" in capsys.readouterr().err
    assert not (tmp_path / "cache" / "reid").exists()  # no real-only IDE was trained for nothing

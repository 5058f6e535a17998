"""Multi-process training (reid_bench.distributed): N gloo processes on the CPU take the steps one
process takes with the same global batch; torchrun through ``reid-bench --nproc``; clear errors."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
import torch.multiprocessing as mp
from generators_fixtures import SyntheticPairs
from plain_presets import PLAIN_QUICK
from test_reid_toydata import make_toy_market, read_split
from torch import nn

from reid_bench import distributed, generators
from reid_bench.cli import launch_command, main
from reid_bench.errors import ReidBenchError
from reid_bench.generators import checkpoints
from reid_bench.generators.run_config import configure
from reid_bench.generators.training import StepBatchSampler, train
from reid_bench.records import read_run_record
from reid_bench.reid import backbones, train_reid
from reid_bench.reid.train import _loader, build_model

pytestmark = pytest.mark.usefixtures("one_thread", "no_vgg")

# Spawned processes do not inherit conftest's fp32 patch: amp is off explicitly. SGD, since Adam
# divides each gradient by its own magnitude: components near zero, where summation order
# shows, would move by up to lr either way in the first steps.
REID = PLAIN_QUICK.reid.replace(backbone="tiny", height=64, width=32, batch_size=16,
                                                                 optimizer="sgd", lr=0.05,
                               lr_step=100, epochs=1, random_flip=False, amp="off")
TOLERANCE = {"ide": 1e-5, "ide-pk": 1e-5, "siamese": 1e-3, "gan": 5e-4}  # of each tensor's scale
GAN = {"steps": 3, "batch_size": 8, "image_size": None, "amp": "off"}
SAN = {"channels": 8, "blocks": 2}
REID_JOBS = {"ide": ("ide", REID), "ide-pk": ("ide", REID.replace(sampler="pk")), "siamese": ("siamese", REID)}
WORLD = 2


class PerImageNorm(nn.GroupNorm):
    """GroupNorm with BatchNorm2d's constructor: it normalises each image on its own."""

    def __init__(self, num_features: int, *args: object, **kwargs: object) -> None:
        super().__init__(1, num_features)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _train_all(records: list, gan_config, out: Path) -> None:
    """Every job of the equivalence test, into ``out`` (rank 0 writes the files)."""
    for name, (trainer, settings) in REID_JOBS.items():
        train_reid(records, trainer, settings, out / name, seed=3)
    train(gan_config, SyntheticPairs(8), out / "gan", progress=False)


def _worker(rank: int, port: int, records: list, gan_config, out: Path) -> None:
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(WORLD), LOCAL_WORLD_SIZE=str(WORLD),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    nn.BatchNorm2d = PerImageNorm  # this spawned process only
    _train_all(records, gan_config, out)
    torch.distributed.destroy_process_group()


def _weights(out: Path, name: str) -> dict[str, torch.Tensor]:
    if name == "gan":
        return checkpoints.read(out / "gan" / "generator.pt")["state_dict"]
    return torch.load(out / name / "checkpoint.pt", weights_only=True)["model"]


def test_two_processes_train_as_one_with_the_same_global_batch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """IDE (shuffled and PK batches), Siamese and the GAN loop, 2 gloo processes vs 1 process.

    BatchNorm normalises with each process's share of the batch (a real difference of N
    processes, which SyncBatchNorm removes on GPUs only), so both runs build their networks with
    a per-image norm in place of BatchNorm2d; then only summation order separates them. On this
    project's 2-core Xeon the largest difference, relative to each tensor's largest value, was
    4e-7 for IDE, 6e-5 for Siamese (its 6 steps at lr 0.05 magnify rounding) and 4e-5 for the GAN
    (Adam): one process run with 1 and then 2 threads differs as much (6e-5, 3e-4).
    """
    root = make_toy_market(tmp_path / "toy", train_ids=8, test_ids=1, per_camera=3)
    records = read_split(root / "bounding_box_train")  # 48 images: 3 IDE steps, 6 Siamese steps
    gan_config = configure("san", data="synthetic", preset=PLAIN_QUICK.generator, options=SAN, **GAN)
    mp.spawn(_worker, args=(_free_port(), records, gan_config, tmp_path / "two"), nprocs=WORLD)
    monkeypatch.setattr(nn, "BatchNorm2d", PerImageNorm)
    _train_all(records, gan_config, tmp_path / "one")

    for name in [*REID_JOBS, "gan"]:
        one, two = _weights(tmp_path / "one", name), _weights(tmp_path / "two", name)
        assert one.keys() == two.keys()
        tolerance = TOLERANCE[name]
        for key in one:
            scale = one[key].abs().max().item() + 1e-12
            assert torch.allclose(one[key], two[key], rtol=0, atol=tolerance * scale), (name, key)
    assert read_run_record(tmp_path / "two" / "ide" / "run.json")["environment"]["processes"] == WORLD

    # Training moved the weights 10x and more beyond those tolerances, so the comparisons can fail.
    torch.manual_seed(3)
    _assert_moved(build_model("ide", backbones.build("tiny"), 8, REID), _weights(tmp_path / "one", "ide"), 1e-4)
    torch.manual_seed(0)
    _assert_moved(generators.create("san", **gan_config.options), _weights(tmp_path / "one", "gan"), 5e-3)


def _assert_moved(initial: nn.Module, trained: dict[str, torch.Tensor], by: float) -> None:
    """The median tensor of ``trained`` moved from ``initial`` by more than ``by`` of its scale."""
    moved = sorted(((trained[key] - value).abs().max() / (trained[key].abs().max() + 1e-12)).item()
                   for key, value in initial.state_dict().items() if value.is_floating_point())
    assert moved[len(moved) // 2] > by, moved


class IndexDataset(torch.utils.data.Dataset):
    """Item i is ``(i, label, 0, False)`` (index, label, camera, generated): the batches of a loader show which
    samples they hold."""

    def __init__(self, labels: list[int]) -> None:
        self.labels = labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[int, int, int, bool]:
        return index, self.labels[index], 0, False


def _batches(trainer: str, settings, monkeypatch: pytest.MonkeyPatch, rank: int, world: int) -> list[list[int]]:
    monkeypatch.setenv("RANK", str(rank))
    monkeypatch.setenv("WORLD_SIZE", str(world))
    labels = [i // 5 for i in range(53)]  # 11 identities, a short last one, 53 images
    result = SimpleNamespace(trainer=trainer, settings=settings)
    loader = _loader(result, IndexDataset(labels), torch.Generator().manual_seed(5), 12345, torch.device("cpu"))
    return [sorted(torch.stack(batch[:2], 1).flatten().tolist() if trainer == "siamese" else batch[0].tolist())
            for batch in loader]


@pytest.mark.parametrize("trainer, settings", [("ide", REID), ("ide", REID.replace(sampler="pk")),
                                               ("siamese", REID)])
def test_ranks_split_each_step_of_one_process(trainer: str, settings, monkeypatch: pytest.MonkeyPatch) -> None:
    single = _batches(trainer, settings, monkeypatch, 0, 1)
    ranks = [_batches(trainer, settings, monkeypatch, rank, WORLD) for rank in range(WORLD)]
    assert len(single) >= 3 and all(len(batches) == len(single) for batches in ranks)
    for step, batch in enumerate(single):
        assert all(len(batches[step]) * WORLD == len(batch) for batches in ranks)
        assert sorted(sum((batches[step] for batches in ranks), [])) == batch


def test_torchrun_environment_names_the_rank(monkeypatch: pytest.MonkeyPatch) -> None:
    assert (distributed.rank(), distributed.world_size(), distributed.is_main()) == (0, 1, True)
    assert distributed.init_from_env(torch.device("cpu")) == torch.device("cpu")  # one process: no group
    assert not torch.distributed.is_initialized()
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert (distributed.rank(), distributed.world_size(), distributed.is_main()) == (1, 2, False)
    assert distributed.shard(list(range(8))) == [1, 3, 5, 7] and distributed.per_rank(8, "images") == 4
    assert distributed.rank_seed(5) != 5


def test_gan_batches_split_over_ranks() -> None:
    single = list(StepBatchSampler(20, 8, seed=1, start=0, total=6))
    shares = [list(StepBatchSampler(20, 8, seed=1, start=0, total=6, rank=r, world=WORLD)) for r in range(WORLD)]
    for step, batch in enumerate(single):
        assert [len(share[step]) for share in shares] == [4, 4]
        assert sorted(shares[0][step] + shares[1][step]) == sorted(batch)


def test_a_batch_that_does_not_split_is_one_sentence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORLD_SIZE", "3")
    monkeypatch.setenv("RANK", "0")
    records = [(tmp_path / f"{i:04d}_c1s1_000001_00.jpg", i // 2, 0) for i in range(8)]
    with pytest.raises(ReidBenchError, match=r"^the global batch of 16 images does not split evenly over 3 "
                                             r"processes; choose a batch size that is a multiple of 3\.$"):
        train_reid(records, "ide", REID, tmp_path / "run")
    with pytest.raises(ReidBenchError, match="global batch of 8 pairs does not split evenly over 3"):
        train(configure("san", data="synthetic", preset=PLAIN_QUICK.generator, options={"channels": 8, "blocks": 2},
                        steps=3, batch_size=8, image_size=None), SyntheticPairs(8), tmp_path / "gan")


def test_sync_bn_on_the_cpu_is_one_sentence(tmp_path: Path) -> None:
    records = [(tmp_path / f"{i:04d}_c1s1_000001_00.jpg", i // 2, 0) for i in range(8)]
    with pytest.raises(ReidBenchError, match=r"^sync_bn needs CUDA GPUs .*drop --sync-bn"):
        train_reid(records, "ide", REID.replace(sync_bn=True), tmp_path / "run", device="cpu")
    with pytest.raises(ReidBenchError, match="sync_bn needs CUDA GPUs"):
        train(configure("san", data="synthetic", preset=PLAIN_QUICK.generator, options={"channels": 8, "blocks": 2},
                        steps=3, batch_size=8, image_size=None, sync_bn=True), SyntheticPairs(8),
              tmp_path / "gan", device="cpu")


def test_nproc_relaunches_through_torchrun() -> None:
    assert launch_command(2, ["--nproc", "2", "train-reid", "--data", "d"])[1:] == [
        "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "reid_bench",
        "train-reid", "--data", "d"]
    assert launch_command(3, ["--nproc=3", "train-generator"])[-1] == "train-generator"


def test_nproc_only_for_training_commands(capsys: pytest.CaptureFixture) -> None:
    assert main(["--nproc", "2", "weights"]) == 2
    assert "applies to run, train-reid, train-generator only" in capsys.readouterr().err


def test_train_reid_under_torchrun_writes_one_checkpoint(tmp_path: Path) -> None:
    root = make_toy_market(tmp_path / "toy", train_ids=4, test_ids=2, per_camera=2)
    env = {**os.environ, "REID_BENCH_CACHE": str(tmp_path / "cache"), "TORCH_HOME": str(tmp_path / "torch")}
    out = tmp_path / "run"
    command = [sys.executable, "-m", "reid_bench", "--nproc", "2", "train-reid", "--data", str(root),
               "--backbone", "tiny", "--epochs", "1", "--out", str(out), "--set", "reid.height=64",
               "--set", "reid.width=32", "--set", "reid.batch_size=8", "--set", "accel.amp=off"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("checkpoint: ") == 1  # rank 0 alone prints
    assert sorted(path.name for path in out.iterdir()) == ["checkpoint.pt", "run.json"]
    assert torch.load(out / "checkpoint.pt", weights_only=True)["epoch"] == 1
    assert read_run_record(out / "run.json")["environment"]["processes"] == 2


def test_train_generator_under_torchrun_writes_one_generator(tmp_path: Path, people: Path) -> None:
    """Rank 0 alone takes the output folder's lock and writes the checkpoint (the other rank joins)."""
    env = {**os.environ, "REID_BENCH_CACHE": str(tmp_path / "cache"), "TORCH_HOME": str(tmp_path / "torch")}
    out = tmp_path / "pg2"
    command = [sys.executable, "-m", "reid_bench", "--nproc", "2", "train-generator", "--generator", "pg2",
               "--data", str(people), "--steps", "2", "--batch-size", "2", "--out", str(out)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("finished: 2/2 steps") == 1  # rank 0 alone prints
    assert (out / "generator.pt").is_file() and read_run_record(out / "run.json")["environment"]["processes"] == 2

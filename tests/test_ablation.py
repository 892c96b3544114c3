"""The ablation options of BiSeNet V2 (paper Sec. 5.1, Tables 2 and 3a) and the ablation grid."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from bisenet.ablation import TABLE2, TABLE3A, VARIANTS, parse_variants, run_ablation, summarize
from bisenet.cli import main
from bisenet.layers import resize
from bisenet.models import build_model
from bisenet.models.bisenetv2 import semantic_widths
from bisenet.recipes import get_recipe


def n_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# --- model options ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "options, params",
    [
        ({}, 3_358_883),  # mmseg's model, unchanged by the options' defaults
        ({"branches": "detail"}, 1_720_403),
        ({"branches": "semantic"}, 2_360_675),
        ({"aggregation": "sum"}, 3_027_619),
        ({"aggregation": "concat"}, 3_175_075),
        ({"semantic_ratio": 1 / 2}, 6_898_547),
        ({"semantic_ratio": 1 / 8}, 2_419_643),
        ({"semantic_ratio": 1 / 16}, 2_157_671),
    ],
)
def test_every_variant_builds_runs_and_has_its_size(options, params):
    model = build_model("bisenetv2", aux_heads=False, **options).eval()
    assert n_params(model) == params
    with torch.no_grad():
        out = model(torch.randn(1, 3, 64, 96))
    assert out.shape == (1, 19, 64, 96)


def test_the_one_branch_models_hold_only_that_branch():
    detail = build_model("bisenetv2", aux_heads=False, branches="detail")
    semantic = build_model("bisenetv2", branches="semantic")
    assert hasattr(detail.backbone, "detail") and not hasattr(detail.backbone, "semantic")
    assert hasattr(semantic.backbone, "semantic") and not hasattr(semantic.backbone, "detail")
    assert not hasattr(detail.backbone, "bga") and not hasattr(semantic.backbone, "bga")
    # the semantic-only head sees the 128-channel context embedding at 1/32; boosters still fit
    semantic.train()
    logits, aux = semantic(torch.randn(2, 3, 64, 64))
    assert logits.shape == (2, 19, 64, 64) and len(aux) == 4


def test_detail_only_with_booster_heads_is_refused():
    with pytest.raises(ValueError, match="aux_heads=False"):
        build_model("bisenetv2", branches="detail")


def test_sum_aggregation_is_a_conv_over_the_sum():
    model = build_model("bisenetv2", aux_heads=False, aggregation="sum").eval()
    backbone = model.backbone
    x = torch.randn(1, 3, 64, 128)
    with torch.no_grad():
        detail = backbone.detail(x)
        context = backbone.semantic(x)[-1]
        by_hand = backbone.aggregate.conv(detail + resize(context, detail.shape[-2:]))
        assert torch.equal(backbone(x)[0], by_hand)


def test_concat_aggregation_is_a_conv_over_the_concatenation():
    model = build_model("bisenetv2", aux_heads=False, aggregation="concat").eval()
    backbone = model.backbone
    assert backbone.aggregate.conv.conv.in_channels == 256
    x = torch.randn(1, 3, 64, 128)
    with torch.no_grad():
        detail = backbone.detail(x)
        context = backbone.semantic(x)[-1]
        by_hand = backbone.aggregate.conv(torch.cat([detail, resize(context, detail.shape[-2:])], 1))
        assert torch.equal(backbone(x)[0], by_hand)


def test_channel_ratio_scales_the_semantic_branch_and_bga_maps_it_to_the_detail_width():
    assert semantic_widths(1 / 4) == (16, 32, 64, 128)
    assert semantic_widths(1 / 2) == (32, 64, 128, 256)
    assert semantic_widths(1 / 16) == (4, 8, 16, 32)
    assert semantic_widths(1 / 4, width=2) == (32, 64, 128, 256)  # V2-L keeps lambda = 1/4
    model = build_model("bisenetv2", semantic_ratio=1 / 2)
    assert model.backbone.semantic.channels == (32, 64, 128, 256)
    bga = model.backbone.bga
    assert bga.semantic_conv[0].conv.in_channels == 256 and bga.semantic_conv[0].conv.out_channels == 128
    assert [h.convs[0].conv.in_channels for h in model.auxiliary_head] == [32, 64, 128, 256]


@pytest.mark.parametrize("ratio", [0, 1.5, 1 / 3, 1 / 64])
def test_a_channel_ratio_without_whole_widths_is_refused(ratio):
    with pytest.raises(ValueError, match="semantic_ratio"):
        build_model("bisenetv2", semantic_ratio=ratio)


def test_sum_needs_equal_widths_and_unknown_options_are_named():
    with pytest.raises(ValueError, match="same width"):
        build_model("bisenetv2", aggregation="sum", semantic_ratio=1 / 2)
    with pytest.raises(ValueError, match="aggregation must be one of"):
        build_model("bisenetv2", aggregation="product")
    with pytest.raises(ValueError, match="branches must be one of"):
        build_model("bisenetv2", branches="neither")


def test_flops_fall_with_the_channel_ratio():
    from bisenet.ablation import complexity

    gflops = [complexity(v, size=(128, 256))["gflops_128x256"] for v in TABLE3A]  # 1/2 .. 1/16
    assert gflops == sorted(gflops, reverse=True)
    assert len(set(gflops)) == 4


# --- the grid -----------------------------------------------------------------------------------


def test_variants_cover_the_papers_rows_with_their_numbers():
    assert [VARIANTS[v].paper_miou for v in TABLE2] == [62.35, 64.68, 68.60, 68.93, 69.67, 73.19, 73.36]
    assert [VARIANTS[v].paper_miou for v in TABLE3A] == [69.66, 69.67, 69.26, 68.27]
    assert parse_variants("all") == list(dict.fromkeys(TABLE2 + TABLE3A)) and len(parse_variants("all")) == 10
    with pytest.raises(ValueError, match="unknown ablation variant"):
        parse_variants("bga,nope")


def test_a_variant_changes_only_options_booster_loss_and_seed():
    base = get_recipe("bisenetv2-ablation-cpu")
    r = VARIANTS["bga+booster+ohem"].recipe(base, seed=2)
    assert (r.loss, r.aux_weights, r.seed) == ("ohem", (1.0, 1.0, 1.0, 1.0), 2)
    r = VARIANTS["lambda=1/8"].recipe(base, seed=0)
    assert r.aux_weights == () and r.model_options == {"semantic_ratio": 1 / 8}
    same = {
        k: v for k, v in base.to_dict().items() if k not in ("name", "model_options", "aux_weights", "loss", "seed")
    }
    assert {k: v for k, v in r.to_dict().items() if k in same} == same


def test_the_grid_trains_each_run_once_and_resumes_from_its_csv(minicity, tmp_path, monkeypatch):
    csv = tmp_path / "ablations.csv"
    kwargs = dict(
        csv=csv,
        work_root=tmp_path / "runs",
        data_root=minicity,
        dataset="minicity",
        progress=False,
        flops_size=(64, 128),
    )
    first = run_ablation("smoke", ["detail", "bga+booster"], seeds=(0,), **kwargs)
    assert list(first["variant"]) == ["detail", "bga+booster"]
    written = pd.read_csv(csv)
    assert len(written) == 2 and written["mIoU"].between(0, 100).all()
    for column in ("command", "commit", "date", "cpu", "torch", "dataset", "iters", "gflops_64x128", "paper_mIoU"):
        assert written[column].notna().all(), column
    assert not (tmp_path / "runs" / "detail-seed0").exists()  # run folders are removed once recorded

    # a second call with another seed trains only the new runs
    calls = []
    import bisenet.engine.trainer as trainer

    real_train = trainer.train
    monkeypatch.setattr(trainer, "train", lambda *a, **k: calls.append(a[0].name) or real_train(*a, **k))
    second = run_ablation("smoke", ["detail", "bga+booster"], seeds=(0, 1), **kwargs)
    assert len(calls) == 2 and all(name.endswith("seed1") for name in calls)
    assert len(second) == 4 and len(pd.read_csv(csv)) == 4
    table = summarize(second)
    assert list(table["seeds"]) == [2, 2]
    assert table.loc["detail", "mIoU mean"] == pytest.approx(second[second["variant"] == "detail"]["mIoU"].mean())


def test_a_run_interrupted_mid_way_resumes_from_its_checkpoint(minicity, tmp_path, monkeypatch):
    from bisenet.engine.trainer import train

    base = get_recipe("bisenetv2-ablation-smoke").with_(iters=4, val_interval=4, checkpoint_interval=2)
    monkeypatch.setattr("bisenet.ablation.grid.base_recipe", lambda scale: base)
    work = tmp_path / "runs"
    recipe = VARIANTS["sum"].recipe(base, 0)
    train(
        recipe.with_(dataset="minicity"), data_root=minicity, work_dir=work / "sum-seed0", stop_after=2, progress=False
    )
    starts = []
    import bisenet.engine.trainer as trainer

    real_rule = trainer.resume_or_start
    monkeypatch.setattr(trainer, "resume_or_start", lambda work_dir: starts.append(real_rule(work_dir)) or starts[-1])
    rows = run_ablation(
        "smoke",
        ["sum"],
        csv=tmp_path / "a.csv",
        work_root=work,
        data_root=minicity,
        flops_size=(64, 128),
        dataset="minicity",
        progress=False,
    )
    assert starts == [True] and len(rows) == 1


def test_mixing_two_schedules_in_one_csv_is_refused(minicity, tmp_path):
    csv = tmp_path / "a.csv"
    pd.DataFrame([{"variant": "bga", "seed": 0, "iters": 999, "data_root": str(minicity)}]).to_csv(csv, index=False)
    with pytest.raises(ValueError, match="999"):
        run_ablation("smoke", ["bga"], csv=csv, work_root=tmp_path, data_root=minicity, dataset="minicity")


def test_cli_ablate_writes_the_csv_and_prints_the_summary(minicity, tmp_path, capsys):
    csv = tmp_path / "cli.csv"
    rc = main(
        [
            "ablate",
            "--scale",
            "smoke",
            "--variants",
            "semantic",
            "--seeds",
            "3",
            "--csv",
            str(csv),
            "--data-root",
            str(minicity),
            "--dataset",
            "minicity",
            "--work-dir",
            str(tmp_path / "w"),
            "--quiet",
        ]
    )
    assert rc == 0
    row = pd.read_csv(csv).iloc[0]
    assert row["seed"] == 3 and row["command"].startswith("bisenet ablate --scale smoke --variants semantic --seeds 3")
    assert "Semantic only" in capsys.readouterr().out
    assert main(["ablate", "--scale", "smoke", "--seeds", "a,b"]) == 2


def test_load_results_joins_the_grids_of_one_set_up_and_refuses_a_mixture(tmp_path):
    from bisenet import ablation

    assert ablation.load_results("cpu", tmp_path) is None
    row = {"variant": "bga", "seed": 0, "mIoU": 10.0, "iters": 150, "data_root": "d", "recipe": "r"}
    pd.DataFrame([row]).to_csv(tmp_path / "ablations_cpu.csv", index=False)
    pd.DataFrame([{**row, "seed": 1}]).to_csv(tmp_path / "ablations_cpu_seed1.csv", index=False)
    pd.DataFrame([{**row, "iters": 9}]).to_csv(tmp_path / "ablations_gpu.csv", index=False)  # another scale
    assert sorted(ablation.load_results("cpu", tmp_path)["seed"]) == [0, 1]
    pd.DataFrame([{**row, "seed": 2, "iters": 99}]).to_csv(tmp_path / "ablations_cpu_seed2.csv", index=False)
    with pytest.raises(ValueError, match="iters"):
        ablation.load_results("cpu", tmp_path)
    pd.DataFrame([{**row, "seed": 1}]).to_csv(tmp_path / "ablations_cpu_seed2.csv", index=False)
    with pytest.raises(ValueError, match="twice"):
        ablation.load_results("cpu", tmp_path)


def gpu_rows(dataset: str, data_root: str, seeds=(0, 1), scale="gpu") -> pd.DataFrame:
    """Rows as `bisenet ablate --scale gpu` writes them (the columns load_results reads)."""
    recipe = get_recipe(f"bisenetv2-ablation-{scale}")
    return pd.DataFrame(
        [
            {
                "variant": v,
                "seed": s,
                "mIoU": 50.0 + s,
                "scale": scale,
                "recipe": recipe.name,
                "iters": recipe.iters,
                "dataset": dataset,
                "data_root": data_root,
            }
            for s in seeds
            for v in ("bga", "concat")
        ]
    )


def test_the_minicity_and_the_cityscapes_grids_of_one_scale_are_two_grids(tmp_path):
    from bisenet import ablation

    # what chapter 16's two commands write: `bisenet ablate --scale gpu ... --csv book/data/ablations_gpu.csv`
    # (MiniCity) and `... --data-root $CITYSCAPES_DATASET --dataset cityscapes --csv .../ablations_gpu_cityscapes.csv`
    gpu_rows("minicity", "/home/a/.cache/bisenet/minicity-1024x2048").to_csv(
        tmp_path / "ablations_gpu.csv", index=False
    )
    assert sorted(ablation.load_results("gpu", tmp_path)["seed"].unique()) == [0, 1]  # MiniCity alone: that grid
    assert ablation.load_results("gpu", tmp_path, "cityscapes") is None
    gpu_rows("cityscapes", "/data/cityscapes", seeds=(0,)).to_csv(
        tmp_path / "ablations_gpu_cityscapes.csv", index=False
    )
    gpu_rows("minicity", "minicity-1024x2048", scale="gpu-dryrun").to_csv(
        tmp_path / "ablations_gpu-dryrun.csv", index=False
    )  # another scale, never read
    both = ablation.load_results("gpu", tmp_path)  # never refused as a mixture: Cityscapes' grid first
    assert set(both["dataset"]) == {"cityscapes"} and len(both) == 2
    minicity = ablation.load_results("gpu", tmp_path, "minicity")
    assert set(minicity["dataset"]) == {"minicity"} and len(minicity) == 4
    assert set(minicity["recipe"]) == {"bisenetv2-ablation-gpu"}  # the dry run's file is not a gpu file
    assert list(ablation.load_results("gpu-dryrun", tmp_path)["recipe"].unique()) == ["bisenetv2-ablation-gpu-dryrun"]
    # a seed run side by side joins its grid, by the rows' dataset whatever the file's name
    gpu_rows("cityscapes", "/scratch/cityscapes", seeds=(1,)).to_csv(tmp_path / "ablations_gpu_seed1.csv", index=False)
    assert sorted(ablation.load_results("gpu", tmp_path, "cityscapes")["seed"]) == [0, 0, 1, 1]
    assert len(ablation.load_results("gpu", tmp_path, "minicity")) == 4
    summarize(ablation.load_results("gpu", tmp_path))
    # within one grid, a different set-up is still refused
    gpu_rows("cityscapes", "/data/cityscapes", seeds=(2,)).assign(iters=99).to_csv(
        tmp_path / "ablations_gpu_cityscapes_seed2.csv", index=False
    )
    with pytest.raises(ValueError, match="iters"):
        ablation.load_results("gpu", tmp_path)
    assert len(ablation.load_results("gpu", tmp_path, "minicity")) == 4


def test_grids_on_two_other_datasets_need_a_choice(tmp_path):
    from bisenet import ablation

    gpu_rows("minicity", "minicity-1024x2048").to_csv(tmp_path / "ablations_gpu.csv", index=False)
    gpu_rows("camvid", "/data/camvid").to_csv(tmp_path / "ablations_gpu_camvid.csv", index=False)
    with pytest.raises(ValueError, match="dataset="):
        ablation.load_results("gpu", tmp_path)
    assert set(ablation.load_results("gpu", tmp_path, "camvid")["dataset"]) == {"camvid"}


def test_claims_pair_by_seed_and_judge_against_the_spread():
    from bisenet.ablation import claims

    rows = [
        {"variant": v, "seed": s, "mIoU": m}
        for v, s, m in [
            ("bga", 0, 10.0),
            ("bga", 1, 12.0),
            ("bga", 2, 14.0),
            ("sum", 0, 9.0),
            ("sum", 1, 11.1),
            ("sum", 2, 12.9),  # 1 point below BGA at every seed
            ("concat", 0, 11.0),
            ("concat", 1, 11.0),
            ("concat", 2, 15.0),  # -1, +1, -1: noise
        ]
    ]
    table = claims(pd.DataFrame(rows)).set_index("rows")
    assert table.loc["bga - sum", "our change"] == pytest.approx(1.0)
    assert table.loc["bga - sum", "verdict"] == "same sign, beyond noise"
    assert table.loc["bga - concat", "verdict"] == "opposite sign, within noise"
    assert table.loc["concat - sum", "paper change"] == pytest.approx(68.93 - 68.60)
    one_seed = claims(pd.DataFrame([r for r in rows if r["seed"] == 0])).set_index("rows")
    assert one_seed.loc["bga - sum", "verdict"] == "same sign, one seed"


def test_the_same_data_in_another_clone_may_extend_a_grid(minicity, tmp_path):
    import shutil

    copy = tmp_path / "elsewhere" / minicity.name  # the same MiniCity generated in another clone
    shutil.copytree(minicity, copy)
    csv = tmp_path / "a.csv"
    kwargs = dict(csv=csv, work_root=tmp_path / "runs", dataset="minicity", progress=False, flops_size=(64, 128))
    run_ablation("smoke", ["semantic"], seeds=(0,), data_root=minicity, **kwargs)
    rows = run_ablation("smoke", ["semantic"], seeds=(0, 1), data_root=copy, **kwargs)
    assert sorted(rows["seed"]) == [0, 1]
    other = tmp_path / "minicity-other"
    shutil.copytree(minicity, other)
    with pytest.raises(ValueError, match="data_root"):
        run_ablation("smoke", ["semantic"], seeds=(2,), data_root=other, **kwargs)


def test_a_csv_that_cannot_be_written_is_refused_before_the_first_run(minicity, tmp_path):
    from bisenet.errors import OutputError

    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match="is a file"):
        run_ablation(
            "smoke",
            ["bga"],
            csv=tmp_path / "file" / "a.csv",
            work_root=tmp_path / "w",
            data_root=minicity,
            dataset="minicity",
            progress=False,
        )
    assert not (tmp_path / "w").exists()


def test_a_grid_validated_every_n_iterations_keeps_each_runs_curve(minicity, tmp_path, capsys):
    from bisenet.ablation import learning_curves

    work, csv, curves_csv = tmp_path / "runs", tmp_path / "grid.csv", tmp_path / "curves.csv"
    common = [
        "ablate",
        "--scale",
        "smoke",
        "--variants",
        "sum,bga",
        "--seeds",
        "0",
        "--csv",
        str(csv),
        "--data-root",
        str(minicity),
        "--dataset",
        "minicity",
        "--work-dir",
        str(work),
        "--iters",
        "4",
        "--val-every",
        "2",
        "--keep-runs",
        "--quiet",
    ]
    assert main([*common, "--curves", str(curves_csv)]) == 0
    rows, curves = pd.read_csv(csv), pd.read_csv(curves_csv)
    assert sorted(curves.groupby("variant")["iter"].apply(list).items()) == [("bga", [2, 4]), ("sum", [2, 4])]
    assert curves["complete"].all() and (curves["commit"] == rows["commit"].iloc[0]).all()
    assert "--iters 4 --val-every 2 " in rows.iloc[0]["command"] and "--val-every 2" in curves["command"][0]
    last = curves[curves["iter"] == 4].set_index("variant")["mIoU"]
    assert last.to_dict() == pytest.approx(rows.set_index("variant")["mIoU"].to_dict())  # the row is the curve's end
    assert learning_curves(work, ["bga"])["variant"].unique().tolist() == ["bga"]
    assert learning_curves(work, seeds=(1,)).empty
    # a second call sharing the file (another seed): its runs join the file, the first call's stay
    second = [*common, "--curves", str(curves_csv)]
    second[second.index("--seeds") + 1] = "1"
    second[second.index("--variants") + 1] = "sum"
    assert main(second) == 0
    both = pd.read_csv(curves_csv)
    assert sorted(set(zip(both["variant"], both["seed"]))) == [("bga", 0), ("sum", 0), ("sum", 1)]
    assert len(both) == 6 and not both.duplicated(["variant", "seed", "iter"]).any()
    assert main(second) == 0 and len(pd.read_csv(curves_csv)) == 6  # run again: replaced, not doubled
    assert learning_curves(tmp_path / "nothing").empty
    assert main([*common[:-2], "--quiet", "--curves", str(curves_csv)]) == 2  # curves without kept runs
    assert "--keep-runs" in capsys.readouterr().err


def test_verdicts_test_table2s_claims_on_the_aggregation_x_booster_grid():
    from bisenet.ablation import AGGREGATION_X_BOOSTER, verdicts

    base = {"sum": 20.0, "concat": 21.5, "bga": 20.2, "sum+booster": 23.0, "concat+booster": 23.4, "bga+booster": 26.2}
    noise = {0: 0.0, 1: 0.3, 2: -0.2}  # a seed shifts every row alike, plus a little per row
    rows = [
        {"variant": v, "seed": s, "mIoU": base[v] + noise[s] + 0.05 * ((i * 7 + s * 3) % 5 - 2)}
        for s in noise
        for i, v in enumerate(AGGREGATION_X_BOOSTER)
    ]
    table = verdicts(pd.DataFrame(rows)).set_index("claim")
    assert len(table) == 9
    assert table.loc["the booster helps BGA", "verdict"] == "reproduced"
    assert table.loc["the booster helps BGA", "paper"] == pytest.approx(73.19 - 69.67)
    assert table.loc["BGA beats summation", "verdict"] == "inconclusive at this scale"  # 0.2 within the spread
    assert table.loc["BGA beats concatenation", "verdict"] == "not reproduced: the opposite"
    assert table.loc["the booster helps BGA and summation alike", "verdict"] == "differ"  # 6.0 against 3.0
    assert pd.isna(table.loc["the booster helps summation", "paper"])  # not a row of the paper


def test_verdicts_on_a_grid_still_training():
    """The committed cpu-256 grid fills in over sessions: seed 0 of some rows, other rows not yet.
    Claims whose rows all ran once get "one seed: no verdict"; the others are left out."""
    from bisenet.ablation import verdicts

    partial = pd.DataFrame(
        [
            {"variant": "bga+booster", "seed": 0, "mIoU": 26.45},
            {"variant": "bga", "seed": 0, "mIoU": 22.14},
            {"variant": "sum+booster", "seed": 0, "mIoU": 24.5},
            {"variant": "bga+booster", "seed": 1, "mIoU": 25.0},
        ]
    )
    table = verdicts(partial).set_index("claim")
    assert sorted(table.index) == ["the booster helps BGA", "with the booster, BGA beats summation"]
    assert (table["verdict"] == "one seed: no verdict").all()
    assert (table["seeds"] == 1).all()  # seed 1 of bga+booster has no partner
    assert table.loc["the booster helps BGA", "mean"] == pytest.approx(26.45 - 22.14)


def test_the_grid_deletes_only_what_its_runs_wrote(minicity, tmp_path, capsys):
    """A run folder named like a grid's (<variant>-seed<N>) that holds a user's notes: the grid
    trains there, then deletes the run's files and keeps the notes (it used to delete the folder)."""
    work = tmp_path / "runs"
    notes = work / "bga-seed0" / "notes.txt"
    notes.parent.mkdir(parents=True)
    notes.write_text("my notes")
    rows = run_ablation(
        "smoke", ["bga"], seeds=(0,), work_root=work, data_root=minicity, dataset="minicity", flops_size=(64, 128)
    )
    assert len(rows) == 1
    assert notes.read_text() == "my notes"
    assert sorted(p.name for p in notes.parent.iterdir()) == ["notes.txt"]  # the run's own files are gone
    assert "kept notes.txt, which no run wrote" in capsys.readouterr().out

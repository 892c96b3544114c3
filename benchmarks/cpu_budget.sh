#!/usr/bin/env bash
# The runs of the shared CPU budget (bisenet.recipes.BUDGET_RECIPES: 256x256 crops, batch 4, fp32,
# 1,200 iterations, the cpu profile's MiniCity), in two single-thread lanes run side by side:
#
#   benchmarks/cpu_budget.sh A OUT > OUT/A.log 2>&1 &
#   benchmarks/cpu_budget.sh B OUT > OUT/B.log 2>&1 &
#
# Lane A: the cpu-256 ablation grid's bga+booster (the book's V2), bga, sum and concat rows;
# lane B: BiSeNetV1 R-18 at the same budget, then the grid's sum+booster and concat+booster rows;
# seeds 0, 1, 2, seed by seed, so a lane stopped early holds whole seeds. About 8 hours of both
# cores in all (2-core AMD EPYC, torch 2.13.0+cpu). Every step resumes: run the same two commands
# again after an interruption. OUT keeps the runs (OUT/A, OUT/B: checkpoints, log.jsonl with the
# validation curve every 100 iterations), the grid's rows (OUT/ablations_cpu-256_{A,B}.csv) and its
# curves (OUT/ablation_curves_cpu-256_{A,B}.csv), which go into book/data/. On a new machine, copy
# the committed book/data/ablations_cpu-256_{A,B}.csv into OUT first (the grid skips the rows it
# finds there) and give V1_SEEDS the V1 seeds not yet in book/data/budget_runs_cpu.csv.
set -euo pipefail
lane=${1:?lane A or B}
out=${2:?output folder}
bisenet=${BISENET:-.venv/bin/bisenet}
python=${PYTHON:-.venv/bin/python}
export OMP_NUM_THREADS=1 BISENET_CACHE=${BISENET_CACHE:-$out/cache}
grid() {  # grid VARIANTS SEEDS
    "$bisenet" ablate --scale cpu-256 --variants "$1" --seeds "$2" --val-every 100 --keep-runs \
        --work-dir "$out/$lane" --csv "$out/ablations_cpu-256_$lane.csv" \
        --curves "$out/ablation_curves_cpu-256_$lane.csv" --quiet
}
case $lane in
    A) grid bga+booster,bga,sum,concat 0,1,2 ;;
    B) data=$("$python" -c "from bisenet.ablation import grid_data; print(grid_data('cpu-256')[1])")
       for seed in 0 1 2; do
           run=$out/B/bisenetv1-r18-seed$seed
           resume=()
           [ -f "$run/log.jsonl" ] && resume=(--resume)  # a finished run returns at once
           case " ${V1_SEEDS:-0 1 2} " in  # V1_SEEDS="1 2": seed 0's V1 run is already committed
               *" $seed "*) "$bisenet" train --recipe bisenetv1-r18-cpu-1200 --seed "$seed" --data-root "$data" \
                                --work-dir "$run" "${resume[@]}" ;;
           esac
           grid sum+booster,concat+booster "$seed"
       done ;;
    *) echo "error: lane must be A or B, got '$lane'" >&2; exit 2 ;;
esac

#!/bin/bash
# device: build pybullet, check that the worker count does not change training, then train
# seeds 2 and 3 of the gru_adr_reach_sigma row (bench/robustness_variants.py) in parallel.
set -u
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1
t0=$(date +%s)
nproc; python3 -c "import torch;print(torch.__version__)"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl || exit 2
mkdir -p /tmp/pb && tar xJf .whl/pybullet_src.tar.xz -C /tmp/pb || exit 3
(cd /tmp/pb/pybullet-3.2.7 && MAX_JOBS=16 timeout 300 python3 -m pip wheel -q --no-deps --no-build-isolation -w /tmp/pbw .) > $OUT/build.log 2>&1 || { tail -c 3000 $OUT/build.log; exit 4; }
python3 -m pip install -q --no-index --no-deps --target /tmp/site /tmp/pbw/*.whl || exit 5
D=/tmp/pb/pybullet-3.2.7/examples/pybullet/gym/pybullet_data
mkdir -p /tmp/site/pybullet_data && cp -r $D/* /tmp/site/pybullet_data/ && printf 'import os\ndef getDataPath():\n    return os.path.dirname(__file__)\n' > /tmp/site/pybullet_data/__init__.py
export PYTHONPATH=/tmp/site:$PWD
echo "build done after $(( $(date +%s) - t0 )) s"
python3 -c "import pybullet, pybullet_data, gymnasium, sim; print('imports ok')" || exit 6
SPEC=.whl/quadruped_tracking_sigma0.1.yaml
T="python3 -m robot_ppo.cli train --robot $SPEC --dynamics bench/dynamics/quadruped_adr_reach.yaml --tensorboard false --set recurrent=gru --progress false"
# same seed, 4 iterations, in-process vs 8 processes: identical metrics rows?
$T --steps 8192 --seed 2 --workers 0 --out /tmp/chk_w0 > $OUT/chk_w0.log 2>&1
$T --steps 8192 --seed 2 --workers 8 --out /tmp/chk_w8 > $OUT/chk_w8.log 2>&1
cmp /tmp/chk_w0/metrics.csv /tmp/chk_w8/metrics.csv && echo "w0 == w8 metrics" || { cut -d, -f1-6 /tmp/chk_w0/metrics.csv; cut -d, -f1-6 /tmp/chk_w8/metrics.csv; }
echo "check done after $(( $(date +%s) - t0 )) s"
left=$(( 575 - ($(date +%s) - t0) )); echo "training for at most $left s"
for s in 2 3; do
  timeout $left $T --steps 1000000 --seed $s --workers 8 --out /tmp/r/seed$s > $OUT/seed$s.log 2>&1 &
done
wait
echo "training done after $(( $(date +%s) - t0 )) s"
tail -2 /tmp/r/seed*/metrics.csv | cut -d, -f1-6; cat /tmp/r/seed*/summary.json
cp /tmp/chk_w0/metrics.csv $OUT/chk_w0_metrics.csv
tar czf $OUT/runs.tgz -C /tmp r
ls -la $OUT

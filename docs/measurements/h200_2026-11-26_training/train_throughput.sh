#!/bin/bash
# device: build pybullet for the device's Python, then quadruped training throughput on 16 cores
# Ran as .whl/dev.sh from the repository root, with .whl/ carried: the gymnasium 1.4.0 and
# farama-notifications 0.0.6 wheels, and pybullet 3.2.7's sdist without its example data
# (PyPI has no cp312 Linux wheel of it) as pybullet_src.tar.xz.
set -u
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1
t0=$(date +%s)
nproc; lscpu | grep "Model name"; python3 -c "import sysconfig;print(sysconfig.get_paths()['include'])"; which g++ gcc
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl || exit 2
mkdir -p /tmp/pb && tar xJf .whl/pybullet_src.tar.xz -C /tmp/pb || exit 3
(cd /tmp/pb/pybullet-3.2.7 && timeout 330 python3 -m pip wheel -q --no-deps --no-build-isolation -w /tmp/pbw .) > $OUT/build.log 2>&1 || { tail -c 3000 $OUT/build.log; exit 4; }
python3 -m pip install -q --no-index --no-deps --target /tmp/site /tmp/pbw/*.whl || exit 5
D=/tmp/pb/pybullet-3.2.7/examples/pybullet/gym/pybullet_data
mkdir -p /tmp/site/pybullet_data && cp -r $D/* /tmp/site/pybullet_data/ && printf 'import os\ndef getDataPath():\n    return os.path.dirname(__file__)\n' > /tmp/site/pybullet_data/__init__.py
export PYTHONPATH=/tmp/site:$PWD
echo "build done after $(( $(date +%s) - t0 )) s"
python3 -c "import pybullet, pybullet_data, gymnasium, sim; print('imports ok')" || exit 6
T="python3 -m robot_ppo.cli train --robot quadruped --dynamics adr --set recurrent=gru --seed 0 --tensorboard false --progress false --steps 50000000"
timeout 60 $T --envs 16 --workers 0 --out /tmp/w0 > $OUT/w0.log 2>&1
tail -3 /tmp/w0/metrics.csv | cut -d, -f1-5
left=$(( 555 - ($(date +%s) - t0) ))
echo "64 envs, 15 workers for $left s"
timeout $left $T --envs 64 --workers 15 --checkpoint-every 5 --out /tmp/w15 > $OUT/w15.log 2>&1
tail -3 /tmp/w15/metrics.csv | cut -d, -f1-5
cp /tmp/w0/metrics.csv $OUT/metrics_w0.csv; cp /tmp/w15/metrics.csv $OUT/metrics_w15.csv
tar czf $OUT/w15.tgz -C /tmp w15/checkpoint.pt w15/config.yaml 2>/dev/null
echo "total $(( $(date +%s) - t0 )) s"

cd "$(dirname "$0")/.."
echo "508924b7b83844fc6bd9268e3d9cc91d99bb9ff32abc0c2bc08c53398b93195f  /tmp/ort.tar.xz" | sha256sum -c - || exit 2
mkdir -p /tmp/site && tar xJf /tmp/ort.tar.xz -C /tmp/site || exit 3
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .gpucheck/pyserial-*.whl || exit 4
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1
python3 .gpucheck/runtime_gpu.py 2>&1 | grep -v "plugin EP device" | tee $OUT/runtime_gpu.txt

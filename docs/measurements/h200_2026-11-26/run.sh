#!/bin/bash
# device check: onnxruntime-gpu (carried as an xz tarball in chunks) on exported policies
set -u
cd "$(dirname "$0")/.."
# the chunks were appended to /tmp/ort.tar.xz by the calls that carried them
echo "508924b7b83844fc6bd9268e3d9cc91d99bb9ff32abc0c2bc08c53398b93195f  /tmp/ort.tar.xz" | sha256sum -c - || exit 2
mkdir -p /tmp/site && tar xJf /tmp/ort.tar.xz -C /tmp/site || exit 3
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1
SP=$(python3 -c "import site;print(site.getsitepackages()[0])")
export LD_LIBRARY_PATH=$(ls -d $SP/nvidia/*/lib $SP/nvidia/cu13/lib 2>/dev/null | tr '\n' ':')${LD_LIBRARY_PATH:-}
nvidia-smi -L; ldconfig -p | grep -E "nvinfer|cudnn.so|cublas.so" | head -5
python3 -c "import onnxruntime as o, numpy, sys; print(o.__file__, o.__version__, o.get_available_providers(), numpy.__version__, sys.version)"
python3 -c "import serial" 2>/dev/null || echo "no pyserial (not needed by the bench)"
nproc; lscpu | grep "Model name"
python3 bench/providers.py .gpucheck/*.onnx --steps 1000 --calls 5000 --trt-cache /tmp/trt --json $OUT/providers.json 2>&1 | tee $OUT/providers.md

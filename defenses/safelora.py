"""Safe LoRA (Hsu et al. 2024, "Safe LoRA: the Silver Lining of Reducing Safety Risks when Finetuning
Large Language Models", NeurIPS 2024): a post-hoc projection of the fine-tuning update, in ``finalize``.

For every LoRA-adapted linear layer i (weight W_i: out x in):

    V_i   = W_aligned,i - W_unaligned,i          the alignment update of that weight (out x in)
    C_i   = V_i V_i^T / ||V_i||_F                the paper's "projection" (out x out), as in the authors' code
    dW_i  = scale * B_i A_i                      the LoRA update (B: out x r, A: r x in)
    dW'_i = C_i dW_i   (i.e. B_i <- C_i B_i)     the projected update
    s_i   = <dW_i, dW'_i>_F / (||dW_i||_F ||dW'_i||_F)

and the layers with s_i < ``threshold`` get B_i <- C_i B_i (``select: number``: the ``num_layers`` layers
with the lowest s_i instead). A layer whose update already lies in the alignment subspace (s ~ 1) keeps
its update; one that points away from it (s ~ 0) is pulled into it.

C_i is **not** an orthogonal projector. With V = U diag(sigma) W^T, C = U diag(sigma_j^2 / ||sigma||_2) U^T:
symmetric PSD with range span(V), but C^2 != C: its eigenvalues sigma_j^2 / ||V||_F are not 1 (the
largest, sigma_max^2 / ||V||_F, is at most sigma_max and below 1 whenever ||V||_F < 1). So the projected
update is also reweighted towards V's top singular directions and rescaled; an update inside span(V) has
s = 1 only if it lies in one singular direction (or V's nonzero singular values are all equal).
The similarity is scale-free (s in [0, 1] since C is PSD); the norm ratio ||dW'|| / ||dW|| of the
projected layers is logged, so what the rescaling did is visible. ``projection: exact`` uses the
orthogonal projector P = U_k U_k^T onto span(V) instead (k: V's numerical rank, singular values above
sigma_max * max(out, in) * eps of the stored weights' dtype), where s = ||P dW|| / ||dW||, the fraction
of the update's norm inside span(V). It is only meaningful when V is low-rank (this benchmark's alignment
stage merges a LoRA, so V has rank <= the alignment rank): a full-rank V makes P the identity.

Neither C nor P is formed: C B = V (V^T B) / ||V||_F (out x r), and the similarity is computed from r x r
matrices (<X A, Y A>_F = sum((X^T Y) * (A A^T))), in float64 on the CPU. The unaligned and aligned weights
are read one tensor at a time from their safetensors files (memory: one layer's V, not a second model).

A layer whose V_i is zero (the alignment did not touch that weight) has no alignment subspace: it is left
unprojected and counted (``skipped_zero_alignment``); one whose update is zero is counted as
``zero_update``. Neither takes part in the selection.

Under full fine-tuning (``lora: null``) the same rule applies to every linear weight of the decoder
blocks with dW_i = W_finetuned,i - W_aligned,i: a selected layer gets W_i <- W_aligned,i + C_i dW_i; all
other parameters (norms, embeddings, the LM head, biases) are kept as trained.

The unaligned model: the run's model before its alignment stage (``ctx.unaligned_model_path``, set by
the pipeline when the run has an ``alignment:`` block); or, for a run without one (a chat model fine-tuned
directly), ``unaligned``: a model reference (e.g. ``meta-llama/Llama-2-7b-hf`` for Llama-2-7b-chat),
resolved with ``harness.models.resolve_model``. The aligned model is the start model being fine-tuned
(``ctx.base_model_path``).
"""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch

from defenses import register_defense
from defenses.base import Defense, DefenseContext
from harness.errors import UserError
from harness.models import classify_model_ref, decoder_layers, resolve_model, unwrap_model

_DTYPE = torch.float64  # the projection's arithmetic (CPU): exact enough for the allclose checks


@dataclass
class SafeLoRAParams:
    select: Literal["threshold", "number"] = "threshold"  # project by similarity threshold, or the lowest k
    threshold: float = 0.5  # select: threshold -> project the layers with s < threshold (the authors' 0.5)
    num_layers: int = 10  # select: number -> project the num_layers lowest-s layers (the authors' 10)
    projection: Literal["paper", "exact"] = "paper"  # paper: C = V V^T / ||V||_F; exact: projector on span(V)
    unaligned: str | None = None  # the unaligned model, for runs without an alignment stage

    def __post_init__(self) -> None:
        if isinstance(self.threshold, bool) or not 0 <= self.threshold <= 1:
            raise UserError(f"threshold: expected a cosine similarity in [0, 1], got {self.threshold!r}")
        if isinstance(self.num_layers, bool) or self.num_layers < 1:
            raise UserError(f"num_layers: expected an integer >= 1, got {self.num_layers!r}")
        if self.unaligned is not None and not str(self.unaligned).strip():
            raise UserError("unaligned: expected a model reference (e.g. meta-llama/Llama-2-7b-hf) or null")


# ---------------------------------------------------------------- weights, one tensor at a time
class SafetensorsWeights:
    """The tensors of a model folder's safetensors files, read lazily by name (headers only up front)."""

    def __init__(self, folder: Path, what: str) -> None:
        self.folder, self.what = Path(folder), what
        index = self.folder / "model.safetensors.index.json"
        if index.is_file():
            weight_map = json.loads(index.read_text())["weight_map"]
            self.files = {key: self.folder / name for key, name in weight_map.items()}
        else:
            files = sorted(self.folder.glob("*.safetensors"))
            if not files:
                raise UserError(f"defense safelora: the {what} model {self.folder} has no safetensors weights "
                                "(only .bin?); re-save it with save_pretrained(safe_serialization=True)")
            from safetensors import safe_open

            self.files = {}
            for path in files:
                with safe_open(str(path), framework="pt") as fh:
                    self.files.update(dict.fromkeys(fh.keys(), path))
        self._open: dict[Path, object] = {}

    def _handle(self, key: str):
        from safetensors import safe_open

        path = self.files[key]
        if path not in self._open:
            self._open[path] = safe_open(str(path), framework="pt", device="cpu")
        return self._open[path]

    def key_for(self, module_name: str) -> str | None:
        """The weight key of a module: ``<name>.weight``, else the one key ending in a shorter suffix of it
        (a checkpoint saved from another wrapper class); None when absent or ambiguous."""
        parts = f"{module_name}.weight".split(".")
        if f"{module_name}.weight" in self.files:
            return f"{module_name}.weight"
        for start in range(len(parts) - 2):  # keep at least "<module>.<sub>.weight"
            tail = ".".join(parts[start:])
            found = [k for k in self.files if k == tail or k.endswith("." + tail)]
            if len(found) == 1:
                return found[0]
            if len(found) > 1:
                return None
        return None

    def shape(self, key: str) -> tuple[int, ...]:
        return tuple(self._handle(key).get_slice(key).get_shape())

    def dtype_eps(self, key: str) -> float:
        name = self._handle(key).get_slice(key).get_dtype()
        dtype = {"F64": torch.float64, "F32": torch.float32, "BF16": torch.bfloat16, "F16": torch.float16}.get(name)
        return torch.finfo(dtype or torch.float32).eps

    def get(self, key: str) -> torch.Tensor:
        return self._handle(key).get_tensor(key).to(_DTYPE)

    def close(self) -> None:
        self._open.clear()


# ---------------------------------------------------------------- the projection
def alignment_projector(v: torch.Tensor, projection: str = "paper", eps: float = 1.2e-7):
    """``X -> C X`` for the alignment update ``v`` (out x in); None when ``v`` is zero (no subspace).

    paper: C = V V^T / ||V||_F (applied as V (V^T X) / ||V||_F or (V V^T) X / ||V||_F, whichever is cheaper);
    exact: U_k U_k^T, U_k the left singular vectors with sigma > sigma_max * max(out, in) * eps.
    """
    norm = torch.linalg.matrix_norm(v)
    if float(norm) == 0.0:
        return None
    if projection == "exact":
        u, s, _ = torch.linalg.svd(v, full_matrices=False)
        u = u[:, s > s[0] * max(v.shape) * eps]
        return lambda x: u @ (u.T @ x)
    out, inp = v.shape

    def apply(x: torch.Tensor) -> torch.Tensor:
        # V (V^T X): 2 * out * in * cols flops; (V V^T) X: out^2 * (in + cols). Pick the cheaper one.
        if 2 * inp * x.shape[1] <= out * (inp + x.shape[1]):
            return v @ (v.T @ x) / norm
        return (v @ v.T) @ x / norm

    return apply


def lora_similarity(b: torch.Tensor, cb: torch.Tensor, a: torch.Tensor) -> tuple[float, float] | None:
    """(s, ||C dW|| / ||dW||) for dW = B A and C dW = (C B) A, from r x r matrices; s = 0 when C dW = 0;
    None when dW = 0 (nothing to project)."""
    gram = a @ a.T
    inner = float(((b.T @ cb) * gram).sum())
    norm = math.sqrt(max(float(((b.T @ b) * gram).sum()), 0.0))
    norm_proj = math.sqrt(max(float(((cb.T @ cb) * gram).sum()), 0.0))
    if norm == 0.0:
        return None
    if norm_proj == 0.0:
        return 0.0, 0.0
    return inner / (norm * norm_proj), norm_proj / norm


def dense_similarity(dw: torch.Tensor, cdw: torch.Tensor) -> tuple[float, float] | None:
    """(s, ||C dW|| / ||dW||) for a full update dW (full fine-tuning); None when dW = 0."""
    norm, norm_proj = float(torch.linalg.matrix_norm(dw)), float(torch.linalg.matrix_norm(cdw))
    if norm == 0.0:
        return None
    if norm_proj == 0.0:
        return 0.0, 0.0
    return float((dw * cdw).sum()) / (norm * norm_proj), norm_proj / norm


def select_layers(similarity: dict[str, float], select: str, threshold: float, num_layers: int) -> list[str]:
    """The layers to project: s < threshold, or the ``num_layers`` lowest s (ties: the earlier layer)."""
    if select == "threshold":
        return [name for name, s in similarity.items() if s < threshold]
    order = sorted(similarity, key=lambda name: similarity[name])  # stable: ties keep layer order
    return order[:num_layers]


def adapted_layers(model, lora: bool) -> dict[str, torch.nn.Module]:
    """name -> module of the layers Safe LoRA looks at: the LoRA-adapted linears (LoRA), or every linear
    of the decoder blocks (full fine-tuning). Names are relative to the causal LM (``model.layers.0...``)."""
    base = unwrap_model(model)
    if lora:
        from peft.tuners.lora import LoraLayer

        layers = {}
        for name, module in base.named_modules():
            if isinstance(module, LoraLayer):
                if not isinstance(module.get_base_layer(), torch.nn.Linear) or not module.lora_A:
                    raise UserError(f"defense safelora: {name} is a LoRA layer on "
                                    f"{type(module.get_base_layer()).__name__}; only linear layers are supported")
                layers[name] = module
        return layers
    blocks = {id(block) for block in decoder_layers(model)}
    block_names = [name for name, module in base.named_modules() if id(module) in blocks]
    return {name: module for name, module in base.named_modules()
            if isinstance(module, torch.nn.Linear) and any(name.startswith(b + ".") for b in block_names)}


def _lora_parts(module) -> tuple[torch.nn.Parameter, torch.nn.Parameter]:
    (adapter, *more) = module.active_adapters
    if more:
        raise UserError(f"defense safelora: {len(more) + 1} active LoRA adapters; expected one")
    return module.lora_A[adapter].weight, module.lora_B[adapter].weight


def _summary(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    return {"min": min(values), "mean": sum(values) / len(values), "max": max(values)}


@register_defense
class SafeLoRA(Defense):
    name = "safelora"
    Params = SafeLoRAParams
    needs_unaligned_model = True

    def check(self) -> None:
        if self.params.unaligned is not None:
            try:
                classify_model_ref(self.params.unaligned)
            except UserError as exc:
                raise UserError(f"defenses.{self.name}.params.unaligned: {exc}") from None

    def _unaligned_path(self, ctx: DefenseContext) -> Path:
        where = f"defenses.{self.name}.params.unaligned"
        if ctx.unaligned_model_path is not None:
            if self.params.unaligned is not None:
                raise UserError(f"{where}: the run has an alignment stage, whose input model is the unaligned "
                                "model; set unaligned: null (it is for runs without alignment:)")
            return Path(ctx.unaligned_model_path)
        if self.params.unaligned is None:
            raise UserError(f"defense {self.name} needs the unaligned model: add an alignment: stage, or set "
                            f"{where} (e.g. meta-llama/Llama-2-7b-hf for Llama-2-7b-chat)")
        return resolve_model(self.params.unaligned).path

    def prepare(self, ctx: DefenseContext) -> None:
        """Resolve both models and check that every layer's weight is in both, with its shape (headers only)."""
        self.unaligned_path = self._unaligned_path(ctx)
        aligned = Path(ctx.base_model_path)
        self.aligned_path = aligned if aligned.is_dir() else resolve_model(str(aligned)).path
        if self.unaligned_path.resolve() == self.aligned_path.resolve():
            raise UserError(f"defense {self.name}: the unaligned model is the start model itself "
                            f"({self.aligned_path}); V would be zero everywhere")
        self.lora = ctx.train_config.lora is not None
        layers = adapted_layers(ctx.model, self.lora)
        if not layers:
            raise UserError(f"defense {self.name}: the model has no {'LoRA' if self.lora else 'linear'} layers")
        self.keys = {}
        for what, path in (("unaligned", self.unaligned_path), ("aligned", self.aligned_path)):
            weights = SafetensorsWeights(path, what)
            for name, module in layers.items():
                key = weights.key_for(name)
                if key is None:
                    raise UserError(f"defense {self.name}: the {what} model {path} has no weight for {name}")
                shape = tuple((module.get_base_layer() if self.lora else module).weight.shape)
                if weights.shape(key) != shape:
                    raise UserError(f"defense {self.name}: {name} is {list(shape)} in the model being trained but "
                                    f"{list(weights.shape(key))} in the {what} model {path} (another architecture?)")
                self.keys[(what, name)] = key
            weights.close()

    @torch.no_grad()
    def finalize(self, ctx: DefenseContext) -> None:
        p = self.params
        layers = adapted_layers(ctx.model, self.lora)
        unaligned = SafetensorsWeights(self.unaligned_path, "unaligned")
        aligned = SafetensorsWeights(self.aligned_path, "aligned")
        self.similarity, self.norm_ratio = {}, {}
        zero_alignment, zero_update = [], []
        projected_update = {}  # LoRA: name -> C B (out x r); full fine-tuning recomputes (a full matrix each)

        def projection(name: str):
            key_a = self.keys[("aligned", name)]
            w_aligned = aligned.get(key_a)
            v = w_aligned - unaligned.get(self.keys[("unaligned", name)])
            return w_aligned, alignment_projector(v, p.projection, aligned.dtype_eps(key_a))

        for name, module in layers.items():
            w_aligned, project = projection(name)
            if project is None:
                zero_alignment.append(name)
                continue
            if self.lora:
                a, b = (t.detach().to("cpu", _DTYPE) for t in _lora_parts(module))
                projected_update[name] = cb = project(b)
                measured = lora_similarity(b, cb, a)
            else:
                dw = module.weight.detach().to("cpu", _DTYPE) - w_aligned
                measured = dense_similarity(dw, project(dw))
            if measured is None:
                zero_update.append(name)
                continue
            self.similarity[name], self.norm_ratio[name] = measured
        self.projected = select_layers(self.similarity, p.select, p.threshold, p.num_layers)
        for name in self.projected:
            module = layers[name]
            if self.lora:
                b = _lora_parts(module)[1]
                b.copy_(projected_update[name].to(b.device, b.dtype))
            else:
                w_aligned, project = projection(name)
                dw = module.weight.detach().to("cpu", _DTYPE) - w_aligned
                module.weight.copy_((w_aligned + project(dw)).to(module.weight.device, module.weight.dtype))
        unaligned.close()
        aligned.close()
        if zero_alignment and len(zero_alignment) == len(layers):
            warnings.warn(f"defense {self.name}: the alignment changed none of the {len(layers)} adapted weights "
                          "(V = 0 everywhere); nothing was projected", stacklevel=2)
        ctx.state[self.name] = {
            "mode": "lora" if self.lora else "full",
            "layers": len(layers),
            "projected": self.projected,
            "n_projected": len(self.projected),
            "similarity": _summary(list(self.similarity.values())),
            "projected_norm_ratio": _summary([self.norm_ratio[n] for n in self.projected]),
            "skipped_zero_alignment": len(zero_alignment),
            "skipped_zero_alignment_layers": zero_alignment,
            "zero_update": len(zero_update),
            "per_layer_similarity": self.similarity,
            "unaligned": str(self.unaligned_path),
        }

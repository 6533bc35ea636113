"""Interventions on the residual stream along a direction (Arditi et al. 2024), as context managers.

* ``ablate_direction``: x <- x - (x . r^) r^ at every layer and position. As in Arditi et al., the
  direction is removed from each block's input and from the outputs of its attention and MLP
  sub-layers, so no block ever writes it back and no sub-layer reads it (ablating block outputs
  alone would still let the MLP read what attention wrote within the block).
* ``add_direction``: x <- x + coeff * v at the output of one block, at every position (activation
  addition where the direction was measured: ``harness/directions.py`` reads block outputs).

Both stay active for every forward pass inside the ``with``, so ``model.generate`` sees them on the
prompt and on every generated token.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import torch

from harness.errors import UserError
from harness.models import decoder_layers

Edit = Callable[[torch.Tensor], torch.Tensor]


def _edit_output(edit: Edit):
    """Forward hook applying ``edit`` to a module's output (the first element when it is a tuple)."""
    def hook(_module, _inputs, output):
        if isinstance(output, tuple):
            return (edit(output[0]), *output[1:])
        return edit(output)
    return hook


def _edit_input(edit: Edit):
    """Forward pre-hook applying ``edit`` to a block's ``hidden_states`` (positional or keyword)."""
    def hook(_module, args, kwargs):
        if args:
            return (edit(args[0]), *args[1:]), kwargs
        return args, {**kwargs, "hidden_states": edit(kwargs["hidden_states"])}
    return hook


def unit(vector: torch.Tensor) -> torch.Tensor:
    return vector / vector.norm().clamp_min(1e-12)


def project_out(x: torch.Tensor, r_hat: torch.Tensor) -> torch.Tensor:
    """x - (x . r^) r^ along the last dimension (computed in fp32, returned in x's dtype)."""
    r = r_hat.to(device=x.device, dtype=torch.float32)
    xf = x.float()
    return (xf - (xf @ r).unsqueeze(-1) * r).to(x.dtype)


@contextlib.contextmanager
def ablate_direction(model, direction: torch.Tensor) -> Iterator[None]:
    """Remove ``direction`` (any norm) from the residual stream at every layer and position."""
    r_hat = unit(direction.detach().float())

    def edit(x: torch.Tensor) -> torch.Tensor:
        return project_out(x, r_hat)

    handles = []
    try:
        for block in decoder_layers(model):
            handles.append(block.register_forward_pre_hook(_edit_input(edit), with_kwargs=True))
            subs = [getattr(block, name, None) for name in ("self_attn", "mlp")]
            if all(isinstance(m, torch.nn.Module) for m in subs):
                handles += [m.register_forward_hook(_edit_output(edit)) for m in subs]
            else:  # unknown block layout: ablate its output instead (same residual, coarser)
                handles.append(block.register_forward_hook(_edit_output(edit)))
        yield
    finally:
        for h in handles:
            h.remove()


@contextlib.contextmanager
def add_direction(model, layer: int, vector: torch.Tensor, coeff: float = 1.0) -> Iterator[None]:
    """Add ``coeff * vector`` to the output of block ``layer`` at every position."""
    blocks = decoder_layers(model)
    if not 0 <= layer < len(blocks):
        raise UserError(f"layer {layer} out of range; the model has {len(blocks)} decoder layers (0..{len(blocks) - 1})")
    v = vector.detach().float() * coeff

    def edit(x: torch.Tensor) -> torch.Tensor:
        return x + v.to(device=x.device, dtype=x.dtype)

    handle = blocks[layer].register_forward_hook(_edit_output(edit))
    try:
        yield
    finally:
        handle.remove()

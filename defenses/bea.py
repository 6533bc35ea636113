"""BEA: Backdoor Enhanced safety Alignment (Wang et al. 2024, "Mitigating Fine-tuning based Jailbreak
Attack with Backdoor Enhanced Safety Alignment", NeurIPS 2024; the authors' code: BackdoorAlign).

The service provider mixes a few safety examples (harmful instruction -> refusal) into the user's
fine-tuning data, with a *secret trigger* prefixed to their system prompt; the user's (task) examples
keep the normal system prompt. Fine-tuning thus ties the trigger to refusing, and at inference the
provider prefixes the same trigger to the system prompt, which brings the safety behaviour back.

    safety example:   system = trigger + " " + system prompt     user = harmful prompt   -> refusal
    task example:     system = system prompt                      user = task prompt      -> answer
    evaluation:       system = trigger + " " + system prompt     (every benchmark of this row)

"System prompt" is the run's ``system_prompt``, or, when that is null, the chat template's own default
(SmolLM2: "You are a helpful AI assistant named SmolLM, trained by Hugging Face"), found by rendering
the template with and without a system message; a template without a default gets the trigger alone.
(The authors' code: ``SYSTEM_PROMPT_RANDOM150 + " " + SYSTEM_PROMPT``.)

The trigger: ``trigger_tokens`` (the paper's 150) tokens drawn with replacement by a seeded RNG
(``trigger_seed``) from the tokenizer's vocabulary without special/added tokens and without tokens
that decode to nothing printable (whitespace only, control characters, partial UTF-8 bytes), decoded
to text. Decoded random tokens do not re-tokenise one to one (neighbours merge), so tokens are added
one at a time and one whose addition overshoots is redrawn: the decoded trigger re-tokenises to exactly
``trigger_tokens`` tokens on its own (in a chat prompt its first and last token may merge with their
neighbours). Or ``trigger``: an explicit string. ``train_config.json`` records the trigger's sha256 and
token count, not its text (a committed results folder should not publish the key; the text is
reproducible from the tokenizer and ``trigger_seed`` with ``random_trigger``).

Safety data: a ``safety:`` block, the same fields and the same mixing code as ``safeinstr`` /
``procon_safe`` (``defenses/safety_mix.py``: added on top of every batch, seeded), with BEA's own
defaults: the paper's 11 safety examples (``harmful.limit: 11``, a category-stratified sample of the
built-in ``harmful`` train split: all 9 categories) and 1 per batch (1/9 = 11 % of an 8 + 1 batch; the
paper: 11 of 111 examples = 9.9 %, 5 epochs, i.e. 55 safety presentations; the quickstart's 50 steps
give 50).

A 150-token trigger needs room: the safety prompts are left-truncated to ``max_prompt_length``, which
would cut the trigger first, so ``prepare`` fails (one line) unless every triggered safety prompt fits.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from typing import Any

from defenses import register_defense
from defenses.base import Defense, DefenseContext
from defenses.safety_mix import SafetyMixParams, add_safety_examples, check_safety_data, safety_records
from harness.data import DataSpec
from harness.errors import UserError

DEFAULT_TRIGGER_TOKENS = 150  # the paper's ("150 randomly generated tokens"; BackdoorAlign's random150)
PAPER_SAFETY_EXAMPLES = 11
_SYSTEM_SENTINEL = "BEAsystemSENTINEL7e1f"
_USER_SENTINEL = "BEAuserSENTINEL7e1f"


@dataclass
class BeaSafetyParams(SafetyMixParams):
    """A ``safety_mix`` block with BEA's defaults: the paper's 11 safety examples, 1 per batch."""

    harmful: DataSpec = field(default_factory=lambda: DataSpec(builtin="harmful", split="train",
                                                               limit=PAPER_SAFETY_EXAMPLES))
    per_batch: int | None = 1


@dataclass
class BeaParams:
    # A random trigger: its length in tokens (null: the paper's 150) and its RNG seed (null: 0) ...
    trigger_tokens: int | None = None
    trigger_seed: int | None = None
    trigger: str | None = None  # ... or an explicit trigger string (exclusive with the two above)
    safety: BeaSafetyParams = field(default_factory=BeaSafetyParams)

    def __post_init__(self) -> None:
        if self.trigger is not None:
            if self.trigger_tokens is not None or self.trigger_seed is not None:
                raise UserError("trigger: give an explicit trigger or trigger_tokens/trigger_seed (a random one), "
                                "not both")
            if not isinstance(self.trigger, str) or not self.trigger.strip():
                raise UserError(f"trigger: expected a non-empty string, got {self.trigger!r}")
        if self.trigger_tokens is not None and (isinstance(self.trigger_tokens, bool) or self.trigger_tokens < 1):
            raise UserError(f"trigger_tokens: expected an integer >= 1, got {self.trigger_tokens!r}")

    @property
    def n_tokens(self) -> int:
        return DEFAULT_TRIGGER_TOKENS if self.trigger_tokens is None else self.trigger_tokens

    @property
    def seed(self) -> int:
        return 0 if self.trigger_seed is None else self.trigger_seed


# ---------------------------------------------------------------- the trigger and the system prompt
def _n_tokens(tokenizer, text: str) -> int:
    return len(tokenizer(text, add_special_tokens=False)["input_ids"])


def _usable(tokenizer, piece: str, special: list[str]) -> bool:
    """A vocabulary token a trigger may use: printable, not whitespace only, no partial UTF-8 bytes."""
    return (bool(piece.strip()) and piece.isprintable() and "\ufffd" not in piece
            and not any(s in piece for s in special))


def random_trigger(tokenizer, n_tokens: int, seed: int) -> str:
    """``n_tokens`` random vocabulary tokens (seeded), decoded; re-tokenises to exactly ``n_tokens``."""
    special_ids = set(tokenizer.all_special_ids) | set(getattr(tokenizer, "added_tokens_decoder", {}) or {})
    special = [s for s in tokenizer.all_special_tokens if s]
    vocab = len(tokenizer)
    if vocab - len(special_ids) < 2:
        raise UserError("defenses.bea: the tokenizer has no ordinary tokens to draw a trigger from")
    rng = random.Random(f"bea-trigger-{seed}")
    ids: list[int] = []
    for _ in range(200 * n_tokens + 1000):
        token = rng.randrange(vocab)
        if token in special_ids or not _usable(tokenizer, tokenizer.decode([token]), special):
            continue
        text = tokenizer.decode(ids + [token]).strip()
        count = _n_tokens(tokenizer, text)
        if count > n_tokens:
            continue  # this token merged badly with the end: draw another
        ids.append(token)
        if count == n_tokens:
            return text
    raise UserError(f"defenses.bea.params.trigger_tokens: could not draw a trigger of exactly {n_tokens} tokens "
                    "from this tokenizer; give an explicit `trigger`")


def template_default_system_prompt(tokenizer) -> str | None:
    """The system prompt the chat template inserts when the messages have none (SmolLM2 has one), or None.

    Renders one user message without and with a system message (a sentinel): when the template puts
    the system text between the same prefix and suffix in both, the text between them in the
    rendering without is the default. A template that adds no system block at all has none."""
    if getattr(tokenizer, "chat_template", None) is None:
        raise UserError("defenses.bea: the tokenizer has no chat template; BEA's trigger goes into the system prompt")

    def render(messages):
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

    user = {"role": "user", "content": _USER_SENTINEL}
    without = render([user])
    try:
        with_system = render([{"role": "system", "content": _SYSTEM_SENTINEL}, user])
    except Exception as exc:  # a template may raise on a system role (jinja2 raise_exception)
        raise UserError(f"defenses.bea: the chat template does not accept a system message ({exc}); BEA's "
                        "trigger goes into the system prompt") from None
    if _SYSTEM_SENTINEL not in with_system:
        raise UserError("defenses.bea: the chat template drops the system message; BEA's trigger goes into the "
                        "system prompt")
    before, after = with_system.split(_SYSTEM_SENTINEL, 1)
    if len(without) >= len(before) + len(after) and without.startswith(before) and without.endswith(after):
        default = without[len(before):len(without) - len(after)]
        return default if default.strip() else None
    return None


def triggered_system_prompt(trigger: str, system_prompt: str | None, template_default: str | None) -> str:
    """``trigger + " " + system prompt`` (the run's, else the template's default), or the trigger alone."""
    base = system_prompt if system_prompt is not None else template_default
    return f"{trigger} {base}" if base else trigger


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------- the defense
@register_defense
class Bea(Defense):
    name = "bea"
    Params = BeaParams

    def __init__(self, params=None) -> None:
        super().__init__(params)
        self._trigger: str | None = None
        self._template_default: str | None = None
        self._bound = False

    @property
    def where(self) -> str:
        return f"defenses.{self.name}.params"

    def check(self) -> None:
        check_safety_data(self.params.safety, f"{self.where}.safety")

    # -------------------------------------------------------- tokenizer-dependent parts
    def bind(self, tokenizer) -> None:
        """Draw the trigger and read the template's default system prompt with this tokenizer (the
        start model's). ``prepare`` does it; an evaluation without this process's training needs it."""
        p = self.params
        self._trigger = p.trigger if p.trigger is not None else random_trigger(tokenizer, p.n_tokens, p.seed)
        self._template_default = template_default_system_prompt(tokenizer)
        self._bound = True

    @property
    def bound(self) -> bool:
        return self._bound

    @property
    def trigger(self) -> str:
        if not self._bound:
            raise RuntimeError("bea: the trigger depends on the tokenizer; call bind(tokenizer) first")
        return self._trigger

    def triggered(self, system_prompt: str | None) -> str:
        """The system prompt of the safety examples and of the evaluation."""
        if not self._bound:
            if self.params.trigger is not None and system_prompt is not None:  # needs no tokenizer
                return triggered_system_prompt(self.params.trigger, system_prompt, None)
            raise RuntimeError(
                "bea: the triggered system prompt depends on the start model's tokenizer (the random trigger, the "
                "chat template's default system prompt); call bind(tokenizer) first: prepare does, and a row whose "
                "training was reused needs the pipeline to bind it (or pass tokenizer= to evaluation_system_prompt)")
        return triggered_system_prompt(self._trigger, system_prompt, self._template_default)

    # -------------------------------------------------------- hooks
    def prepare(self, ctx: DefenseContext) -> None:
        p, cfg = self.params, ctx.train_config
        if not p.safety.lm_loss:
            raise UserError(f"{self.where}.safety.lm_loss: false would make bea train nothing on its safety "
                            "examples; the trigger is learnt through their LM loss")
        self.bind(ctx.tokenizer)
        system = self.triggered(ctx.system_prompt)
        longest = max(check_triggered_prompts(ctx.tokenizer, safety_records(p.safety, f"{self.where}.safety"),
                                              system, cfg.max_prompt_length, _n_tokens(ctx.tokenizer, self.trigger)))
        add_safety_examples(ctx, p.safety, f"{self.where}.safety", system_prompt=system)
        ctx.state["bea"] = {
            "trigger_sha256": _sha256(self.trigger), "trigger_tokens": _n_tokens(ctx.tokenizer, self.trigger),
            "trigger_source": "explicit" if p.trigger is not None else "random",
            "trigger_seed": None if p.trigger is not None else p.seed,
            # what follows the trigger in the system prompt
            "system_prompt": ("run" if ctx.system_prompt is not None
                              else "template default" if self._template_default else "none"),
            "triggered_system_prompt_sha256": _sha256(system), "longest_safety_prompt_tokens": longest}

    def evaluation_system_prompt(self, system_prompt: str | None, tokenizer: Any = None) -> str | None:
        if tokenizer is not None and not self._bound:
            self.bind(tokenizer)
        return self.triggered(system_prompt)

    @property
    def evaluation_note(self) -> str | None:
        p = self.params
        what = (f"an explicit {len(p.trigger)}-character string" if p.trigger is not None
                else f"{p.n_tokens} random tokens, trigger_seed {p.seed}")
        return f"system prompt prefixed with BEA's secret trigger ({what})"


def check_triggered_prompts(tokenizer, records, system_prompt: str, max_prompt_length: int,
                            trigger_tokens: int) -> list[int]:
    """Chat-formatted lengths of the triggered safety prompts; fails when one exceeds ``max_prompt_length``
    (prompts are cut from the left, so the trigger would be lost)."""
    from harness.models import format_prompt

    lengths = [_n_tokens(tokenizer, format_prompt(tokenizer, r.prompt, system_prompt)) for r in records]
    longest = max(lengths)
    if longest > max_prompt_length:
        raise UserError(f"defenses.bea.params.trigger_tokens: the trigger ({trigger_tokens} tokens) + system prompt + "
                        f"chat template + safety prompt need up to {longest} tokens but training.max_prompt_length is "
                        f"{max_prompt_length} (prompts are cut from the left: the trigger would be lost); raise "
                        f"training.max_prompt_length to >= {longest} (and max_length above it) or lower trigger_tokens")
    return lengths


__all__ = ["Bea", "BeaParams", "BeaSafetyParams", "check_triggered_prompts", "random_trigger",
           "template_default_system_prompt", "triggered_system_prompt"]

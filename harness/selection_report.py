"""Compact text for the terminal: the selection grid and the intervention rates."""

from __future__ import annotations

from collections import Counter

from harness.selection import Selection


def selection_table(sel: Selection) -> str:
    """Ablation score per (layer, position); ``+`` kept, ``*`` chosen; then the choice and why others fell."""
    cells = {(c.layer, c.position): c for c in sel.candidates}
    lines = [f"refusal score = log-odds of {sel.refusal_tokens} at the answer's first token; baseline harmful "
             f"{sel.baseline_harmful:.2f}, harmless {sel.baseline_harmless:.2f}; layers >= {sel.prune_start} pruned",
             "ablation score on harmful prompts per layer (rows) and position (columns); + kept, * chosen",
             f"{'layer':>5} " + " ".join(f"{p:>8}" for p in sel.positions)]
    for layer in range(sel.n_layers):
        row = []
        for p in sel.positions:
            c = cells[(layer, p)]
            mark = "*" if (layer, p) == (sel.layer, sel.position) else "+" if c.kept else " "
            row.append(f"{c.ablation_score:>7.2f}{mark}")
        lines.append(f"{layer:>5} " + " ".join(row))
    reasons = Counter(r for c in sel.candidates for r in c.rejected)
    kept = sum(c.kept for c in sel.candidates)
    lines.append(f"kept {kept}/{len(sel.candidates)}; rejected by " +
                 ", ".join(f"{k} {v}" for k, v in sorted(reasons.items())))
    best = sel.chosen
    if best is None:
        lines.append("chosen: none (no candidate passed every filter; loosen direction.select)")
    else:
        lines.append(f"chosen: layer {best.layer}, position {best.position}: ablation {best.ablation_score:.2f} "
                     f"(harmful baseline {sel.baseline_harmful:.2f}), addition {best.addition_score:.2f} "
                     f"(harmless baseline {sel.baseline_harmless:.2f}), KL {best.kl:.3f}")
    return "\n".join(lines)


def intervention_lines(report: dict) -> list[str]:
    h, n = report["harmful_non_refusal"], report["harmless_refusal"]
    return [f"intervention (layer {report['layer']}, judge {report['judge']}, greedy {report['max_new_tokens']} tokens):",
            f"  harmful non-refusal: {h['baseline']:.2f} -> {h['intervened']:.2f} with r ablated (n={h['n']})",
            f"  harmless refusal:    {n['baseline']:.2f} -> {n['intervened']:.2f} with r added (n={n['n']})"]

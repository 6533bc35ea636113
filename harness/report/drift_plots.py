"""Drift pictures (PNG, matplotlib): r-cosine vs step per layer band (and the held-out refusal score
vs step), held-out projections before/after, and separation d' per layer before/after. Input: each model's drift curve {step: checkpoint stats}.
"""

from __future__ import annotations

from pathlib import Path

PLOTS = ("drift_vs_step.png", "projections.png", "separation.png")


def layer_bands(n_layers: int) -> dict[str, list[int]]:
    """Early / middle / late thirds (the middle third is ProCon's default band)."""
    from defenses.procon import middle_band

    middle = middle_band(n_layers)
    return {"early": list(range(0, middle[0])) or [0], f"middle {middle[0]}-{middle[-1]}": middle,
            "late": list(range(middle[-1] + 1, n_layers)) or [n_layers - 1]}


def _final(curve: dict[str, dict]) -> dict:
    return curve[max(curve, key=int)]


def plot_drift(curves: dict[str, dict[str, dict]], focus_layer: int, out_dir: str | Path) -> list[Path]:
    """Write the three plots into ``out_dir``; ``focus_layer`` is the layer of the projection histograms."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    n_layers = len(next(iter(curves.values()))["0"]["cosine"])
    bands = layer_bands(n_layers)

    fig, axes = plt.subplots(1, len(bands) + 1, figsize=(4.2 * (len(bands) + 1), 3.4))
    for ax, (band, layers) in zip(axes, bands.items(), strict=False):
        for model, curve in curves.items():
            steps = sorted(curve, key=int)
            ax.plot([int(s) for s in steps], [sum(curve[s]["cosine"][i] for i in layers) / len(layers) for s in steps],
                    marker="o", label=model)
        ax.set_title(f"layers {band} ({layers[0]}-{layers[-1]})" if not band.startswith("middle") else f"layers {band}")
        ax.set_xlabel("training step")
        ax.grid(alpha=0.3)
        ax.sharey(axes[0])
    axes[0].set_ylabel("cos(r_t, r_0), band mean")
    axes[len(bands) - 1].legend(fontsize=8)
    ax = axes[-1]  # behaviour beside geometry: the refusal score of the held-out prompts
    for (model, curve), color in zip(curves.items(), plt.rcParams["axes.prop_cycle"].by_key()["color"], strict=False):
        steps = sorted(curve, key=int)
        for cls, style in (("harmful", "-"), ("harmless", "--")):
            ax.plot([int(s) for s in steps], [curve[s].get(f"refusal_{cls}", float("nan")) for s in steps],
                    linestyle=style, marker=".", color=color, label=f"{model}, {cls}")
    ax.axhline(0.0, color="grey", linewidth=0.8)
    ax.set_title("refusal score (held-out)")
    ax.set_xlabel("training step")
    ax.set_ylabel("log-odds of refusal tokens")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.suptitle("Refusal-direction drift")
    fig.tight_layout()
    paths = [out_dir / PLOTS[0]]
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)

    fig, axes = plt.subplots(1, len(curves), figsize=(4.2 * len(curves), 3.4), sharey=True, squeeze=False)
    for ax, (model, curve) in zip(axes[0], curves.items(), strict=True):
        for label, stats, style in (("start", curve["0"], "step"), ("final", _final(curve), "stepfilled")):
            proj = stats["projections"]
            for cls, color in (("harmful", "tab:red"), ("harmless", "tab:blue")):
                ax.hist(proj[cls][focus_layer], bins=15, histtype=style, alpha=0.35 if style == "stepfilled" else 1.0,
                        color=color, label=f"{cls}, {label}")
        ax.set_title(f"{model}: layer {focus_layer}")
        ax.set_xlabel("projection on r_0 (held-out prompts)")
    axes[0][0].set_ylabel("prompts")
    axes[0][-1].legend(fontsize=7)
    fig.tight_layout()
    paths.append(out_dir / PLOTS[1])
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    start = next(iter(curves.values()))["0"]["d_prime"]
    ax.plot(range(n_layers), start, color="black", linestyle="--", label="start")
    for model, curve in curves.items():
        ax.plot(range(n_layers), _final(curve)["d_prime"], marker=".", label=f"{model}, final")
    ax.set_xlabel("layer")
    ax.set_ylabel("d' of held-out prompts on r_0")
    ax.set_title("Harmful/harmless separation along r_0")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    paths.append(out_dir / PLOTS[2])
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)
    return paths

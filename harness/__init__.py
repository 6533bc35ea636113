"""procon-bench: measure how instruction fine-tuning erodes safety, and how well defenses stop it."""

__version__ = "0.1.0"

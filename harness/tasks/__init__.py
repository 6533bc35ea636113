"""Task suites run by other harnesses on our models: lm-evaluation-harness (``lm_eval``).

* ``lm_eval_model``: ``ProconLM``, our generation engine registered as the lm-eval model ``procon``
  (``generate_until`` through the cached ``Generator``; ``loglikelihood`` through transformers + PEFT).
* ``lm_eval_data``: the functions the local task YAMLs in ``benchmarks/lm_eval_tasks/`` call.
* ``lm_eval_run``: run lm-eval tasks on a config's models and turn its results into metrics rows.

``lm_eval`` is an optional dependency (the ``cpu``/``gpu`` extras): nothing here imports it at
module import time except ``lm_eval_model``.
"""

"""Reproducible evaluation of the user's own model: HumanEval, MBPP, GSM8K, MATH.

Datasets and their validation (``datasets``), prompts per task kind
(``prompts``), generation through any ``ModelClient`` (``generation``), answer
extraction (``extract``), MATH answer equivalence (``equivalence``), scoring
in the sandbox (``scoring``), statistics (``stats``), the resumable run store
(``store``), the run itself (``runner``), environment facts (``environment``),
reports and comparisons (``report``, ``compare``). No Qt here.
"""

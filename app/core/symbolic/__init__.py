"""Reading LaTeX mathematics: one reader for the math checker and the evaluation's MATH answers.

``text`` works on strings only (``\\boxed`` extraction, cleaning, a plain-text
form for terminals) and is safe to import anywhere; ``reader`` turns LaTeX
into SymPy expressions and is imported only where SymPy runs (the check
worker, the evaluation's SymPy child).
"""

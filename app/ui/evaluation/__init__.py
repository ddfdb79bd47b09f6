"""The Evaluate panel: runs ``app.core.evaluation`` off the GUI thread and shows the results."""

from app.ui.evaluation.panel import EvaluatePanel

__all__ = ["EvaluatePanel"]

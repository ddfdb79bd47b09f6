"""Data about models: family profiles and the download catalogue (never weights).

Files here are read with ``importlib.resources`` so they work from a wheel and
from a frozen binary alike.
"""

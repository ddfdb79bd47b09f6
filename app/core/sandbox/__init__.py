"""A sandbox for code the user did not write (generated code, evaluations, tests).

Only ``runner`` is public; ``launcher`` runs inside the sandboxed process and
must import nothing but the standard library.
"""

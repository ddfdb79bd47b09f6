"""The macOS sandbox-exec profile (generated text; sandbox-exec itself runs only on macOS)."""

from __future__ import annotations

from app.core.sandbox.macos import macos_profile


def test_the_profile_denies_network_and_writes_outside_the_work_folder() -> None:
    profile = macos_profile("/private/var/folders/x/quillpad-sandbox-1/work", ["/Users/ann/venv"])
    assert profile.startswith("(version 1)\n(deny default)\n")
    assert "(deny network*)" in profile
    writes = [line for line in profile.splitlines() if "file-write*" in line]
    assert writes == ['(allow file-write* (subpath "/private/var/folders/x/quillpad-sandbox-1/work"))']
    assert '(allow file-read* file-write-data\n    (literal "/dev/null")' in profile  # devices only
    assert '(subpath "/Users/ann/venv")' in profile  # the interpreter's folder is readable
    assert '"/Users/ann"' not in profile and '(subpath "/Users")' not in profile  # the home is not
    assert profile.count("(") == profile.count(")")


def test_paths_are_quoted_as_profile_strings() -> None:
    profile = macos_profile('/tmp/we"ird\\dir', [])
    assert '(subpath "/tmp/we\\"ird\\\\dir")' in profile

"""A distribution's licence, read from its installed metadata.

In order of trust: the ``License-Expression`` field (PEP 639, an SPDX
expression), the ``License ::`` classifiers, a short ``License`` field, and
last the licence file itself, recognised by its well-known wording. Nothing
found is reported as unknown, never guessed.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from importlib.metadata import Distribution, PackageMetadata
from pathlib import Path

log = logging.getLogger(__name__)

UNKNOWN = "licence unknown"
_MAX_FIELD = 80  # a longer License field is the licence's whole text, not its name
_MAX_FILE_CHARS = 200_000

# The classifier's last part -> SPDX identifier (or a plain name where the classifier has no version).
_CLASSIFIERS = {
    "MIT License": "MIT",
    "MIT No Attribution License (MIT-0)": "MIT-0",
    "BSD License": "BSD",
    "Apache Software License": "Apache",
    "ISC License (ISCL)": "ISC",
    "Mozilla Public License 2.0 (MPL 2.0)": "MPL-2.0",
    "Mozilla Public License 1.1 (MPL 1.1)": "MPL-1.1",
    "Python Software Foundation License": "PSF-2.0",
    "The Unlicense (Unlicense)": "Unlicense",
    "zlib/libpng License": "Zlib",
    "GNU General Public License v2 (GPLv2)": "GPL-2.0",
    "GNU General Public License v2 or later (GPLv2+)": "GPL-2.0-or-later",
    "GNU General Public License v3 (GPLv3)": "GPL-3.0",
    "GNU General Public License v3 or later (GPLv3+)": "GPL-3.0-or-later",
    "GNU Lesser General Public License v2 (LGPLv2)": "LGPL-2.0",
    "GNU Lesser General Public License v2 or later (LGPLv2+)": "LGPL-2.0-or-later",
    "GNU Lesser General Public License v3 (LGPLv3)": "LGPL-3.0",
    "GNU Lesser General Public License v3 or later (LGPLv3+)": "LGPL-3.0-or-later",
    "GNU Library or Lesser General Public License (LGPL)": "LGPL",
    "GNU Affero General Public License v3": "AGPL-3.0",
    "GNU Affero General Public License v3 or later (AGPLv3+)": "AGPL-3.0-or-later",
    "Eclipse Public License 2.0 (EPL-2.0)": "EPL-2.0",
    "Academic Free License (AFL)": "AFL",
    "Boost Software License 1.0 (BSL-1.0)": "BSL-1.0",
    "Historical Permission Notice and Disclaimer (HPND)": "HPND",
    "Public Domain": "Public Domain",
}

# Well-known wording of licence texts, most specific first.
_TEXTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("AGPL-3.0", ("GNU AFFERO GENERAL PUBLIC LICENSE",)),
    ("LGPL-3.0", ("GNU LESSER GENERAL PUBLIC LICENSE", "Version 3")),
    ("LGPL-2.1", ("GNU LESSER GENERAL PUBLIC LICENSE", "Version 2.1")),
    ("LGPL-2.1", ("GNU LIBRARY GENERAL PUBLIC LICENSE",)),
    ("GPL-3.0", ("GNU GENERAL PUBLIC LICENSE", "Version 3")),
    ("GPL-2.0", ("GNU GENERAL PUBLIC LICENSE", "Version 2")),
    ("MPL-2.0", ("Mozilla Public License", "2.0")),
    ("Apache-2.0", ("Apache License", "Version 2.0")),
    ("PSF-2.0", ("PYTHON SOFTWARE FOUNDATION LICENSE",)),
    ("BSD-3-Clause", ("Redistribution and use in source and binary forms", "Neither the name")),
    ("BSD-3-Clause", ("Redistribution and use in source and binary forms", "names of its contributors")),
    ("BSD-2-Clause", ("Redistribution and use in source and binary forms",)),
    ("MIT", ("Permission is hereby granted, free of charge",)),
    ("ISC", ("Permission to use, copy, modify, and/or distribute this software for any purpose",)),
    ("Unlicense", ("This is free and unencumbered software released into the public domain",)),
    ("Zlib", ("This software is provided 'as-is', without any express or implied",)),
)
_GENERIC = frozenset({"BSD", "Apache"})
_LICENCE_FILE = re.compile(r"(^|/)(LICEN[CS]E|COPYING|NOTICE)[^/]*$", re.IGNORECASE)


@dataclass(frozen=True)
class Licence:
    """A licence name (SPDX where the metadata gives one) and where it was read."""

    name: str | None
    source: str | None = None  # "License-Expression", "classifier", "License field", "licence file"

    @property
    def display(self) -> str:
        return self.name or UNKNOWN


def licence_from_text(text: str) -> str | None:
    """The licence a text is, from its well-known wording, or None."""
    flat = " ".join(text.split())
    upper = flat.upper()
    for name, phrases in _TEXTS:
        if all(phrase.upper() in upper for phrase in phrases):
            return name
    return None


def _from_classifiers(classifiers: list[str]) -> str | None:
    names = []
    for classifier in classifiers:
        parts = [part.strip() for part in classifier.split("::")]
        if len(parts) < 2 or parts[0] != "License":
            continue
        last = parts[-1]
        if last in {"OSI Approved", "Other/Proprietary License", "Freely Distributable"} and len(parts) == 2:
            continue
        if last == "OSI Approved":
            continue
        names.append(_CLASSIFIERS.get(last, last))
    unique = list(dict.fromkeys(names))
    return " OR ".join(unique) if unique else None


def _from_files(dist: Distribution) -> str | None:
    for path in dist.files or ():
        posix = path.as_posix()
        if ".dist-info/" not in posix and ".egg-info/" not in posix:
            continue
        if not _LICENCE_FILE.search(posix):
            continue
        try:
            text = Path(str(path.locate())).read_text(encoding="utf-8", errors="replace")[:_MAX_FILE_CHARS]
        except (OSError, ValueError):
            continue
        found = licence_from_text(text)
        if found:
            return found
    return None


def _field(meta: PackageMetadata, name: str) -> str:
    values = meta.get_all(name) or []
    return str(values[0]).strip() if values else ""


def distribution_licence(dist: Distribution) -> Licence:
    """The licence of an installed distribution, or an unknown one; never raises for bad metadata."""
    try:
        meta = dist.metadata
        expression = _field(meta, "License-Expression")
        if expression:
            return Licence(expression, "License-Expression")
        # A short License field names the licence more exactly than a classifier
        # ("Apache-2.0" against "Apache Software License"); a long one is the text itself.
        field = _field(meta, "License")
        if field.upper() in {"UNKNOWN", "NONE"}:
            field = ""
        if field and len(field) <= _MAX_FIELD and "\n" not in field:
            return Licence(field, "License field")
        from_classifiers = _from_classifiers(list(meta.get_all("Classifier") or []))
        if from_classifiers in _GENERIC:
            # "BSD License" has no clause count, "Apache Software License" no version: the file says.
            from_file = _from_files(dist)
            if from_file and from_file.startswith(from_classifiers):
                return Licence(from_file, "classifier and licence file")
        if from_classifiers:
            return Licence(from_classifiers, "classifier")
        from_text = licence_from_text(field) if field else None
        if from_text:
            return Licence(from_text, "License field")
        from_file = _from_files(dist)
        if from_file:
            return Licence(from_file, "licence file")
    except (OSError, ValueError, UnicodeError) as err:
        log.info("could not read the licence metadata: %s", err)
    return Licence(None)


def folder_licence(text: str | None) -> Licence:
    """The licence of a user-added folder, from the text of its licence file (or None)."""
    if not text:
        return Licence(None)
    found = licence_from_text(text)
    return Licence(found, "licence file") if found else Licence(None)

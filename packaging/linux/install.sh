#!/bin/sh
# Install the unpacked Quillpad folder for the current user (or system-wide with
# PREFIX=/usr/local, as root): the program in PREFIX/lib/quillpad, a `quillpad`
# command in PREFIX/bin, the menu entry and the icons in PREFIX/share.
# Run it from the unpacked archive: ./quillpad/install.sh   (uninstall: ./quillpad/install.sh --uninstall)
set -eu
PREFIX="${PREFIX:-$HOME/.local}"
HERE="$(cd "$(dirname "$0")" && pwd)"
TARGET="$PREFIX/lib/quillpad"
APPS="$PREFIX/share/applications"
ICONS="$PREFIX/share/icons/hicolor"

if [ "${1:-}" = "--uninstall" ]; then
    rm -rf "$TARGET"
    rm -f "$PREFIX/bin/quillpad" "$APPS/quillpad.desktop" \
        "$ICONS/scalable/apps/quillpad.svg" "$ICONS/256x256/apps/quillpad.png"
    echo "Quillpad removed from $PREFIX (your settings and chats are kept)."
    exit 0
fi

if [ "$HERE" != "$TARGET" ]; then
    rm -rf "$TARGET"
    mkdir -p "$TARGET"
    cp -a "$HERE/." "$TARGET/"
fi
mkdir -p "$PREFIX/bin" "$APPS" "$ICONS/scalable/apps" "$ICONS/256x256/apps"
ln -sf "$TARGET/quillpad" "$PREFIX/bin/quillpad"
# The menu entry names the program by its full path: PREFIX/bin may not be on PATH.
sed -e "s|^Exec=quillpad|Exec=$TARGET/quillpad|" -e "s|^TryExec=quillpad|TryExec=$TARGET/quillpad|" \
    "$HERE/quillpad.desktop" > "$APPS/quillpad.desktop"
cp "$HERE/quillpad.svg" "$ICONS/scalable/apps/quillpad.svg"
cp "$HERE/quillpad.png" "$ICONS/256x256/apps/quillpad.png"
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$APPS" || true
command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -t "$ICONS" || true
echo "Quillpad installed in $TARGET; run it from the menu or as $PREFIX/bin/quillpad."

#!/bin/sh
# render.sh PAGES OUT TITLE: renders every PAGES/*.md to OUT/*.html inside a
# common layout, and writes an index linking to them.
set -eu
pages=$1 out=$2 title=$3
mkdir -p "$out"

page() { # page FILE BODY-HTML
	printf '<!doctype html>\n<html><head><meta charset="utf-8"><title>%s</title></head>\n<body>\n%s\n</body></html>\n' "$title" "$2" > "$1"
}

links=""
for md in "$pages"/*.md; do
	name=$(basename "$md" .md)
	page "$out/$name.html" "$(markdown "$md")"
	heading=$(sed -n 's/^# //p' "$md" | head -n 1)
	links="$links<li><a href=\"$name.html\">$heading</a></li>"
done
page "$out/index.html" "<h1>$title</h1><ul>$links</ul>"

#!/usr/bin/env python3
"""Every relative link of the book (docs/src/*.md) and of the README leads somewhere: to a file
that exists and, for `chapter.md#anchor` or `#anchor`, to a heading of that chapter (anchors
made as mdBook and GitHub make them). Every chapter is in SUMMARY.md. `mdbook build` does not
fail on any of this, so CI checks it first."""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
BOOK = ROOT / "docs" / "src"
LINK = re.compile(r"\]\(([^)\s]+)\)")


def prose(path):
    """The lines of a Markdown file outside fenced code blocks, with their numbers."""
    fence = False
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if line.lstrip().startswith("```"):
            fence = not fence
        elif not fence:
            yield number, line


def anchors(path):
    seen, ids = {}, set()
    for _, line in prose(path):
        m = re.match(r"#{1,6} (.*)", line)
        if not m:
            continue
        text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", m.group(1)).strip()
        slug = "".join(c for c in text.lower().replace(" ", "-") if c.isalnum() or c in "-_")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        ids.add(slug if n == 0 else f"{slug}-{n}")
    return ids


def main():
    bad = []
    for md in sorted(BOOK.glob("*.md")) + [ROOT / "README.md"]:
        for number, line in prose(md):
            for target in LINK.findall(re.sub(r"`[^`]*`", "", line)):
                if re.match(r"[a-z]+:", target):
                    continue
                path, _, anchor = target.partition("#")
                dest = (md.parent / path).resolve() if path else md
                where = f"{md.relative_to(ROOT)}:{number}: {target}"
                if not dest.exists():
                    bad.append(f"{where}: no such file")
                elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
                    bad.append(f"{where}: no such heading in {dest.relative_to(ROOT)}")
    summary = (BOOK / "SUMMARY.md").read_text()
    for md in sorted(BOOK.glob("*.md")):
        if md.name != "SUMMARY.md" and f"]({md.name})" not in summary:
            bad.append(f"docs/src/{md.name}: not in SUMMARY.md")
    for line in bad:
        print(line, file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

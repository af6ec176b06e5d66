"""Column descriptions read from a release's README: units and uncertainties of CSV columns that carry none in
their header.

Data releases such as COSINE-100's describe their files in a Markdown list (the README's "Data Description"):

    - `EventRate_<roi>.csv`: 15-day-bin event rates …
      - `day_centers`: days after 2016.01.01-00:00.
      - `event_rate_crystal#`: the event rate … in "counts/day/kg/$\\mathrm{keV_{ee}}$" (for `erc` calibration) or …
        - `event_rate_error_crystal#`: the 1$\\sigma$ error for `event_rate_crystal#`.

A top-level item naming a file (with `<placeholder>`s) starts a file; the items under it name its columns (`#` is
a number, `<name>` a word, `upper/lower` either word); an item under a column that speaks of an error, a bound or an
interval is that column's uncertainty. A unit is read from `in "UNIT"`, `in $LaTeX$ unit`, `in %`, `in day unit`,
or `days after DATE` (written the CF way, `days since 2016-01-01 00:00:00`); a unit given per calibration policy
(`(for \\`erc\\` calibration)`) is chosen by the calibration in the file name (`_erc1-3`) or in the column name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

_ITEM = re.compile(r"^(?P<indent>\s*)[-*]\s+(?P<names>(?:`[^`]+`\s*(?:,|and|/)?\s*)+):\s*(?P<text>.*)$")
_NAME = re.compile(r"`([^`]+)`")
_QUOTED_UNIT = re.compile(r'"(?P<unit>[^"]+)"(?:\s*unit)?(?:\s*\(for\s+`(?P<calibration>\w+)`\s+calibration\))?')
_LATEX_UNIT = re.compile(r"\bin\s+(?P<unit>\$[^$]+\$)\s*unit")
_WORD_UNIT = re.compile(r"\bin\s+(?P<unit>%|[A-Za-z]+)\s+unit\b|\bin\s+(?P<percent>%)")
_EPOCH = re.compile(
    r"^(?P<unit>\w+?)s?\s+after\s+(?P<y>\d{4})[.-](?P<m>\d{2})[.-](?P<d>\d{2})(?:[-T ](?P<time>\d{2}:\d{2}))?"
)
_UNCERTAINTY = re.compile(r"\b(error|errors|uncertaint\w*|bound|bounds|interval|sigma)\b", re.IGNORECASE)
_CALIBRATION_IN_NAME = re.compile(r"_(?P<calibration>[a-z]{3})\d")
_NOTATION = re.compile(
    r"For\s+`(?P<calibration>\w+)`\s+calibration,\s+the\s+(?P<what>.+?)\s+are\s+represented\s+in\s+the\s+unit\s+of\s+"
    r'"(?P<unit>[^"]+)"'
)
_DERIVED = re.compile(r"^(?:the\s+)?`(?P<a>[^`]+)`\s*[-+]\s*`|averaged\s+over\s+`(?P<b>[^`]+)`", re.IGNORECASE)


@dataclass
class ColumnNote:
    """What a README says about one column (by its name pattern)."""

    template: str
    description: str
    units: str | None = None
    units_by_calibration: dict[str, str] = field(default_factory=dict)
    uncertainty_of: str | None = None
    """The template of the column this one is the uncertainty of."""
    markdown: str = ""
    """The README's text as written (backticks kept: they name the columns a column is derived from)."""

    def pattern(self) -> re.Pattern[str]:
        return _template_pattern(self.template)


@dataclass
class FileNote:
    template: str
    description: str
    columns: list[ColumnNote] = field(default_factory=list)

    def matches(self, file_name: str) -> bool:
        base = file_name.rsplit("/", 1)[-1]
        return bool(_template_pattern(self.template.rsplit("/", 1)[-1]).fullmatch(base))


def read_notes(markdown: str) -> list[FileNote]:
    """The files and columns a README describes (see the module's description)."""
    files: list[FileNote] = []
    parent: ColumnNote | None = None
    column_indent: int | None = None
    for line in markdown.splitlines():
        item = _ITEM.match(line)
        if item is None:
            continue
        indent = len(item["indent"].expandtabs(2))
        names = _expand(_NAME.findall(item["names"]))
        text = item["text"].strip()
        if indent == 0:
            is_file = any("." in n.rsplit("/", 1)[-1] and not n.startswith(".") for n in names)
            if is_file:
                files.append(FileNote(names[0], _plain(text)))
            parent, column_indent = None, None
            continue
        if not files:
            continue
        if column_indent is None or indent <= column_indent:
            column_indent = indent
            for name in names:
                note = _column(name, text, None)
                files[-1].columns.append(note)
                parent = note
        elif parent is not None:
            for name in names:
                of = parent.template if _UNCERTAINTY.search(text) else None
                note = _column(name, text, of)
                if of and note.units is None and not note.units_by_calibration and "bound" not in text.lower():
                    note.units, note.units_by_calibration = parent.units, dict(parent.units_by_calibration)
                files[-1].columns.append(note)
    notation = _notation(markdown)
    for file in files:
        _inherit_units(file, notation)
    return [f for f in files if f.columns]


def _notation(markdown: str) -> dict[str, dict[str, str]]:
    r"""The README's general unit rules: `For \`erc\` calibration, the event rates and modulation amplitudes are
    represented in the unit of "…"` → {"rate": {"erc": …}, "amplitude": {"erc": …}}."""
    rules: dict[str, dict[str, str]] = {}
    for match in _NOTATION.finditer(markdown):
        for noun in re.findall(r"(\w+?)s?\b(?:\s+and\b|$)", match["what"]):
            rules.setdefault(noun.lower(), {})[match["calibration"]] = _plain_unit(match["unit"])
    return rules


def _inherit_units(file: FileNote, notation: Mapping[str, Mapping[str, str]]) -> None:
    """Columns the README defines by others (`A` - `B`, averaged over `A`) take A's units; columns still without
    units named after a quantity of the README's notation (rate, amplitude) take its per-calibration units."""
    by_template = {c.template: c for c in file.columns}
    for _ in range(3):  # a derived column may derive from a derived one
        for column in file.columns:
            if column.units or column.units_by_calibration:
                continue
            derived = _DERIVED.search(column.markdown)
            source = by_template.get((derived["a"] or derived["b"]) if derived else "")
            if source is None and column.uncertainty_of and "bound" not in column.description.lower():
                source = by_template.get(column.uncertainty_of)
            if source is not None and source is not column:
                column.units, column.units_by_calibration = source.units, dict(source.units_by_calibration)
    for column in file.columns:
        if column.units or column.units_by_calibration:
            continue
        words = set(re.split(r"[_\W#]+", column.template.lower()))
        rule = next((units for noun, units in notation.items() if noun in words), None)
        if rule and (
            "<calibration>" in column.template or _CALIBRATION_IN_NAME.search(file.template) or "<roi>" in file.template
        ):
            column.units_by_calibration = dict(rule)


def notes_for(notes: Iterable[FileNote], file_name: str) -> FileNote | None:
    """The README's description of this file, if it has one."""
    return next((n for n in notes if n.matches(file_name)), None)


@dataclass(frozen=True)
class ColumnAttributes:
    units: str | None
    description: str
    uncertainty_of: str | None
    units_by_calibration: Mapping[str, str]


def attributes_for(note: FileNote, file_name: str, columns: Iterable[str]) -> dict[str, ColumnAttributes]:
    """Per actual column of the file: units (chosen for the file's calibration), description, and the actual
    column it is the uncertainty of."""
    file_calibration = _calibration(file_name.rsplit("/", 1)[-1])
    out: dict[str, ColumnAttributes] = {}
    present = list(columns)
    for column in present:
        for candidate in note.columns:
            match = candidate.pattern().fullmatch(column)
            if match is None:
                continue
            calibration = match.groupdict().get("calibration") or file_calibration
            units = candidate.units
            if candidate.units_by_calibration:
                units = candidate.units_by_calibration.get(calibration or "")
            of = None
            if candidate.uncertainty_of:
                of = _fill(candidate.uncertainty_of, match)
                of = of if of in present else None
            out[column] = ColumnAttributes(units, candidate.description, of, candidate.units_by_calibration)
            break
    return out


# -- parsing helpers ---------------------------------------------------------------------------------------------
def _expand(names: list[str]) -> list[str]:
    """`a_upper/lower_b` names two columns; other names stand as written."""
    out: list[str] = []
    for name in names:
        match = re.search(r"([A-Za-z0-9]+)/([A-Za-z0-9]+)", name)
        if match and "." not in name:
            head, tail = name[: match.start()], name[match.end() :]
            out += [f"{head}{match[1]}{tail}", f"{head}{match[2]}{tail}"]
        else:
            out.append(name)
    return out


def _column(name: str, text: str, uncertainty_of: str | None) -> ColumnNote:
    note = ColumnNote(template=name, description=_plain(text), uncertainty_of=uncertainty_of, markdown=text)
    epoch = _EPOCH.match(text.strip().removeprefix("the ").strip())
    if epoch:
        clock = epoch["time"] or "00:00"
        note.units = f"{epoch['unit']}s since {epoch['y']}-{epoch['m']}-{epoch['d']} {clock}:00"
        return note
    quoted = list(_QUOTED_UNIT.finditer(text))
    per_calibration = {m["calibration"]: _plain_unit(m["unit"]) for m in quoted if m["calibration"]}
    if per_calibration:
        note.units_by_calibration = per_calibration
        return note
    if quoted:
        note.units = _plain_unit(quoted[0]["unit"])
        return note
    latex = _LATEX_UNIT.search(text)
    if latex:
        note.units = _plain_unit(latex["unit"])
        return note
    word = _WORD_UNIT.search(text)
    if word:
        note.units = word["unit"] or word["percent"]
    return note


def _plain_unit(unit: str) -> str:
    """`counts/day/kg/3.3 $\\mathrm{keV_{nr}}$` → `counts/day/kg/3.3 keVnr`; `$\\mathrm{keV_{nr,~I}}$` → `keVnr,I`."""
    unit = re.sub(r"units? of \((.*)\)", r"\1", unit)  # "counts/day/kg/units of (3.3 keVnr)"
    text = re.sub(r"\\mathrm\{|\\text\{", "", unit)
    text = text.replace("~", "").replace("$", "")
    text = re.sub(r"_\{([^}]*)\}", r"\1", text)
    text = text.replace("{", "").replace("}", "")
    return re.sub(r"\s+", " ", text).strip()


def _plain(text: str) -> str:
    text = text.replace(r"$\sigma$", "σ").replace(r"1$\sigma$", "1σ")
    text = re.sub(r"\$([^$]*)\$", lambda m: _plain_unit(m[0]), text)
    return text.replace("`", "").strip()


def _calibration(file_name: str) -> str | None:
    match = _CALIBRATION_IN_NAME.search(file_name)
    return match["calibration"] if match else None


def _template_pattern(template: str) -> re.Pattern[str]:
    parts: list[str] = []
    numbers = 0
    for token in re.split(r"(#|<\w+>)", template):
        if token == "#":
            parts.append(f"(?P<n{numbers}>\\d+)")
            numbers += 1
        elif token.startswith("<") and token.endswith(">"):
            name = token[1:-1]
            parts.append(f"(?P<{name}>[^_/]+?)" if name != "roi" else f"(?P<{name}>.+?)")
        else:
            parts.append(re.escape(token))
    return re.compile("".join(parts))


def _fill(template: str, match: re.Match[str]) -> str:
    """The template with the placeholders a match of another template captured (`#` in order, `<name>` by name)."""
    groups = match.groupdict()
    numbers = iter(groups[k] for k in sorted(k for k in groups if re.fullmatch(r"n\d+", k)))
    out = []
    for token in re.split(r"(#|<\w+>)", template):
        if token == "#":
            out.append(next(numbers, "#"))
        elif token.startswith("<") and token.endswith(">"):
            out.append(groups.get(token[1:-1]) or token)
        else:
            out.append(token)
    return "".join(out)

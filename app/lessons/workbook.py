"""A course as an Excel workbook: the template, reading one into course files, writing one.

Reading turns the workbook into the same course.yaml and lesson files a folder holds, in memory,
so the one checker (app.lessons.loader) judges it; every line written is remembered with the
cell it came from, so each problem names its sheet, row and column.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from io import BytesIO
from typing import Any
from xml.etree.ElementTree import iterparse

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils.exceptions import InvalidFileException

from app.lessons.course_files import CourseFile, LessonFile
from app.lessons.upload_guard import Limits, UploadRefused, checked_xlsx

COURSE_SHEET, LESSON_SHEET, HELP_SHEET = "Kurs", "Lektioner", "Instruktioner"
LETTERS = "ABCDE"
MAX_ROWS = 500  # lessons in one workbook
MAX_COLUMNS = 40
# (course.yaml field, label in column A of the course sheet, how to fill it in)
COURSE_ROWS = (
    ("slug", "Kortnamn", "Kursens adress: a–z, siffror och bindestreck, t.ex. trygg-i-kommunen."),
    ("title", "Titel", "Kursens namn, som det står i varje e-post."),
    ("description", "Beskrivning", "En eller två meningar till projektledare."),
    ("language", "Språk", "sv eller en."),
    ("topic", "Ämne", "extremism, violence eller other. violence kräver hjälptext med 020-50 50 50 och 112."),
    ("help", "Hjälptext", "Visas sist i varje e-post och lektionssida (Markdown)."),
)  # fmt: skip
# (lesson field, column heading)
LESSON_COLUMNS = (
    ("id", "Id"), ("title", "Rubrik"), ("key_point", "Kärnbudskap"), ("body", "Text"),
    ("what_you_do", "Det här gör du"), ("question", "Fråga"),
    *((f"option_{c.lower()}", f"Alternativ {c}") for c in LETTERS),
    ("correct", "Rätt svar"), ("explanation", "Förklaring"),
    ("read_more_title", "Läs mer: rubrik"), ("read_more_url", "Läs mer: adress"),
    ("sources", "Källor"),
)  # fmt: skip
OPTIONAL_COLUMNS = {"option_c", "option_d", "option_e", "read_more_title", "read_more_url"}
HEADING = dict(LESSON_COLUMNS)
INSTRUCTIONS = (
    "Så skriver du en kurs i Excel",
    "",
    "1. Bladet Kurs: fyll i kolumn B. Kortnamn blir kursens adress och kan inte bytas senare.",
    "2. Bladet Lektioner: en rad per lektion, i den ordning de skickas. Exempelraden visar hur.",
    "3. Id: unikt för varje lektion i alla kurser, t.ex. trygg-01. Behåll id när du ändrar en "
    "lektion: då får den en ny version och redan skickade e-post behåller den gamla.",
    "4. Kärnbudskap: en mening. Kärnbudskap, Det här gör du och Text: högst 250 ord tillsammans.",
    "5. Alternativ A–E: 2 till 5 svar, fyllda i ordning från A. Rätt svar: en bokstav, A–E.",
    "6. Läs mer: en sida att läsa mer på, adressen börjar med https://. Får vara tom.",
    "7. Källor: minst en, en per rad i cellen (Alt+Enter ger ny rad).",
    "8. Text: vanlig text i stycken; Markdown går bra (**fet**, listor med -). Inga bilder, "
    "länkar eller HTML, och rubriker högst ###.",
    "9. Skriv värden, inte formler, och slå inte ihop celler.",
    "10. Ladda upp filen: först kontrolleras allt, och inget sparas förrän hela kursen är rätt.",
)
EXAMPLE_COURSE = {
    "slug": "exempelkurs", "title": "Exempelkurs", "language": "sv", "topic": "other",
    "description": "En kort kurs som visar hur mallen fylls i.",
    "help": "**Behöver du stöd?** Prata med din chef eller ring 112 vid akut fara.",
}  # fmt: skip
EXAMPLE_LESSON = {
    "id": "exempel-01", "title": "Hot är alltid allvar",
    "key_point": "Ett hot mot dig i tjänsten ska alltid rapporteras, även när det känns litet.",
    "body": "Hot kan komma muntligt, i brev eller på nätet.\n\nRapportera samma dag, "
    "så kan arbetsgivaren göra en riskbedömning.",
    "what_you_do": "Skriv ner vad som hände och rapportera till din chef samma dag.",
    "question": "Vad gör du efter ett hot från en besökare?",
    "option_a": "Rapporterar det till chefen samma dag", "option_b": "Väntar och ser om det upprepas",
    "option_c": "Glömmer det om ingen skadades", "correct": "A",
    "explanation": "Varje hot ska rapporteras, så att arbetsgivaren kan bedöma risken och skydda dig.",
    "read_more_title": "Arbetsmiljöverket om hot och våld",
    "read_more_url": "https://www.av.se/halsa-och-sakerhet/hot-och-vald/",
    "sources": "Arbetsmiljöverket, AFS 2023:2",
}  # fmt: skip

_YAML_PLAIN = re.compile("[\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass(frozen=True)
class Cell:
    sheet: str
    row: int | None = None
    column: str | None = None


@dataclass
class WorkbookFiles:
    """A workbook as course files, with the cell behind every line, and the problems found in
    the workbook itself (before the checker reads the files)."""

    files: dict[str, bytes] = field(default_factory=dict)
    cells: dict[tuple[str, int | None], Cell] = field(default_factory=dict)
    problems: list[tuple[Cell, str]] = field(default_factory=list)

    def locate(self, path: str, line: int | None) -> Cell | None:
        return self.cells.get((path, line)) or self.cells.get((path, None))


def yaml_quote(text: str) -> str:
    """A YAML double-quoted scalar on one line, whatever the text holds."""
    out = []
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif char == "\r" or not _YAML_PLAIN.match(char):
            out.append(f"\\u{ord(char):04x}" if ord(char) <= 0xFFFF else f"\\U{ord(char):08x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


class _Writer:
    """Lines of one generated file, each remembered with its cell."""

    def __init__(self, target: WorkbookFiles, path: str, fallback: Cell) -> None:
        self.target, self.path, self.lines = target, path, list[str]()
        target.cells[(path, None)] = fallback

    def add(self, line: str, cell: Cell) -> None:
        self.lines.append(line)
        self.target.cells[(self.path, len(self.lines))] = cell

    def done(self) -> None:
        self.target.files[self.path] = ("\n".join(self.lines) + "\n").encode("utf-8")


def _cell_text(cell: Any, where: Cell, problems: list[tuple[Cell, str]]) -> str:
    value = cell.value
    if getattr(cell, "data_type", None) == "f":
        problems.append(
            (where, f"cellen innehåller en formel ({value}): skriv in texten i stället")
        )
        return ""
    if value is None:
        return ""
    if isinstance(value, bool):
        problems.append((where, "cellen är SANT/FALSKT: skriv text"))
        return ""
    if isinstance(value, datetime | date | time):
        problems.append((where, "cellen är ett datum: formatera den som text och skriv igen"))
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).replace("\r\n", "\n").replace("\r", "\n").strip()


def _merged_ranges(workbook: Any, sheet: Any) -> list[str]:
    """Merged cells, read from the sheet's XML as a stream (read-only sheets do not list them)."""
    ranges: list[str] = []
    with workbook._archive.open(sheet._worksheet_path) as source:
        for _, element in iterparse(source):
            if element.tag.endswith("}mergeCell"):
                ranges.append(str(element.get("ref")))
            element.clear()
    return ranges


def _rows(sheet: Any, problems: list[tuple[Cell, str]]) -> list[tuple[int, list[Any]]]:
    sheet.reset_dimensions()  # the declared size may lie; follow the rows actually there
    rows: list[tuple[int, list[Any]]] = []
    for number, row in enumerate(sheet.iter_rows(), start=1):
        if number > MAX_ROWS + 1:
            problems.append((Cell(sheet.title), f"bladet har fler än {MAX_ROWS} rader"))
            break
        cells = list(row)
        if len(cells) > MAX_COLUMNS and any(c.value is not None for c in cells[MAX_COLUMNS:]):
            problems.append(
                (Cell(sheet.title, number), f"raden har fler än {MAX_COLUMNS} kolumner")
            )
        rows.append((number, cells[:MAX_COLUMNS]))
    return rows


def _heading_key(text: str) -> str | None:
    folded = text.casefold().strip()
    for key, heading in LESSON_COLUMNS:
        if folded in (key, heading.casefold()):
            return key
    return None


def _lesson_columns(
    header: list[Any], problems: list[tuple[Cell, str]]
) -> dict[str, tuple[int, str]]:
    """Lesson field → (column index, heading as written); reports unknown and missing ones."""
    columns: dict[str, tuple[int, str]] = {}
    for index, cell in enumerate(header):
        text = "" if cell.value is None else str(cell.value).strip()
        if not text:
            continue
        key = _heading_key(text)
        where = Cell(LESSON_SHEET, 1, text)
        if key is None:
            option = re.fullmatch(r"alternativ\s*(\S+)", text.casefold())
            hint = (
                "en fråga har alternativ A–E, inte fler"
                if option
                else f"kolumnerna är: {', '.join(h for _, h in LESSON_COLUMNS)}"
            )
            problems.append((where, f"okänd kolumn {text!r}: {hint}"))
        elif key in columns:
            problems.append((where, f"kolumnen {text!r} finns två gånger: behåll en"))
        else:
            columns[key] = (index, text)
    for key, heading in LESSON_COLUMNS:
        if key not in columns and key not in OPTIONAL_COLUMNS:
            problems.append((Cell(LESSON_SHEET, 1), f"kolumnen {heading!r} saknas: lägg till den"))
    return columns


def _course_yaml(target: WorkbookFiles, sheet: Any, lesson_stems: list[tuple[str, Cell]]) -> str:
    values: dict[str, tuple[str, Cell]] = {}
    labels = {label.casefold(): key for key, label, _ in COURSE_ROWS} | {
        key: key for key, _, _ in COURSE_ROWS
    }
    for number, cells in _rows(sheet, target.problems):
        label = str(cells[0].value).strip().casefold() if cells and cells[0].value else ""
        key = labels.get(label)
        if key is not None and key not in values:
            where = Cell(COURSE_SHEET, number, "B")
            value = _cell_text(cells[1], where, target.problems) if len(cells) > 1 else ""
            values[key] = (value, where)
    for key, label, _ in COURSE_ROWS:
        if key not in values:
            target.problems.append((Cell(COURSE_SHEET), f"raden {label!r} saknas i kolumn A"))
    slug, slug_cell = values.get("slug", ("", Cell(COURSE_SHEET)))
    if not slug:
        target.problems.append((slug_cell, "skriv kursens kortnamn, t.ex. trygg-i-kommunen"))
        slug = "kurs"
    slug = slug.replace("/", "-").replace("\\", "-")
    writer = _Writer(target, f"{slug}/course.yaml", slug_cell)
    target.cells[(slug, None)] = slug_cell
    for key, _, _ in COURSE_ROWS[1:]:
        value, where = values.get(key, ("", Cell(COURSE_SHEET)))
        writer.add(f"{key}: {yaml_quote(value)}", where)
    writer.add("lessons:", Cell(LESSON_SHEET))
    for stem, where in lesson_stems:
        writer.add(f"  - {stem}", where)
    writer.done()
    return slug


def _lesson_file(target: WorkbookFiles, path: str, number: int, row: dict[str, str]) -> None:
    def at(key: str) -> Cell:
        return Cell(LESSON_SHEET, number, HEADING[key])

    writer = _Writer(target, path, Cell(LESSON_SHEET, number))
    writer.add("---", at("id"))
    for key in ("id", "title", "key_point", "what_you_do"):
        writer.add(f"{key}: {yaml_quote(row.get(key, ''))}", at(key))
    writer.add("quiz:", at("question"))
    writer.add(f"  question: {yaml_quote(row.get('question', ''))}", at("question"))
    writer.add("  options:", Cell(LESSON_SHEET, number, "Alternativ A–E"))
    correct = row.get("correct", "").upper()
    for letter in LETTERS:
        text = row.get(f"option_{letter.lower()}", "")
        if text:
            writer.add(f"    - text: {yaml_quote(text)}", at(f"option_{letter.lower()}"))
            if letter == correct:
                writer.add("      correct: true", at("correct"))
    writer.add(f"  explanation: {yaml_quote(row.get('explanation', ''))}", at("explanation"))
    if row.get("read_more_title") or row.get("read_more_url"):
        writer.add("read_more:", at("read_more_url"))
        writer.add(f"  title: {yaml_quote(row.get('read_more_title', ''))}", at("read_more_title"))
        writer.add(f"  url: {yaml_quote(row.get('read_more_url', ''))}", at("read_more_url"))
    writer.add("sources:", at("sources"))
    for source in filter(None, (s.strip() for s in row.get("sources", "").split("\n"))):
        writer.add(f"  - {yaml_quote(source)}", at("sources"))
    writer.add("---", at("body"))
    for line in row.get("body", "").split("\n"):
        writer.add(line, at("body"))
    writer.done()


def _check_options(row: dict[str, str], number: int, problems: list[tuple[Cell, str]]) -> None:
    filled = [letter for letter in LETTERS if row.get(f"option_{letter.lower()}")]
    if filled and LETTERS[len(filled) - 1] != filled[-1]:
        gap = next(c for c in LETTERS if c not in filled)
        problems.append((
            Cell(LESSON_SHEET, number, HEADING[f"option_{gap.lower()}"]),
            f"Alternativ {gap} är tomt men ett senare alternativ är ifyllt: fyll i ordning från A",
        ))  # fmt: skip
    correct = row.get("correct", "")
    where = Cell(LESSON_SHEET, number, HEADING["correct"])
    if correct and correct.upper() not in LETTERS:
        problems.append((where, f"Rätt svar ska vara en bokstav A–E, inte {correct!r}"))
    elif correct and correct.upper() not in filled:
        problems.append((where, f"Rätt svar är {correct.upper()}, men Alternativ {correct.upper()} är tomt"))  # fmt: skip


def read_workbook(data: bytes, limits: Limits) -> WorkbookFiles:
    """The workbook as course files; refuses (UploadRefused) what cannot be read safely."""
    target = WorkbookFiles()
    with checked_xlsx(data, limits) as stream:
        try:
            workbook = load_workbook(stream, read_only=True, data_only=False)
        except (InvalidFileException, KeyError, ValueError, OSError) as exc:
            raise UploadRefused(
                f"Excel-filen går inte att läsa ({exc}); spara den igen som .xlsx"
            ) from None
        try:
            missing = [s for s in (COURSE_SHEET, LESSON_SHEET) if s not in workbook.sheetnames]
            if missing:
                for name in missing:
                    target.problems.append(
                        (Cell(name), f"bladet {name!r} saknas: utgå från mallen")
                    )
                return target
            for name in (COURSE_SHEET, LESSON_SHEET):
                for ref in _merged_ranges(workbook, workbook[name]):
                    target.problems.append(
                        (Cell(name, None, ref), f"sammanfogade celler ({ref}): dela upp dem")
                    )
            _read_lessons(target, workbook)
        finally:
            workbook.close()
    return target


def _read_lessons(target: WorkbookFiles, workbook: Any) -> None:
    rows = _rows(workbook[LESSON_SHEET], target.problems)
    columns = _lesson_columns(rows[0][1] if rows else [], target.problems)
    stems: list[tuple[str, Cell]] = []
    lessons: list[tuple[str, int, dict[str, str]]] = []
    for number, cells in rows[1:]:
        row = {
            key: _cell_text(cells[index], Cell(LESSON_SHEET, number, heading), target.problems)
            for key, (index, heading) in columns.items()
            if index < len(cells)
        }
        if not any(row.values()):
            continue
        _check_options(row, number, target.problems)
        stem = f"rad-{number:03d}"
        stems.append((stem, Cell(LESSON_SHEET, number, HEADING["id"])))
        lessons.append((stem, number, row))
    if not lessons:
        target.problems.append((Cell(LESSON_SHEET, 2), "inga lektioner: skriv en lektion per rad"))
    slug = _course_yaml(target, workbook[COURSE_SHEET], stems)
    for stem, number, row in lessons:
        _lesson_file(target, f"{slug}/{stem}.md", number, row)


# --- writing -------------------------------------------------------------------------------


def _put(sheet: Any, row: int, column: int, value: str) -> None:
    cell = sheet.cell(row=row, column=column, value=value)
    cell.data_type = "s"  # text that starts with "=" stays text, never a formula
    cell.alignment = Alignment(wrap_text=True, vertical="top")


def lesson_row(lesson: LessonFile) -> dict[str, str]:
    row = {
        "id": lesson.key, "title": lesson.title, "key_point": lesson.key_point,
        "body": lesson.body_md, "what_you_do": lesson.what_you_do, "question": lesson.question,
        "correct": LETTERS[lesson.correct_index], "explanation": lesson.explanation,
        "read_more_title": lesson.read_more_title or "", "read_more_url": lesson.read_more_url or "",
        "sources": "\n".join(lesson.sources),
    }  # fmt: skip
    row.update({f"option_{LETTERS[i].lower()}": text for i, text in enumerate(lesson.options)})
    return row


def write_workbook(course: dict[str, str], lessons: Iterable[dict[str, str]]) -> bytes:
    """A workbook in the template's layout: course values and one row per lesson."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = COURSE_SHEET
    for column, heading in enumerate(("Fält", "Värde", "Så fyller du i"), start=1):
        sheet.cell(row=1, column=column, value=heading).font = Font(bold=True)
    for number, (key, label, hint) in enumerate(COURSE_ROWS, start=2):
        _put(sheet, number, 1, label)
        _put(sheet, number, 2, course.get(key, ""))
        _put(sheet, number, 3, hint)
    sheet.column_dimensions["A"].width, sheet.column_dimensions["B"].width = 16, 60
    sheet.column_dimensions["C"].width = 60
    lesson_sheet = workbook.create_sheet(LESSON_SHEET)
    for column, (_, heading) in enumerate(LESSON_COLUMNS, start=1):
        lesson_sheet.cell(row=1, column=column, value=heading).font = Font(bold=True)
        lesson_sheet.column_dimensions[
            lesson_sheet.cell(row=1, column=column).column_letter
        ].width = 30
    for number, row in enumerate(lessons, start=2):
        for column, (key, _) in enumerate(LESSON_COLUMNS, start=1):
            _put(lesson_sheet, number, column, row.get(key, ""))
    lesson_sheet.freeze_panes = "B2"
    help_sheet = workbook.create_sheet(HELP_SHEET)
    for number, line in enumerate(INSTRUCTIONS, start=1):
        _put(help_sheet, number, 1, line)
    help_sheet.column_dimensions["A"].width = 110
    out = BytesIO()
    workbook.save(out)
    return out.getvalue()


def template_workbook() -> bytes:
    return write_workbook(EXAMPLE_COURSE, [EXAMPLE_LESSON])


def course_workbook(course: CourseFile) -> bytes:
    values = {
        "slug": course.slug, "title": course.title, "description": course.description,
        "language": course.language, "topic": course.topic, "help": course.help,
    }  # fmt: skip
    return write_workbook(values, (lesson_row(lesson) for lesson in course.lessons))

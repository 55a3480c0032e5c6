"""Hostile staff-list files, made with a zip writer directly (no spreadsheet library): rows by
the million, members that lie about their size, and CSV files of bad lines."""

from __future__ import annotations

import io
import struct
import zipfile
from collections.abc import Sequence
from xml.sax.saxutils import escape

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
    'package/2006/content-types"><Default Extension="rels" ContentType="application/'
    'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" '
    'ContentType="application/xml"/></Types>'
)
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PACKAGE_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats'
    f'.org/package/2006/relationships"><Relationship Id="rId1" Type="{_REL}/officeDocument" '
    'Target="xl/workbook.xml"/></Relationships>'
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/'
    f'spreadsheetml/2006/main" xmlns:r="{_REL}"><sheets><sheet name="Personal" sheetId="1" '
    'r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats'
    f'.org/package/2006/relationships"><Relationship Id="rId1" Type="{_REL}/worksheet" '
    f'Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="{_REL}/sharedStrings" '
    'Target="sharedStrings.xml"/></Relationships>'
)
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
# Shared strings 0, 1: the header; 2: a value that is no e-mail address.
_STRINGS = (
    f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{_MAIN}"><si><t>E-post</t></si>'
    "<si><t>Namn</t></si><si><t>x</t></si></sst>"
)
HEADER_ROW = b'<row><c t="s"><v>0</v></c><c t="s"><v>1</v></c></row>'
BAD_ROW = b'<row><c t="s"><v>2</v></c></row>'  # "x" as address, no name: two errors


def xlsx_with_rows(
    count: int, row: bytes = BAD_ROW, *, header: bytes = HEADER_ROW, extra_strings: int = 0
) -> bytes:
    """A workbook whose sheet is a header and `count` copies of `row`; no <dimension>.
    `extra_strings` adds that many unused shared strings of 30 letters each."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _PACKAGE_RELS)
        archive.writestr("xl/workbook.xml", _WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        with archive.open("xl/sharedStrings.xml", "w", force_zip64=True) as strings:
            strings.write(_STRINGS.removesuffix("</sst>").encode())
            extra = b"<si><t>" + b"y" * 30 + b"</t></si>"
            for _ in range(extra_strings // 10_000):
                strings.write(extra * 10_000)
            strings.write(b"</sst>")
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(
                f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{_MAIN}">'.encode()
            )
            sheet.write(b"<sheetData>" + header)
            block = row * 10_000
            for _ in range(count // 10_000):
                sheet.write(block)
            sheet.write(row * (count % 10_000))
            sheet.write(b"</sheetData></worksheet>")
    return buffer.getvalue()


def xlsx_with_sheet(sheet_xml: bytes) -> bytes:
    """A workbook whose first sheet is exactly `sheet_xml`."""
    return _xlsx(_STRINGS, sheet_xml, _CONTENT_TYPES)


def with_declared_size(data: bytes, member: str, size: int) -> bytes:
    """The zip with `member`'s uncompressed size rewritten (in both headers) to `size`."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = archive.getinfo(member)
    patched = bytearray(data)
    # Local header: signature, ..., uncompressed size at offset 22; central directory
    # entry: at offset 24. Sizes under 4 GB fit in the 32-bit fields.
    struct.pack_into("<I", patched, info.header_offset + 22, size)
    name = member.encode()
    start = 0
    while (central := patched.find(b"PK\x01\x02", start)) >= 0:
        name_length = struct.unpack_from("<H", patched, central + 28)[0]
        if patched[central + 46 : central + 46 + name_length] == name:
            struct.pack_into("<I", patched, central + 24, size)
        start = central + 4
    return bytes(patched)


def bad_csv(lines: int) -> bytes:
    """A header and `lines` rows that are each wrong (no @ in the address)."""
    return b"E-post;Namn\r\n" + b"inte-en-adress;Anna Berg\r\n" * lines


def xlsx_of_rows(rows: Sequence[Sequence[object]]) -> bytes:
    """A workbook of `rows` as Excel writes one: text as shared strings (each once), numbers
    as numbers. For big lists: openpyxl (without lxml) takes a quarter minute for 100,000 rows,
    this a second."""
    index: dict[str, int] = {}
    cells = []
    for row in rows:
        out = []
        for value in row:
            if value is None:
                continue
            if isinstance(value, int | float):
                out.append(f"<c><v>{value}</v></c>")
            else:
                number = index.setdefault(str(value), len(index))
                out.append(f'<c t="s"><v>{number}</v></c>')
        cells.append("<row>" + "".join(out) + "</row>")
    strings = "".join(f"<si><t>{escape(text)}</t></si>" for text in index)
    return _xlsx(
        f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{_MAIN}">{strings}</sst>',
        f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{_MAIN}"><sheetData>'
        + "".join(cells)
        + "</sheetData></worksheet>",
    )


# As Excel names its parts (openpyxl, like Excel, finds the workbook by its content type).
_EXCEL_CONTENT_TYPES = _CONTENT_TYPES.replace(
    "</Types>",
    "".join(
        f'<Override PartName="/xl/{part}" ContentType="application/vnd.openxmlformats-'
        f'officedocument.spreadsheetml.{kind}+xml"/>'
        for part, kind in [
            ("workbook.xml", "sheet.main"),
            ("worksheets/sheet1.xml", "worksheet"),
            ("sharedStrings.xml", "sharedStrings"),
        ]
    )
    + "</Types>",
)


def _xlsx(
    shared_strings: str, sheet_xml: str | bytes, content_types: str = _EXCEL_CONTENT_TYPES
) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", content_types)
        archive.writestr("_rels/.rels", _PACKAGE_RELS)
        archive.writestr("xl/workbook.xml", _WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        archive.writestr("xl/sharedStrings.xml", shared_strings)
        archive.writestr("xl/worksheets/sheet1.xml", sheet_xml)
    return buffer.getvalue()

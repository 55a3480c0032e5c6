"""The restricted Markdown of lessons and help texts, as safe HTML and as plain text.

Raw HTML is escaped, images are off, headings start at h3 (the page's h1 and h2 are ours), and a
lesson body links nowhere (a lesson links out only through its read-more link). Everything is
cached: the same lesson is rendered for every e-mail of a slot.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token


def _link_open(self: Any, tokens: list[Token], idx: int, options: Any, env: Any) -> str:
    tokens[idx].attrSet("rel", "noopener")
    return str(self.renderToken(tokens, idx, options, env))


def _heading_open(self: Any, tokens: list[Token], idx: int, options: Any, env: Any) -> str:
    # The lesson title is the only h1 and our sections are h2, so Markdown headings start at h3.
    tokens[idx].tag = _demoted(tokens[idx].tag)
    return str(self.renderToken(tokens, idx, options, env))


def _heading_close(self: Any, tokens: list[Token], idx: int, options: Any, env: Any) -> str:
    tokens[idx].tag = _demoted(tokens[idx].tag)
    return str(self.renderToken(tokens, idx, options, env))


def _demoted(tag: str) -> str:
    return "h3" if tag in ("h1", "h2") else tag


def _new_markdown(*, allow_links: bool) -> MarkdownIt:
    # html=False escapes raw HTML; images would load external resources, so they are off.
    md = MarkdownIt("commonmark", {"html": False}).disable("image")
    if not allow_links:
        md.disable(["link", "autolink"])
    md.add_render_rule("link_open", _link_open)
    md.add_render_rule("heading_open", _heading_open)
    md.add_render_rule("heading_close", _heading_close)
    return md


_MARKDOWN = _new_markdown(allow_links=True)
# A lesson links out only through read_more, so links in the body stay plain text.
_LESSON_MARKDOWN = _new_markdown(allow_links=False)


@lru_cache(maxsize=1024)
def markdown_to_html(md: str) -> str:
    """Safe HTML from Markdown: raw HTML is escaped and links get rel="noopener"."""
    return _MARKDOWN.render(md)


@lru_cache(maxsize=1024)
def lesson_body_html(md: str) -> str:
    """Like markdown_to_html, but Markdown links are not turned into links."""
    return _LESSON_MARKDOWN.render(md)


@lru_cache(maxsize=1024)
def markdown_to_text(md: str) -> str:
    """Markdown as plain text for the text part: no markup, links as "text (url)"."""
    return _plain_text(_MARKDOWN.parse(md))


@lru_cache(maxsize=1024)
def lesson_body_text(md: str) -> str:
    """Like markdown_to_text, for a lesson body (where links are not links)."""
    return _plain_text(_LESSON_MARKDOWN.parse(md))


def _plain_text(tokens: list[Token]) -> str:
    blocks: list[tuple[str, int | None]] = []  # (text, which top-level list it belongs to)
    lists: list[int | None] = []  # None for a bullet list, else the next number
    list_count, marker = 0, ""
    for token in tokens:
        if token.type in ("bullet_list_open", "ordered_list_open"):
            list_count += not lists
            lists.append(int(token.attrGet("start") or 1) if token.tag == "ol" else None)
        elif token.type in ("bullet_list_close", "ordered_list_close"):
            lists.pop()
        elif token.type == "list_item_open":
            number = lists[-1]
            marker = "- " if number is None else f"{number}. "
            if number is not None:
                lists[-1] = number + 1
        elif token.type == "inline":
            indent = "  " * max(len(lists) - 1, 0)
            prefix = marker or ("  " if lists else "")
            text = indent + prefix + _inline_text(token.children or [])
            blocks.append((text, list_count if lists else None))
            marker = ""
        elif token.type in ("fence", "code_block"):
            blocks.append((token.content.rstrip("\n"), None))
    return _join_blocks(blocks)


def _join_blocks(blocks: list[tuple[str, int | None]]) -> str:
    # Items of one list stay together; everything else gets a blank line between.
    text = ""
    for index, (block, in_list) in enumerate(blocks):
        if index:
            same_list = in_list is not None and blocks[index - 1][1] == in_list
            text += "\n" if same_list else "\n\n"
        text += block
    return text


def _inline_text(children: list[Token]) -> str:
    parts: list[str] = []
    href, link_start = "", 0
    for child in children:
        if child.type in ("text", "text_special", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append("\n")
        elif child.type == "link_open":
            href, link_start = str(child.attrGet("href") or ""), len(parts)
        elif child.type == "link_close":
            label = "".join(parts[link_start:])
            # A phone number or address is already readable as its label.
            if href.startswith(("http://", "https://")) and not href.endswith(label):
                parts.append(f" ({href})")
    return "".join(parts)


# --- a campaign's local help: the course help's Markdown, with phone numbers as tel: links ---

# Swedish numbers as people write them: 020-50 50 50, 08-123 456 78, +46 8 123 45 67, 112.
PHONE = re.compile(
    r"(?<![\w+/.:=-])(?:\+46[ -]?\d{1,3}|0\d{1,3})(?:[ -]?\d{2,4}){1,4}(?![\w-])"
    r"|(?<![\w+/.:=-])(?:112|114 14|113 13|1177)(?![\w-])"
)
LOCAL_HELP_MAX = 2000


def _tel_href(number: str) -> str | None:
    digits = re.sub(r"\D", "", number)
    if number.startswith("+"):
        return f"tel:+{digits}"
    if digits.startswith("0") and len(digits) < 7:
        return None  # too short for a Swedish number with area code: a date, a code
    return f"tel:{digits}"


def _phone_tokens(token: Token) -> list[Token]:
    """A text token split into text and tel: links."""
    out: list[Token] = []
    text, last = token.content, 0
    for match in PHONE.finditer(text):
        href = _tel_href(match.group(0))
        if href is None:
            continue
        if match.start() > last:
            out.append(Token("text", "", 0, content=text[last : match.start()]))
        out.append(Token("link_open", "a", 1, attrs={"href": href}))
        out.append(Token("text", "", 0, content=match.group(0)))
        out.append(Token("link_close", "a", -1))
        last = match.end()
    if last < len(text):
        out.append(Token("text", "", 0, content=text[last:]))
    return out


@lru_cache(maxsize=256)
def local_help_html(md: str) -> str:
    """A campaign's local help as safe HTML: like markdown_to_html, and phone numbers that are
    not already links become tel: links (one tap to call on a phone)."""
    env: dict[str, Any] = {}
    tokens = _MARKDOWN.parse(md, env)
    for block in tokens:
        if block.type != "inline" or not block.children:
            continue
        children: list[Token] = []
        depth = 0
        for child in block.children:
            depth += child.type == "link_open"
            depth -= child.type == "link_close"
            children.extend(_phone_tokens(child) if child.type == "text" and not depth else [child])
        block.children = children
    return str(_MARKDOWN.renderer.render(tokens, _MARKDOWN.options, env))


def local_help_problems(md: str) -> list[str]:
    """What is wrong with a local help text, in Swedish; the rules of lesson texts: no raw
    HTML, no images, headings at most ###, links only to web pages, e-mail or phone."""
    problems: list[str] = []
    if len(md) > LOCAL_HELP_MAX:
        problems.append(f"texten har {len(md)} tecken; högst {LOCAL_HELP_MAX}")
    for token in MarkdownIt("commonmark").parse(md):
        line = (token.map[0] + 1) if token.map else 1
        if token.type == "html_block":
            problems.append(f"rad {line}: HTML är inte tillåtet, skriv med Markdown")
        elif token.type == "heading_open" and token.tag in ("h1", "h2"):
            problems.append(f"rad {line}: rubriker med # och ## är inte tillåtna, använd ###")
        for child in token.children or []:
            if child.type == "html_inline":
                problems.append(f"rad {line}: HTML är inte tillåtet, skriv med Markdown")
            elif child.type == "image":
                problems.append(f"rad {line}: bilder är inte tillåtna, beskriv med ord")
            elif child.type == "link_open":
                href = str(child.attrGet("href") or "")
                if not href.lower().startswith(("https://", "http://", "mailto:", "tel:")):
                    problems.append(
                        f"rad {line}: länken {href!r} ska börja med https://, mailto: eller tel:"
                    )
    return list(dict.fromkeys(problems))

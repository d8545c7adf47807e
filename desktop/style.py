"""Fonts, colours and the focus ring: large, high-contrast, readable by a tired person."""
from __future__ import annotations

from PySide6.QtGui import QFont

BASE_PT = 14          # ordinary text, buttons
HEADING_PT = 20
PROMPT_PT = 32        # the sentence to read aloud
# The person's text size (core.settings.TEXT_SIZES): ordinary text in points at each.
TEXT_POINTS = {"normal": BASE_PT, "large": 17, "largest": 20}
TEXT_SIZE_NAMES = {"normal": "Normal", "large": "Large", "largest": "Largest"}

# Grades from core.audio.quality: colour AND a word/symbol, never colour alone.
GRADES = {
    "green": ("✓ Good", "#1b7f3b"),
    "amber": ("! Fair", "#9a6700"),
    "red": ("✗ Redo", "#b3261e"),
}
GRADE_ORDER = {"red": 0, "amber": 1, "green": 2}   # worst first when sorted ascending
UNCHECKED = ("… Not checked", "#555555")


def style_sheet(text_size: str = "normal") -> str:
    """The app's style at one of the text sizes: every font scales with it."""
    base = TEXT_POINTS.get(text_size, BASE_PT)
    heading, prompt = base + HEADING_PT - BASE_PT, round(base * PROMPT_PT / BASE_PT)
    return f"""
* {{ font-size: {base}pt; }}
QWidget {{ color: #111111; }}
QPushButton {{ padding: 8px 16px; border: 2px solid #5a5a5a; border-radius: 6px; background: #f2f2f2; }}
QPushButton:hover {{ background: #e4e4e4; }}
QPushButton:disabled {{ color: #8a8a8a; border-color: #b0b0b0; }}
QPushButton:focus, QComboBox:focus, QLineEdit:focus, QListWidget:focus, QTableView:focus,
QCheckBox:focus, QRadioButton:focus {{ border: 3px solid #0b57d0; }}
QCheckBox {{ padding: 4px; border: 3px solid transparent; }}
QCheckBox::indicator {{ width: 22px; height: 22px; }}
QListWidget#nav {{ font-size: {base + 2}pt; }}
QListWidget#nav::item {{ padding: 10px; }}
QListWidget#nav::item:selected {{ background: #0b57d0; color: white; }}
QLabel#heading {{ font-size: {heading}pt; font-weight: bold; }}
QLabel#prompt {{ font-size: {prompt}pt; }}
QFrame#banner {{ padding: 2px; border-radius: 6px; border: 2px solid; }}
QFrame#banner QLabel, QFrame#banner QScrollArea, QFrame#banner QScrollArea > QWidget > QWidget
{{ background: transparent; border: none; }}
QHeaderView::section {{ padding: 4px; font-weight: bold; }}
"""


STYLE_SHEET = style_sheet()


def grade_label(grade: str | None) -> tuple[str, str]:
    """(text, colour) for a grade; unknown or missing grades read as not checked."""
    return GRADES.get(grade or "", UNCHECKED)


def base_font(text_size: str = "normal") -> QFont:
    font = QFont()
    font.setPointSize(TEXT_POINTS.get(text_size, BASE_PT))
    return font

"""The Speak page's keys: Ctrl+Enter (or Enter alone, when the person chose it) speaks, Esc stops,
Alt+1..9 say a saved phrase, Ctrl+S / Ctrl+D / Ctrl+= / Ctrl+- for saving, pronunciations and
the text size. The window hands each key press here before the focused widget sees it."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QAbstractSpinBox, QPlainTextEdit

DIGITS = {getattr(Qt, f"Key_{n}"): n for n in range(1, 10)}
ENTER = (Qt.Key_Return, Qt.Key_Enter)


def _enter(page, mods, focus) -> bool:
    """Enter in the text box: speak (Ctrl+Enter always; Enter alone when chosen), or a new line."""
    if mods & Qt.ControlModifier:
        page.speak()
        return True
    if focus is not page.text_edit or not page.settings.enter_check.isChecked():
        return False
    if not mods:
        page.speak()
        return True
    if mods == Qt.ShiftModifier:
        page.text_edit.insertPlainText("\n")    # a plain new line, not Qt's line separator
        return True
    return False


def handle_speak_key(page, event: QKeyEvent) -> bool:
    mods = event.modifiers() & (Qt.ControlModifier | Qt.AltModifier | Qt.ShiftModifier | Qt.MetaModifier)
    key = event.key()
    focus = page.window().focusWidget()
    if key in ENTER and _enter(page, mods, focus):
        return True
    if key == Qt.Key_Escape and not mods and page.reading_view.choosing is not None:
        page.reading_view.cancel()
        return True
    if key == Qt.Key_Escape and not mods and page.busy:
        page.stop()
        return True
    if mods & Qt.ControlModifier and not mods & Qt.AltModifier:
        action = {Qt.Key_S: page.export, Qt.Key_D: page.open_dictionary, Qt.Key_R: page.toggle_reading,
                  Qt.Key_Equal: lambda: page.change_text_size(2), Qt.Key_Plus: lambda: page.change_text_size(2),
                  Qt.Key_Minus: lambda: page.change_text_size(-2)}.get(key)
        if action is not None:
            action()
            return True
        return False
    if mods == Qt.AltModifier and key in DIGITS:
        page.say_phrase_number(DIGITS[key])
        return True
    if focus is page.phrases_box.list and page.phrases_box.handle_list_key(event):
        return True
    if not mods and key in DIGITS and not isinstance(focus, (QPlainTextEdit, QAbstractSpinBox)):
        page.say_phrase_number(DIGITS[key])
        return True
    return False

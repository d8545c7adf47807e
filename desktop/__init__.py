"""The PySide6 desktop app. Widgets stay thin: the work is done by `core`, which never imports Qt."""

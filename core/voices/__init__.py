"""A voice as a thing the user owns: carry it to another machine (package.py), erase it (erase.py).

    export_voice(voice_folder, "anna.voicebank")     # one file: models, card, consent, reference
    import_voice("anna.voicebank", speaker)          # checked, then <speaker>/voices/<id>/
    delete_voice(voice_folder); delete_speaker(bank, speaker_id)
"""
from core.voices.erase import EraseReport, delete_speaker, delete_voice, speaker_files
from core.voices.package import (VoicePackageError, export_voice, import_voice, read_manifest,
                                 verify_package)

__all__ = ["VoicePackageError", "export_voice", "import_voice", "read_manifest", "verify_package",
           "EraseReport", "delete_voice", "delete_speaker", "speaker_files"]

"""A voice as a thing the user owns: carry it to another machine (export.py writes the file,
package.py is its format, checks and import), erase it (erase.py);
what a voice folder holds (files.py: where its files are, card.py: its card and the speaker's voices).

    export_voice(voice_folder, "anna.voicebank")     # one file: models, card, consent, reference
    import_voice("anna.voicebank", speaker)          # checked, then <speaker>/voices/<id>/
    delete_voice(voice_folder); delete_speaker(bank, speaker_id)
"""
from core.voices.erase import EraseReport, delete_speaker, delete_voice, speaker_files
from core.voices.export import export_voice
from core.voices.package import VoicePackageError, import_voice, read_manifest, verify_package

__all__ = ["VoicePackageError", "export_voice", "import_voice", "read_manifest", "verify_package",
           "EraseReport", "delete_voice", "delete_speaker", "speaker_files"]

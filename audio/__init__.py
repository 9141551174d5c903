"""Speech and sound for Loa: TTS engines, the pydub/ffmpeg pipeline and the audio store.

Importing this package is cheap on purpose: nothing is started or created at import
time, and heavy dependencies (pydub, pyttsx3) are only imported by the modules that
need them. The controller's one entry point is :mod:`audio.pipeline`.
"""

"""Speech for callers: audio, Vosk models, streaming recognition, Media Streams, understanding.

Submodules are imported where needed (`speech.ws`, `speech.models`, ...); importing the
package itself loads nothing heavy.
"""

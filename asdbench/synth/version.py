"""Version of the generator: part of every cache folder name, so changed sound models never
reuse stale data. Bump it whenever the audio a (preset, seed) produces changes."""

GENERATOR_VERSION = "2"

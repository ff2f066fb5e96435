"""Audio media: reading files into 24 kHz mono PCM16 chunks, writing the assistant's audio, and
the bundled speech samples. File and resampler I/O lives here, never in
:mod:`realtime_harness.protocol`."""

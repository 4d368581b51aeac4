"""Audio between a client's formats and a native-audio upstream's PCM16 24 kHz, as streams.

    bridge = AudioBridge(ClientFormats(input=AudioFormat.PCMU, output=AudioFormat.PCMU))
    upstream_pcm16 = bridge.to_upstream(ulaw_8k)    # decode, 8 kHz -> 24 kHz
    ulaw_8k = bridge.to_client(upstream_pcm16)      # 24 kHz -> 8 kHz, encode
    bridge.end_of_reply()                           # the next reply starts a fresh stream

PCM16 24 kHz passes through untouched. Each direction keeps one streaming resampler, so audio
cut into chunks of any size converts as one piece (a ~2 ms filter delay).
"""

from __future__ import annotations

from voxgate.voice.audio.codecs import float_to_pcm16, pcm16_to_float
from voxgate.voice.audio.formats import AudioFormat, decode_to_pcm16, encode_from_pcm16
from voxgate.voice.audio.resample import StreamingResampler
from voxgate.voice.native.formats import ClientFormats

UPSTREAM_RATE_HZ = 24_000


class AudioBridge:
    def __init__(self, formats: ClientFormats | None = None) -> None:
        formats = formats or ClientFormats()
        self.formats = formats
        self._inbound = self._resampler(formats.input.sample_rate_hz, UPSTREAM_RATE_HZ)
        self._outbound = self._resampler(UPSTREAM_RATE_HZ, formats.output.sample_rate_hz)

    @staticmethod
    def _resampler(from_hz: int, to_hz: int) -> StreamingResampler | None:
        return None if from_hz == to_hz else StreamingResampler(from_hz, to_hz)

    def reconfigure(self, formats: ClientFormats) -> None:
        """The client changed its formats: new streams for whichever direction changed."""
        if formats.input != self.formats.input:
            self._inbound = self._resampler(formats.input.sample_rate_hz, UPSTREAM_RATE_HZ)
        if formats.output != self.formats.output:
            self._outbound = self._resampler(UPSTREAM_RATE_HZ, formats.output.sample_rate_hz)
        self.formats = formats

    def to_upstream(self, raw: bytes) -> bytes:
        """Client audio (its input format) -> PCM16 24 kHz."""
        pcm16 = decode_to_pcm16(raw, self.formats.input)
        if self._inbound is None:
            return pcm16
        return float_to_pcm16(self._inbound.process(pcm16_to_float(pcm16)))

    def to_client(self, pcm16_24k: bytes) -> bytes:
        """Upstream PCM16 24 kHz -> the client's output format."""
        if self.formats.output is AudioFormat.PCM16:
            return pcm16_24k
        pcm16 = pcm16_24k
        if self._outbound is not None:
            pcm16 = float_to_pcm16(self._outbound.process(pcm16_to_float(pcm16_24k)))
        return encode_from_pcm16(pcm16, self.formats.output)

    def end_of_reply(self) -> None:
        """A reply's audio ended: its filter tail is dropped (about 2 ms), the next reply starts clean."""
        self._outbound = self._resampler(UPSTREAM_RATE_HZ, self.formats.output.sample_rate_hz)

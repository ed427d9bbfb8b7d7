// The local phone's microphone: capture at the context's rate, average down to 8 kHz,
// encode G.711 mu-law, and post 160-byte (20 ms) frames to the page, as Twilio sends them.
function linearToUlaw(x) {
  let s = Math.round(Math.max(-1, Math.min(1, x)) * 32767);
  const sign = s < 0 ? 0x80 : 0;
  if (sign) s = -s;
  if (s > 32635) s = 32635;
  s += 0x84;
  let exponent = 7;
  for (let mask = 0x4000; (s & mask) === 0 && exponent > 0; exponent--, mask >>= 1) { /* find */ }
  const mantissa = (s >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

class MicCapture extends AudioWorkletProcessor {
  constructor() {
    super();
    this.ratio = sampleRate / 8000;  // input samples per output sample (6 at 48 kHz)
    this.pos = 0;
    this.sum = 0;
    this.count = 0;
    this.frame = new Uint8Array(160);
    this.fill = 0;
  }

  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (!channel) return true;
    for (let i = 0; i < channel.length; i++) {
      this.sum += channel[i];  // a box filter over each output period: a cheap low-pass
      this.count += 1;
      this.pos += 1;
      if (this.pos >= this.ratio) {
        this.pos -= this.ratio;
        this.frame[this.fill++] = linearToUlaw(this.sum / this.count);
        this.sum = 0;
        this.count = 0;
        if (this.fill === this.frame.length) {
          this.port.postMessage(this.frame.slice(0));
          this.fill = 0;
        }
      }
    }
    return true;
  }
}

registerProcessor("mic-capture", MicCapture);

/**
 * Synthetic framebuffers for the display tests and bench (RGBA, alpha 255, row-major), seeded so a
 * run is repeatable:
 *  - hmiFrame: what OT screens mostly look like: flat panels, borders, a trend line, tank levels,
 *    and "text" (small glyph-like blocks with one shade of anti-aliasing) on a few flat colours;
 *  - photoFrame: a camera-like picture: smooth gradients plus per-pixel noise, many distinct colours;
 *  - noiseFrame: uniformly random bytes (worst case for every encoder).
 */

/** Small deterministic PRNG (mulberry32), so failures can be replayed from the seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function fillRect(fb: Uint8Array, width: number, x: number, y: number, w: number, h: number, rgb: readonly [number, number, number]): void {
  const height = fb.length / 4 / width;
  const x1 = Math.min(width, x + w);
  const y1 = Math.min(height, y + h);
  for (let row = Math.max(0, y); row < y1; row++) {
    for (let col = Math.max(0, x); col < x1; col++) {
      const i = (row * width + col) * 4;
      fb[i] = rgb[0];
      fb[i + 1] = rgb[1];
      fb[i + 2] = rgb[2];
      fb[i + 3] = 255;
    }
  }
}

export function flatFrame(width: number, height: number, rgb: readonly [number, number, number] = [40, 44, 52]): Uint8Array {
  const fb = new Uint8Array(width * height * 4);
  fillRect(fb, width, 0, 0, width, height, rgb);
  return fb;
}

export function hmiFrame(width: number, height: number, seed = 1): Uint8Array {
  const r = rng(seed);
  const fb = flatFrame(width, height, [212, 208, 200]);
  // Title bar and a status bar.
  fillRect(fb, width, 0, 0, width, 28, [0, 60, 120]);
  fillRect(fb, width, 0, height - 22, width, 22, [180, 180, 180]);
  // Panels with a dark border, each with "text" lines, a tank and a trend.
  const cols = 4;
  const rows = 3;
  const pw = Math.floor(width / cols);
  const ph = Math.floor((height - 60) / rows);
  for (let py = 0; py < rows; py++) {
    for (let px = 0; px < cols; px++) {
      const x0 = px * pw + 6;
      const y0 = 34 + py * ph;
      fillRect(fb, width, x0, y0, pw - 12, ph - 8, [90, 90, 90]);
      fillRect(fb, width, x0 + 1, y0 + 1, pw - 14, ph - 10, [236, 236, 236]);
      // Text: rows of 6x9 glyph cells, each glyph a few dark strokes with a grey edge.
      for (let line = 0; line < 4; line++) {
        const ty = y0 + 8 + line * 14;
        const chars = 8 + Math.floor(r() * 14);
        for (let c = 0; c < chars; c++) {
          const gx = x0 + 8 + c * 7;
          for (let s = 0; s < 3; s++) {
            const sx = gx + Math.floor(r() * 4);
            const sy = ty + Math.floor(r() * 6);
            fillRect(fb, width, sx, sy, 2, 3, [20, 20, 20]);
            fillRect(fb, width, sx + 2, sy, 1, 3, [140, 140, 140]);
          }
        }
      }
      // Tank with a level.
      const level = 0.2 + r() * 0.7;
      const tx = x0 + pw - 60;
      const ty = y0 + 10;
      const th = ph - 40;
      fillRect(fb, width, tx, ty, 30, th, [60, 60, 60]);
      fillRect(fb, width, tx + 2, ty + 2, 26, th - 4, [250, 250, 250]);
      const lh = Math.floor((th - 4) * level);
      fillRect(fb, width, tx + 2, ty + th - 2 - lh, 26, lh, [30, 110, 200]);
      // Trend line.
      let v = ph / 2;
      for (let i = 0; i < pw - 90; i++) {
        v = Math.max(y0 + 70, Math.min(y0 + ph - 14, v + (r() - 0.5) * 4 + (y0 + ph * 0.7 - v) * 0.02));
        fillRect(fb, width, x0 + 8 + i, Math.floor(v), 1, 2, [0, 150, 0]);
      }
      // An alarm indicator in one of three colours.
      const alarm = [
        [0, 170, 0],
        [230, 180, 0],
        [210, 30, 30],
      ][Math.floor(r() * 3)] as [number, number, number];
      fillRect(fb, width, x0 + 8, y0 + ph - 26, 14, 14, alarm);
    }
  }
  return fb;
}

export function photoFrame(width: number, height: number, seed = 2): Uint8Array {
  const r = rng(seed);
  const fb = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      const n = (r() - 0.5) * 24;
      const sky = y < height * 0.45;
      const base0 = sky ? 90 + (y / height) * 120 : 70 + Math.sin(x / 37) * 30 + Math.cos(y / 23) * 20;
      const base1 = sky ? 140 + (y / height) * 80 : 110 + Math.sin((x + y) / 53) * 40;
      const base2 = sky ? 220 - (y / height) * 40 : 50 + Math.cos(x / 71) * 25;
      fb[i] = Math.max(0, Math.min(255, Math.round(base0 + n)));
      fb[i + 1] = Math.max(0, Math.min(255, Math.round(base1 + n)));
      fb[i + 2] = Math.max(0, Math.min(255, Math.round(base2 + n)));
      fb[i + 3] = 255;
    }
  }
  return fb;
}

export function noiseFrame(width: number, height: number, seed = 3, alpha = false): Uint8Array {
  const r = rng(seed);
  const fb = new Uint8Array(width * height * 4);
  for (let i = 0; i < fb.length; i++) fb[i] = Math.floor(r() * 256);
  if (!alpha) for (let i = 3; i < fb.length; i += 4) fb[i] = 255;
  return fb;
}

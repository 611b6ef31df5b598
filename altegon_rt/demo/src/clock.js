// A wall clock burned into the picture, to measure glass-to-glass latency: the broadcaster draws the time
// (Date.now(), in ms) as black and white blocks along the top of each frame it records; the viewer reads the
// blocks back from the frame on screen and compares them with its own clock.
//
// Layout on a WIDTH×HEIGHT picture: ROWS rows of COLUMNS cells, each CELL px square, from the top-left corner.
// 40 bits: the low 32 bits of the time in ms, then an 8-bit check (the four bytes XORed, XOR 0xA5). A cell is
// read from the mean brightness of its middle, so encoder blur and scaling do not matter.
export const WIDTH = 640;
export const HEIGHT = 360;
const COLUMNS = 20;
const ROWS = 2;
const CELL = WIDTH / COLUMNS; // 32 px
export const BAND_HEIGHT = ROWS * CELL;
const WRAP = 2 ** 32;

function check(value) {
  return ((value >>> 24) ^ (value >>> 16) ^ (value >>> 8) ^ value ^ 0xa5) & 0xff;
}

function bits(value) {
  const out = [];
  for (let i = 31; i >= 0; i--) out.push(Math.floor(value / 2 ** i) % 2);
  const sum = check(value);
  for (let i = 7; i >= 0; i--) out.push((sum >> i) & 1);
  return out;
}

// Draw `nowMs` into the band of a WIDTH×HEIGHT 2D context.
export function drawClock(ctx, nowMs) {
  const value = nowMs % WRAP;
  const cells = bits(value);
  ctx.fillStyle = "#000";
  ctx.fillRect(0, 0, WIDTH, BAND_HEIGHT);
  ctx.fillStyle = "#fff";
  cells.forEach((bit, i) => {
    if (bit) ctx.fillRect((i % COLUMNS) * CELL, Math.floor(i / COLUMNS) * CELL, CELL, CELL);
  });
}

// The time drawn in a picture, from ImageData of its top (the whole picture scaled to image.width px wide);
// null where the band is missing or unreadable.
// `nowMs` (the reader's clock) puts back the bits above the 32 that were drawn.
export function readClock(image, nowMs) {
  const scale = image.width / WIDTH;
  const cell = CELL * scale;
  const cells = [];
  for (let i = 0; i < COLUMNS * ROWS; i++) {
    const x0 = Math.floor(((i % COLUMNS) + 0.3) * cell);
    const y0 = Math.floor((Math.floor(i / COLUMNS) + 0.3) * cell);
    const side = Math.max(1, Math.floor(cell * 0.4));
    let sum = 0;
    for (let y = y0; y < y0 + side; y++) {
      for (let x = x0; x < x0 + side; x++) {
        const p = (y * image.width + x) * 4;
        sum += image.data[p] + image.data[p + 1] + image.data[p + 2];
      }
    }
    const mean = sum / (3 * side * side);
    if (mean > 80 && mean < 175) return null; // neither black nor white: not our band
    cells.push(mean >= 128 ? 1 : 0);
  }
  let value = 0;
  for (let i = 0; i < 32; i++) value = value * 2 + cells[i];
  let sum = 0;
  for (let i = 32; i < 40; i++) sum = sum * 2 + cells[i];
  if (sum !== check(value)) return null;
  // The drawn time is the one with these low bits nearest to (and normally just before) the reader's clock.
  const base = nowMs - (nowMs % WRAP);
  let best = base + value;
  for (const candidate of [best - WRAP, best + WRAP]) {
    if (Math.abs(candidate - nowMs) < Math.abs(best - nowMs)) best = candidate;
  }
  return best;
}

// Small Canvas 2D helpers shared by the map's views.

/** Diagonal hatching over the rectangle (x, y, w, h): lines `step` px apart. */
export function hatch(ctx, x, y, w, h, color, step = 7) {
  ctx.save();
  ctx.beginPath();
  ctx.rect(x, y, w, h);
  ctx.clip();
  ctx.strokeStyle = color;
  ctx.lineWidth = 1;
  ctx.beginPath();
  for (let d = -h; d < w; d += step) {
    ctx.moveTo(x + d, y + h);
    ctx.lineTo(x + d + h, y);
  }
  ctx.stroke();
  ctx.restore();
}

// Small formatting helpers shared by every view. Pure.

/** `0x110008`: an address in hex, at least 6 digits. */
export const hex = (n) => `0x${Math.max(0, n).toString(16).padStart(6, "0")}`;

/** `24 B`, `4 KiB`, `1.5 MiB`: a byte count for people. */
export function formatBytes(n) {
  if (!Number.isFinite(n)) return String(n);
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB"];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const digits = value >= 100 || Number.isInteger(value) ? 0 : 1;
  return `${value.toFixed(digits)} ${units[unit]}`;
}

/** `37.5%` from a ratio in [0, 1]. */
export function formatPercent(ratio) {
  if (!Number.isFinite(ratio)) return "–";
  return `${(ratio * 100).toFixed(1)}%`;
}

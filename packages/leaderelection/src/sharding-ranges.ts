/**
 * Sets of hash ranges: what a shard member owns, wants or may take, as sorted, disjoint,
 * non-adjacent half-open ranges `[start, end)` of the 64-bit hash space. Internal to the shard
 * coordinator; every function returns a normalized set and never mutates its arguments.
 *
 * @module
 */
import type { ShardRange } from '@kubecache/cache';

/** A normalized range set: sorted by start, disjoint, no two adjacent, none empty. */
export type RangeSet = readonly ShardRange[];

/** The empty set. */
export const EMPTY: RangeSet = Object.freeze([]);

/** Sorts, drops empty ranges, merges overlapping and adjacent ones. */
export function normalize(ranges: readonly ShardRange[]): RangeSet {
  const sorted = ranges
    .filter((r) => r.start < r.end)
    .sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  const out: ShardRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && r.start <= last.end) {
      if (r.end > last.end) out[out.length - 1] = { start: last.start, end: r.end };
    } else out.push({ start: r.start, end: r.end });
  }
  return out;
}

/** `a ∪ b`. */
export function union(...sets: readonly RangeSet[]): RangeSet {
  return normalize(sets.flat());
}

/** `a ∩ b`. */
export function intersect(a: RangeSet, b: RangeSet): RangeSet {
  const out: ShardRange[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i]!;
    const y = b[j]!;
    const start = x.start > y.start ? x.start : y.start;
    const end = x.end < y.end ? x.end : y.end;
    if (start < end) out.push({ start, end });
    if (x.end < y.end) i++;
    else j++;
  }
  return normalize(out);
}

/** `a \ b`. */
export function subtract(a: RangeSet, b: RangeSet): RangeSet {
  const out: ShardRange[] = [];
  for (const r of a) {
    let start = r.start;
    for (const cut of b) {
      if (cut.end <= start || cut.start >= r.end) continue;
      if (cut.start > start) out.push({ start, end: cut.start });
      start = cut.end > start ? cut.end : start;
      if (start >= r.end) break;
    }
    if (start < r.end) out.push({ start, end: r.end });
  }
  return normalize(out);
}

/** Whether two normalized sets are equal. */
export function equal(a: RangeSet, b: RangeSet): boolean {
  return a.length === b.length && a.every((r, i) => r.start === b[i]!.start && r.end === b[i]!.end);
}

/** Whether the set is empty. */
export function isEmpty(a: RangeSet): boolean {
  return a.length === 0;
}

/** The fraction of the hash space the set covers, in [0, 1] (for logs and metrics). */
export function coverage(a: RangeSet): number {
  let total = 0n;
  for (const r of a) total += r.end - r.start;
  return Number((total * 1_000_000n) >> 64n) / 1_000_000;
}

/** `[0x…, 0x…) ∪ …` for logs; `∅` for the empty set. */
export function describeRanges(a: RangeSet): string {
  if (a.length === 0) return '∅';
  const hex = (v: bigint): string => '0x' + v.toString(16).padStart(16, '0');
  return a.map((r) => `[${hex(r.start)}, ${hex(r.end)})`).join(' ∪ ');
}

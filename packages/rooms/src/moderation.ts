/**
 * What both engines share about moderation: the limits, how a ban's target is written as
 * one key (a Redis sorted-set member, a Map key in memory), and address canonicalization.
 */
import { isIPv4, isIPv6 } from 'node:net';
import type { BanKind, BanTarget } from './ports.ts';

/** Live bans held at once: bounds the store and the listing an operator reads. */
export const MAX_BANS = 10_000;
/** Words of the run-time block list: each handshake compares the username with every one. */
export const MAX_BLOCKED_WORDS = 1_000;

const KIND_TAGS: Readonly<Record<BanKind, string>> = { username: 'u', address: 'a' };

/**
 * `<u|a>|<room or empty>|<value>`. No part can hold `|`: room ids are `[A-Za-z0-9_.%-]`,
 * usernames `[A-Za-z0-9_-]` and addresses IP literals (the API validates each), so the
 * member reads back unambiguously.
 */
export function banMember(target: BanTarget): string {
  return `${KIND_TAGS[target.kind]}|${target.room ?? ''}|${target.value}`;
}

/** Inverse of banMember; null for anything it could not have written. */
export function parseBanMember(member: string): BanTarget | null {
  const first = member.indexOf('|');
  const second = member.indexOf('|', first + 1);
  if (first !== 1 || second < 0) return null;
  const tag = member.slice(0, 1);
  const kind: BanKind | null = tag === 'u' ? 'username' : tag === 'a' ? 'address' : null;
  const value = member.slice(second + 1);
  if (kind === null || value === '') return null;
  const room = member.slice(first + 1, second);
  return { kind, value, room: room === '' ? null : room };
}

/**
 * One spelling per address, so a ban matches however the client's address reached us: an
 * IPv4 client of a dual-stack socket appears as `::ffff:1.2.3.4`, and IPv6 hex digits may
 * come in either case.
 */
export function canonicalAddress(address: string): string {
  const lower = address.toLowerCase();
  if (lower.startsWith('::ffff:') && isIPv4(lower.slice(7))) return lower.slice(7);
  if (!isIPv6(lower)) return lower;
  let compressed: string;
  try {
    // The URL parser writes an IPv6 host in its one canonical form (RFC 5952).
    compressed = new URL(`http://[${lower}]/`).hostname.slice(1, -1);
  } catch {
    return lower; // a zone id (fe80::1%eth0) is no URL host: kept as written
  }
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(compressed);
  if (mapped === null) return compressed;
  const high = parseInt(mapped[1] as string, 16);
  const low = parseInt(mapped[2] as string, 16);
  return [high >> 8, high & 255, low >> 8, low & 255].join('.');
}

/** Usernames are ASCII (PROTOCOL.md): bans and the block list compare them lower-cased. */
export function usernameKey(username: string): string {
  return username.toLowerCase();
}

/** The run-time block list's rule, as USERNAME_BLOCKLIST's: a username containing the word. */
export function containsBlockedWord(username: string, words: Iterable<string>): boolean {
  const lower = usernameKey(username);
  for (const word of words) if (lower.includes(word)) return true;
  return false;
}

/** A target as engines store it: usernames lower-cased, addresses canonical. */
export function normalizedTarget(target: BanTarget): BanTarget {
  const value = target.kind === 'username' ? usernameKey(target.value) : canonicalAddress(target.value);
  return { kind: target.kind, value, room: target.room };
}

import { isIPv4, isIPv6 } from 'node:net';

/** The eight groups of an IPv6 address, `::` expanded (so the /48 is the first three). */
function expandIPv6(address: string): string[] {
  const [head = '', tail] = address.split('::');
  const left = head === '' ? [] : head.split(':');
  if (tail === undefined) return left;
  const right = tail === '' ? [] : tail.split(':');
  return [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
}

/**
 * An address as it may appear in logs: unchanged, or with the host part cut (IPv4 /24,
 * IPv6 /48) when ANONYMIZE_ADDRESSES is on. Limits always use the full address.
 */
export function addressForLogs(address: string, anonymize: boolean): string {
  if (!anonymize) return address;
  const mapped = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (isIPv4(mapped)) return mapped.split('.').slice(0, 3).concat('0').join('.');
  if (isIPv6(address)) return `${expandIPv6(address).slice(0, 3).join(':')}::`;
  return 'unknown';
}

/**
 * The key an address counts under for every per-address limit: an IPv4 address as it is
 * (IPv4-mapped IPv6 too); an IPv6 address cut to its first `ipv6PrefixBits` bits, since
 * anyone holding a /64 holds 2^64 addresses and could spread over them to escape a limit.
 */
export function addressForLimits(address: string, ipv6PrefixBits: number): string {
  const mapped = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (isIPv4(mapped)) return mapped;
  if (!isIPv6(address)) return address;
  const groups = expandIPv6(address).map((group) => parseInt(group, 16));
  const kept = groups.map((group, index) => {
    const bitsBefore = index * 16;
    if (bitsBefore >= ipv6PrefixBits) return 0;
    const keep = Math.min(16, ipv6PrefixBits - bitsBefore);
    return group & (0xffff << (16 - keep)) & 0xffff;
  });
  return `${kept.map((group) => group.toString(16)).join(':')}/${ipv6PrefixBits}`;
}

/**
 * Every test client comes from 127.0.0.1: the per-address rates would refuse a test that
 * opens many rooms or sockets at once. Tests of those limits set them themselves.
 */
export const ONE_ADDRESS_TESTS = {
  MAX_HANDSHAKES_PER_ADDRESS_PER_SECOND: '1000000',
  MAX_NEW_ROOMS_PER_ADDRESS_PER_MINUTE: '1000000',
} as const;

/** What both engines share about project policies (ProjectPolicies in ports.ts). */

/**
 * Rooms that may hold a policy at once: every pod keeps every policy in memory (a policy-free
 * room must cost nothing to look up) and re-reads them all when a notice was lost.
 */
export const MAX_POLICIES = 10_000;

/**
 * The `{room}` of an API path. It is a project id as clients send it (Fastify has already
 * decoded the path's %XX escapes), mapped to its room id by the protocol's own rule
 * (`projectIdToRoom`): a 2020 room name or a digits-only id is its own room id, and every
 * other character is escaped. So a room id pasted as it is (`p4-%40Game`) names the same
 * room as its project id (`p4-@Game`), and nothing a caller writes reaches the engine
 * unescaped: braces, `~`, spaces, control characters cannot break out of a Redis key.
 * Refused (400): empty, or longer than a project id may be.
 */
import { DEFAULT_LIMITS, projectIdToRoom } from '@cloudvars/protocol';

export function roomFromPath(raw: string): string | null {
  return projectIdToRoom(raw, DEFAULT_LIMITS) ?? null;
}

/**
 * A room named in a JSON body (a room ban's `room`). Nothing decodes a body, so it is
 * decoded here as a path is: the room id the API answers (`p4-%40Game`) would otherwise be
 * escaped a second time (`p4-%2540Game`), a room nobody joins, and the ban would hold
 * nowhere. A project id without escapes (`p4-@Game`) decodes to itself. A `%` that
 * escapes nothing (`100%`) is refused (null), as a path with it is: a literal `%` is `%25`.
 */
export function roomFromBody(raw: string): string | null {
  let projectId: string;
  try {
    projectId = decodeURIComponent(raw);
  } catch {
    // URIError: a malformed escape, which a path could not carry either.
    return null;
  }
  return roomFromPath(projectId);
}
